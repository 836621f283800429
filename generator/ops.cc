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

// The derivatives' fp64 references are written from PyTorch's backward formulas
// (derivatives.yaml and the activation backward kernels), again sharing no text with the CUDA.

double sigmoid64(double x) { return 1 / (1 + std::exp(-x)); }

std::vector<EpilogueOpInfo> make_registry() {
  using P = std::span<const double>;
  auto binary = [](std::string_view name, std::string_view summary, std::string_view cuda,
                   double (*reference)(double, double, P, int), OpDerivative derivative) {
    return EpilogueOpInfo{.name = name,
                          .summary = summary,
                          .binary = true,
                          .params = {},
                          .modes = {},
                          .cuda = {cuda},
                          .reference = reference,
                          .derivative = std::move(derivative)};
  };
  auto unary = [](std::string_view name, std::string_view summary, std::vector<OpParam> params,
                  std::string_view cuda, double (*reference)(double, double, P, int),
                  OpDerivative derivative) {
    return EpilogueOpInfo{.name = name,
                          .summary = summary,
                          .params = std::move(params),
                          .modes = {},
                          .cuda = {cuda},
                          .reference = reference,
                          .derivative = std::move(derivative)};
  };
  // d/dx and d/dy of a binary op that keeps nothing but its second input.
  auto slopes = [](std::string_view dx, std::string_view dy,
                   double (*reference)(double, double, P, int),
                   double (*reference_dy)(double, double, P, int)) {
    return OpDerivative{.keeps = Keeps::nothing,
                        .cuda = {dx},
                        .cuda_dy = dy,
                        .reference = reference,
                        .reference_dy = reference_dy};
  };
  auto one = [](double, double, P, int) { return 1.0; };
  auto unary_derivative = [](Keeps keeps, std::vector<std::string_view> cuda,
                             double (*reference)(double, double, P, int)) {
    OpDerivative d;
    d.keeps = keeps;
    d.cuda = std::move(cuda);
    d.reference = reference;
    return d;
  };

  std::vector<EpilogueOpInfo> ops;
  ops.push_back({.name = "bias",
                 .summary = "adds a bias vector over N (nn.Linear's bias)",
                 .binary = true,
                 .fixed_operand = OperandKind::column,
                 .params = {},
                 .modes = {},
                 .cuda = {"{x} + {y}"},
                 .reference = [](double x, double y, P, int) { return x + y; },
                 .derivative = slopes("1.f", "1.f", one, one)});
  ops.push_back(binary(
      "add", "x + y", "{x} + {y}",  //
      [](double x, double y, P, int) { return x + y; }, slopes("1.f", "1.f", one, one)));
  ops.push_back(binary(
      "sub", "x - y", "{x} - {y}",  //
      [](double x, double y, P, int) { return x - y; },
      slopes("1.f", "-1.f", one, [](double, double, P, int) { return -1.0; })));
  ops.push_back(binary("mul", "x * y", "{x} * {y}",  //
                       [](double x, double y, P, int) { return x * y; },
                       {.keeps = Keeps::input,  // d/dy is x
                        .cuda = {"{y}"},
                        .cuda_dy = "{x}",
                        .reference = [](double, double y, P, int) { return y; },
                        .reference_dy = [](double x, double, P, int) { return x; }}));
  ops.push_back(binary("div", "x / y, true IEEE division", "{x} / {y}",
                       [](double x, double y, P, int) { return x / y; },
                       {.keeps = Keeps::output,  // d/dy = -x / y^2 = -out / y
                        .cuda = {"1.f / {y}"},
                        .cuda_dy = "-{o} / {y}",
                        .reference = [](double, double y, P, int) { return 1 / y; },
                        .reference_dy = [](double x, double y, P, int) { return -x / (y * y); }}));
  // fminf/fmaxf return the other value where one is NaN; torch.minimum/maximum return NaN. The
  // two agree on every NaN-free input, which is all verification feeds. Between equal inputs
  // PyTorch splits the gradient evenly.
  ops.push_back(binary(
      "min", "elementwise minimum (torch.minimum)", "fminf({x}, {y})",
      [](double x, double y, P, int) { return std::fmin(x, y); },
      {.keeps = Keeps::input,
       .cuda = {"{x} == {y} ? 0.5f : ({x} < {y} ? 1.f : 0.f)"},
       .cuda_dy = "{x} == {y} ? 0.5f : ({y} < {x} ? 1.f : 0.f)",
       .reference = [](double x, double y, P, int) { return x < y   ? 1.0
                                                            : x > y ? 0.0
                                                                    : 0.5; },
       .reference_dy = [](double x, double y, P,
                          int) { return y < x   ? 1.0
                                        : y > x ? 0.0
                                                : 0.5; }}));
  ops.push_back(binary(
      "max", "elementwise maximum (torch.maximum)", "fmaxf({x}, {y})",
      [](double x, double y, P, int) { return std::fmax(x, y); },
      {.keeps = Keeps::input,
       .cuda = {"{x} == {y} ? 0.5f : ({x} > {y} ? 1.f : 0.f)"},
       .cuda_dy = "{x} == {y} ? 0.5f : ({y} > {x} ? 1.f : 0.f)",
       .reference = [](double x, double y, P, int) { return x > y   ? 1.0
                                                            : x < y ? 0.0
                                                                    : 0.5; },
       .reference_dy = [](double x, double y, P,
                          int) { return y > x   ? 1.0
                                        : y < x ? 0.0
                                                : 0.5; }}));

  // relu and the clamps pass NaN through, as PyTorch does.
  ops.push_back(unary(
      "relu", "max(x, 0), NaN passes through", {}, "{x} < 0.f ? 0.f : {x}",
      [](double x, double, P, int) { return x > 0 || std::isnan(x) ? x : 0.0; },
      unary_derivative(Keeps::output,  // out > 0 exactly where x > 0
                       {"{o} > 0.f ? 1.f : 0.f"},
                       [](double x, double, P, int) { return x > 0 ? 1.0 : 0.0; })));
  ops.push_back(unary(
      "leaky_relu", "x if x >= 0 else negative_slope * x",
      {{.name = "negative_slope", .default_value = 0.01}}, "{x} < 0.f ? {x} * {p0} : {x}",
      [](double x, double, P p, int) { return x > 0 ? x : p[0] * x; },
      // The input: with a negative slope the output's sign says nothing.
      unary_derivative(Keeps::input, {"{x} > 0.f ? 1.f : {p0}"},
                       [](double x, double, P p, int) { return x > 0 ? 1 : p[0]; })));
  ops.push_back(
      {.name = "gelu",
       .summary = "x * Phi(x); mode tanh is PyTorch's approximate='tanh'",
       .params = {},
       .modes = {"erf", "tanh"},
       .cuda = {"0.5f * {x} * (1.f + erff({x} * 0.70710678118654752f))",
                "0.5f * {x} * (1.f + tanhf(0.79788456080286536f * ({x} + 0.044715f * {x} "
                "* {x} * {x})))"},
       .reference =
           [](double x, double, P, int mode) {
             if (mode == 0) return x * 0.5 * std::erfc(-x / std::numbers::sqrt2);
             const double inner = std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x);
             return 0.5 * x * (1 + std::tanh(inner));
           },
       .derivative = unary_derivative(
           Keeps::input,
           {"0.5f * (1.f + erff({x} * 0.70710678118654752f)) + {x} * "
            "0.39894228040143268f * expf(-0.5f * {x} * {x})",
            "0.5f * (1.f + tanhf(0.79788456080286536f * ({x} + 0.044715f * {x} * {x} * "
            "{x}))) + 0.5f * {x} * (1.f - tanhf(0.79788456080286536f * ({x} + 0.044715f "
            "* {x} * {x} * {x})) * tanhf(0.79788456080286536f * ({x} + 0.044715f * {x} * "
            "{x} * {x}))) * 0.79788456080286536f * (1.f + 0.134145f * {x} * {x})"},
           [](double x, double, P, int mode) {
             if (mode == 0) {
               const double cdf = 0.5 * std::erfc(-x / std::numbers::sqrt2);
               const double pdf = std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi);
               return cdf + x * pdf;
             }
             const double k = std::sqrt(2 / std::numbers::pi);
             const double t = std::tanh(k * (x + 0.044715 * x * x * x));
             return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
           })});
  ops.push_back(unary(
      "silu", "x * sigmoid(x)", {}, "{x} / (1.f + expf(-{x}))",
      [](double x, double, P, int) { return x * (1 / (1 + std::exp(-x))); },
      unary_derivative(Keeps::input,
                       {"(1.f / (1.f + expf(-{x}))) * (1.f + {x} * (1.f - 1.f / (1.f + "
                        "expf(-{x}))))"},
                       [](double x, double, P, int) {
                         const double s = sigmoid64(x);
                         return s * (1 + x * (1 - s));
                       })));
  ops.push_back(unary(
      "sigmoid", "1 / (1 + exp(-x))", {}, "1.f / (1.f + expf(-{x}))",
      [](double x, double, P, int) { return 0.5 * (1 + std::tanh(x / 2)); },
      // From the input, as e / (1 + e)^2 with e = exp(-|x|): o * (1 - o) cancels to nothing
      // where the sigmoid saturates, and the gradient there is small but not zero.
      unary_derivative(Keeps::input,
                       {"expf(-fabsf({x})) / ((1.f + expf(-fabsf({x}))) * (1.f + "
                        "expf(-fabsf({x}))))"},
                       [](double x, double, P, int) {
                         const double e = std::exp(-std::fabs(x));
                         return e / ((1 + e) * (1 + e));
                       })));
  ops.push_back(unary(
      "tanh", "tanh(x)", {}, "tanhf({x})", [](double x, double, P, int) { return std::tanh(x); },
      // From the input, as 4e / (1 + e)^2 with e = exp(-2|x|), for the sigmoid's reason.
      unary_derivative(Keeps::input,
                       {"4.f * expf(-2.f * fabsf({x})) / ((1.f + expf(-2.f * fabsf({x}))) * "
                        "(1.f + expf(-2.f * fabsf({x}))))"},
                       [](double x, double, P, int) {
                         const double c = std::cosh(x);
                         return 1 / (c * c);
                       })));
  auto clamp = [](double x, double, P p, int) {
    return std::isnan(x) ? x : std::min(std::max(x, p[0]), p[1]);
  };
  ops.push_back(
      unary("hardtanh", "x clamped to [min_val, max_val]",
            {{.name = "min_val", .default_value = -1.0}, {.name = "max_val", .default_value = 1.0}},
            "{x} != {x} ? {x} : fminf(fmaxf({x}, {p0}), {p1})", clamp,
            // PyTorch zeroes the gradient at and beyond the bounds, and passes it for NaN.
            unary_derivative(
                Keeps::input, {"{x} <= {p0} || {x} >= {p1} ? 0.f : 1.f"},
                [](double x, double, P p, int) { return x <= p[0] || x >= p[1] ? 0.0 : 1.0; })));
  ops.push_back(unary("clamp", "x clamped to [min, max] (torch.clamp)",
                      {{.name = "min", .required = true}, {.name = "max", .required = true}},
                      "{x} != {x} ? {x} : fminf(fmaxf({x}, {p0}), {p1})", clamp,
                      // torch.clamp passes the gradient at the bounds, and zeroes it for NaN.
                      unary_derivative(Keeps::input, {"{x} >= {p0} && {x} <= {p1} ? 1.f : 0.f"},
                                       [](double x, double, P p, int) {
                                         return x >= p[0] && x <= p[1] ? 1.0 : 0.0;
                                       })));
  ops.push_back(unary(
      "hardswish", "x * relu6(x + 3) / 6", {},
      "{x} * fminf(fmaxf({x} + 3.f, 0.f), 6.f) / 6.f",  //
      [](double x, double, P, int) {
        if (x <= -3) return 0.0;
        if (x >= 3) return x;
        return x * (x + 3) / 6;
      },
      unary_derivative(Keeps::input, {"{x} < -3.f ? 0.f : ({x} <= 3.f ? {x} / 3.f + 0.5f : 1.f)"},
                       [](double x, double, P, int) {
                         if (x < -3) return 0.0;
                         if (x > 3) return 1.0;
                         return (2 * x + 3) / 6;
                       })));
  ops.push_back(unary(
      "mish", "x * tanh(softplus(x))", {}, "{x} * tanhf(log1pf(expf({x})))",
      [](double x, double, P, int) {
        const double softplus = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
        return x * std::tanh(softplus);
      },
      unary_derivative(Keeps::input,
                       {"tanhf(log1pf(expf({x}))) + {x} * (1.f / (1.f + expf(-{x}))) * "
                        "(1.f - tanhf(log1pf(expf({x}))) * tanhf(log1pf(expf({x}))))"},
                       [](double x, double, P, int) {
                         // d/dx x tanh(sp(x)) = tanh(sp) + x sech^2(sp) sigmoid(x)
                         const double sp = std::log(1 + std::exp(x));
                         const double sech = 1 / std::cosh(sp);
                         return std::tanh(sp) + x * sech * sech * sigmoid64(x);
                       })));
  ops.push_back(unary(
      "softplus", "log(1 + exp(beta * x)) / beta; x where beta * x > threshold",
      {{.name = "beta", .default_value = 1.0}, {.name = "threshold", .default_value = 20.0}},
      "{x} * {p0} > {p1} ? {x} : log1pf(expf({p0} * {x})) / {p0}",
      [](double x, double, P p, int) {
        const double beta = p[0], threshold = p[1];
        if (beta * x > threshold) return x;
        return std::log1p(std::exp(beta * x)) / beta;
      },
      unary_derivative(
          Keeps::input, {"{x} * {p0} > {p1} ? 1.f : 1.f / (1.f + expf(-{p0} * {x}))"},
          [](double x, double, P p, int) { return p[0] * x > p[1] ? 1.0 : sigmoid64(p[0] * x); })));
  ops.push_back({.name = "save",
                 .summary = "writes the value here into a tensor of its shape, for a backward pass",
                 .fixed_operand = OperandKind::tensor,
                 .writes_operand = true,
                 .params = {},
                 .modes = {},
                 .cuda = {"{x}"},
                 .reference = [](double x, double, P, int) { return x; },
                 .derivative = unary_derivative(Keeps::nothing, {"1.f"}, one)});
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

OpSlopes apply_derivative_reference(const EpilogueOp& op, double x, double y) {
  const EpilogueOpInfo* info = &info_of(op);
  const double second = op.operand == OperandKind::scalar ? op.scalars.at(0) : y;
  const std::span<const double> params = info->binary ? std::span<const double>() : op.scalars;
  const OpDerivative& d = info->derivative;
  return {.dx = d.reference(x, second, params, op.mode),
          .dy = d.reference_dy ? d.reference_dy(x, second, params, op.mode) : 0.0};
}

}  // namespace fusetune
