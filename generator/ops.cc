#include "generator/ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <utility>

#include "fusetune/status.h"

namespace fusetune {
namespace {

// The CUDA texts are fp32 and must compile without --use_fast_math: expf, erff, tanhf, log1pf,
// fminf and fmaxf, literals with an f suffix. The references below are written from PyTorch's
// definitions in fp64 and share no text with them, so that a wrong CUDA text fails verification.

std::vector<EpilogueOpInfo> make_registry() {
  using P = std::span<const double>;
  auto binary = [](std::string_view name, std::string_view summary, std::string_view cuda,
                   double (*reference)(double, double, P, int)) {
    return EpilogueOpInfo{.name = name,
                          .summary = summary,
                          .binary = true,
                          .params = {},
                          .modes = {},
                          .cuda = {cuda},
                          .reference = reference};
  };
  auto unary = [](std::string_view name, std::string_view summary, std::vector<OpParam> params,
                  std::string_view cuda, double (*reference)(double, double, P, int)) {
    return EpilogueOpInfo{.name = name,
                          .summary = summary,
                          .params = std::move(params),
                          .modes = {},
                          .cuda = {cuda},
                          .reference = reference};
  };

  std::vector<EpilogueOpInfo> ops;
  ops.push_back({.name = "bias",
                 .summary = "adds a bias vector over N (nn.Linear's bias)",
                 .binary = true,
                 .fixed_operand = OperandKind::column,
                 .params = {},
                 .modes = {},
                 .cuda = {"{x} + {y}"},
                 .reference = [](double x, double y, P, int) { return x + y; }});
  ops.push_back(binary("add", "x + y", "{x} + {y}",  //
                       [](double x, double y, P, int) { return x + y; }));
  ops.push_back(binary("sub", "x - y", "{x} - {y}",  //
                       [](double x, double y, P, int) { return x - y; }));
  ops.push_back(binary("mul", "x * y", "{x} * {y}",  //
                       [](double x, double y, P, int) { return x * y; }));
  ops.push_back(binary("div", "x / y, true IEEE division", "{x} / {y}",
                       [](double x, double y, P, int) { return x / y; }));
  // fminf/fmaxf return the other value where one is NaN; torch.minimum/maximum return NaN. The
  // two agree on every NaN-free input, which is all verification feeds.
  ops.push_back(binary("min", "elementwise minimum (torch.minimum)", "fminf({x}, {y})",
                       [](double x, double y, P, int) { return std::fmin(x, y); }));
  ops.push_back(binary("max", "elementwise maximum (torch.maximum)", "fmaxf({x}, {y})",
                       [](double x, double y, P, int) { return std::fmax(x, y); }));

  // relu and the clamps pass NaN through, as PyTorch does.
  ops.push_back(unary("relu", "max(x, 0), NaN passes through", {}, "{x} < 0.f ? 0.f : {x}",
                      [](double x, double, P, int) { return x > 0 || std::isnan(x) ? x : 0.0; }));
  ops.push_back(unary("leaky_relu", "x if x >= 0 else negative_slope * x",
                      {{.name = "negative_slope", .default_value = 0.01}},
                      "{x} < 0.f ? {x} * {p0} : {x}",
                      [](double x, double, P p, int) { return x > 0 ? x : p[0] * x; }));
  ops.push_back({.name = "gelu",
                 .summary = "x * Phi(x); mode tanh is PyTorch's approximate='tanh'",
                 .params = {},
                 .modes = {"erf", "tanh"},
                 .cuda = {"0.5f * {x} * (1.f + erff({x} * 0.70710678118654752f))",
                          "0.5f * {x} * (1.f + tanhf(0.79788456080286536f * ({x} + 0.044715f * {x} "
                          "* {x} * {x})))"},
                 .reference = [](double x, double, P, int mode) {
                   if (mode == 0) return x * 0.5 * std::erfc(-x / std::numbers::sqrt2);
                   const double inner =
                       std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x);
                   return 0.5 * x * (1 + std::tanh(inner));
                 }});
  ops.push_back(unary("silu", "x * sigmoid(x)", {}, "{x} / (1.f + expf(-{x}))",
                      [](double x, double, P, int) { return x * (1 / (1 + std::exp(-x))); }));
  ops.push_back(unary("sigmoid", "1 / (1 + exp(-x))", {}, "1.f / (1.f + expf(-{x}))",
                      [](double x, double, P, int) { return 0.5 * (1 + std::tanh(x / 2)); }));
  ops.push_back(unary("tanh", "tanh(x)", {}, "tanhf({x})",
                      [](double x, double, P, int) { return std::tanh(x); }));
  auto clamp = [](double x, double, P p, int) {
    return std::isnan(x) ? x : std::min(std::max(x, p[0]), p[1]);
  };
  ops.push_back(
      unary("hardtanh", "x clamped to [min_val, max_val]",
            {{.name = "min_val", .default_value = -1.0}, {.name = "max_val", .default_value = 1.0}},
            "{x} != {x} ? {x} : fminf(fmaxf({x}, {p0}), {p1})", clamp));
  ops.push_back(unary("clamp", "x clamped to [min, max] (torch.clamp)",
                      {{.name = "min", .required = true}, {.name = "max", .required = true}},
                      "{x} != {x} ? {x} : fminf(fmaxf({x}, {p0}), {p1})", clamp));
  ops.push_back(unary("hardswish", "x * relu6(x + 3) / 6", {},
                      "{x} * fminf(fmaxf({x} + 3.f, 0.f), 6.f) / 6.f",  //
                      [](double x, double, P, int) {
                        if (x <= -3) return 0.0;
                        if (x >= 3) return x;
                        return x * (x + 3) / 6;
                      }));
  ops.push_back(unary("mish", "x * tanh(softplus(x))", {}, "{x} * tanhf(log1pf(expf({x})))",
                      [](double x, double, P, int) {
                        const double softplus =
                            x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
                        return x * std::tanh(softplus);
                      }));
  ops.push_back(unary(
      "softplus", "log(1 + exp(beta * x)) / beta; x where beta * x > threshold",
      {{.name = "beta", .default_value = 1.0}, {.name = "threshold", .default_value = 20.0}},
      "{x} * {p0} > {p1} ? {x} : log1pf(expf({p0} * {x})) / {p0}", [](double x, double, P p, int) {
        const double beta = p[0], threshold = p[1];
        if (beta * x > threshold) return x;
        return std::log1p(std::exp(beta * x)) / beta;
      }));
  return ops;
}

}  // namespace

std::span<const EpilogueOpInfo> epilogue_ops() {
  static const std::vector<EpilogueOpInfo> registry = make_registry();
  return registry;
}

const EpilogueOpInfo* find_epilogue_op(std::string_view name) {
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

const EpilogueOpInfo& info_of(const EpilogueOp& op) {
  const EpilogueOpInfo* info = find_epilogue_op(op.name);
  if (info == nullptr) throw Error(StatusCode::internal, "no epilogue op named '" + op.name + "'");
  return *info;
}

double apply_reference(const EpilogueOp& op, double x, double y) {
  const EpilogueOpInfo* info = &info_of(op);
  const bool scalar_operand = op.operand == OperandKind::scalar;
  const double second = scalar_operand ? op.scalars.at(0) : y;
  // A binary op's only scalar is its operand; a unary op's scalars are its parameters.
  const std::span<const double> params = info->binary ? std::span<const double>() : op.scalars;
  return info->reference(x, second, params, op.mode);
}

}  // namespace fusetune
