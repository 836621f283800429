#include "generator/reductions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "fusetune/status.h"

namespace fusetune {
namespace {

// The CUDA texts are fp32 and compile without --use_fast_math. The references are written from
// PyTorch's definitions in fp64 and share no text with them, so that a wrong CUDA text fails
// verification.

using Group = std::span<const double>;
using Params = std::span<const double>;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

double sum_of(Group g) { return std::accumulate(g.begin(), g.end(), 0.0); }

double mean_of(Group g) { return sum_of(g) / static_cast<double>(g.size()); }

// NaN wins, as torch.amax's does.
double max_of(Group g) {
  double m = -kInfinity;
  for (double v : g)
    if (std::isnan(v) || v > m) m = v;
  return m;
}

double min_of(Group g) {
  double m = kInfinity;
  for (double v : g)
    if (std::isnan(v) || v < m) m = v;
  return m;
}

// Biased: the divisor is the count, as every normalization uses it.
double variance_of(Group g) {
  const double mean = mean_of(g);
  double squares = 0;
  for (double v : g) squares += (v - mean) * (v - mean);
  return squares / static_cast<double>(g.size());
}

double log_sum_exp(Group g) {
  const double m = max_of(g);
  if (std::isinf(m)) return m;
  double sum = 0;
  for (double v : g) sum += std::exp(v - m);
  return m + std::log(sum);
}

// (x - mean) / sqrt(var + eps), the shared core of the mean-and-variance normalizations.
std::vector<double> standardized(Group g, Params p) {
  const double mean = mean_of(g), scale = 1 / std::sqrt(variance_of(g) + p[0]);
  std::vector<double> out;
  for (double v : g) out.push_back((v - mean) * scale);
  return out;
}

std::vector<double> one(double value) { return {value}; }

constexpr std::string_view kStandardized = "({x} - {s}.mean) * rsqrtf({s}.variance() + {p0})";
// Its backward over a group: (g - mean(g) - y mean(g y)) / sqrt(var + eps), from Σ g and Σ g y.
constexpr std::string_view kStandardizedBackwardInput = "make_float2({g}, {g} * {y})";
constexpr std::string_view kStandardizedBackward =
    "({g} - {b}.a / {n} - {y} * {b}.b / {n}) * rsqrtf({s}.variance() + {p0})";
const OpParam kEps{.name = "eps", .default_value = 1e-5};

std::vector<ReductionOpInfo> make_registry() {
  std::vector<ReductionOpInfo> ops;
  auto reduce = [&](std::string_view name, std::string_view summary, Statistic statistic,
                    std::string_view result, auto reference) {
    ops.push_back({.name = name,
                   .summary = summary,
                   .kind = ReductionKind::reduce,
                   .group_by = GroupBy::dims,
                   .statistic = statistic,
                   .result = result,
                   .reference = reference});
  };
  reduce("sum", "the sum over dim (torch.sum)", Statistic::sum, "{s}.sum",
         [](Group g, Params) { return one(sum_of(g)); });
  ops.back().backward = "{g}";  // every element, the group's gradient
  reduce("mean", "the mean over dim (torch.mean)", Statistic::sum, "{s}.sum / {n}",
         [](Group g, Params) { return one(mean_of(g)); });
  ops.back().backward = "{g} / {n}";
  // amax and amin split the gradient evenly among the values equal to the result, as PyTorch.
  reduce("amax", "the maximum over dim (torch.amax; max(dim=...) is the same)", Statistic::max,
         "{s}.max", [](Group g, Params) { return one(max_of(g)); });
  ops.back().backward_input = "{x} == {y} ? 1.f : 0.f";
  ops.back().backward = "{x} == {y} ? {g} / {b}.sum : 0.f";
  reduce("amin", "the minimum over dim (torch.amin; min(dim=...) is the same)", Statistic::min,
         "{s}.min", [](Group g, Params) { return one(min_of(g)); });
  ops.back().backward_input = "{x} == {y} ? 1.f : 0.f";
  ops.back().backward = "{x} == {y} ? {g} / {b}.sum : 0.f";
  reduce("logsumexp", "log(sum(exp(x))) over dim, computed stably (torch.logsumexp)",
         Statistic::max_sum_exp, "{s}.max + logf({s}.sum)",
         [](Group g, Params) { return one(log_sum_exp(g)); });
  ops.back().backward = "{g} * expf({x} - {y})";  // g times the softmax of x

  ops.push_back({.name = "softmax",
                 .summary = "exp(x) / sum(exp(x)) over dim (torch.softmax)",
                 .statistic = Statistic::max_sum_exp,
                 .result = "expf({x} - {s}.max) / {s}.sum",
                 // y (g - Σ g y)
                 .backward_input = "{g} * {y}",
                 .backward = "{y} * ({g} - {b}.sum)",
                 .reference = [](Group g, Params) {
                   const double m = max_of(g);
                   std::vector<double> out;
                   for (double v : g) out.push_back(std::exp(v - m));
                   const double sum = sum_of(out);
                   for (double& v : out) v /= sum;
                   return out;
                 }});
  ops.push_back({.name = "log_softmax",
                 .summary = "x - logsumexp(x) over dim (torch.log_softmax)",
                 .statistic = Statistic::max_sum_exp,
                 .result = "{x} - {s}.max - logf({s}.sum)",
                 // g - softmax(x) Σ g
                 .backward_input = "{g}",
                 .backward = "{g} - expf({y}) * {b}.sum",
                 .reference = [](Group g, Params) {
                   const double lse = log_sum_exp(g);
                   std::vector<double> out;
                   for (double v : g) out.push_back(v - lse);
                   return out;
                 }});
  ops.push_back({.name = "layer_norm",
                 .summary = "(x - mean) / sqrt(var + eps) over the trailing normalized_shape, "
                            "then weight and bias (nn.LayerNorm)",
                 .group_by = GroupBy::trailing,
                 .statistic = Statistic::mean_var,
                 .result = kStandardized,
                 .params = {kEps},
                 .affine = Affine::elements,
                 .affine_by_default = true,
                 .backward_input = kStandardizedBackwardInput,
                 .backward = kStandardizedBackward,
                 .backward_statistic = "ft::SumPairStat",
                 .reference = standardized});
  // PyTorch's default eps is the input dtype's machine epsilon; the parser writes it in.
  ops.push_back({.name = "rms_norm",
                 .summary = "x / sqrt(mean(x^2) + eps) over the trailing normalized_shape, then "
                            "weight (nn.RMSNorm)",
                 .group_by = GroupBy::trailing,
                 .statistic = Statistic::sum,
                 .input = "{x} * {x}",
                 .result = "{x} * rsqrtf({s}.sum / {n} + {p0})",
                 .params = {{.name = "eps", .default_value = 0}},
                 .affine = Affine::elements,
                 .affine_by_default = true,
                 .affine_bias = false,
                 // (g - y mean(g y)) / sqrt(mean(x²) + eps)
                 .backward_input = "{g} * {y}",
                 .backward = "({g} - {y} * {b}.sum / {n}) * rsqrtf({s}.sum / {n} + {p0})",
                 .reference = [](Group g, Params p) {
                   double squares = 0;
                   for (double v : g) squares += v * v;
                   const double scale =
                       1 / std::sqrt(squares / static_cast<double>(g.size()) + p[0]);
                   std::vector<double> out;
                   for (double v : g) out.push_back(v * scale);
                   return out;
                 }});
  ops.push_back({.name = "group_norm",
                 .summary = "standardizes groups of channels per sample, then weight and bias "
                            "per channel (nn.GroupNorm)",
                 .group_by = GroupBy::channel_groups,
                 .statistic = Statistic::mean_var,
                 .result = kStandardized,
                 .params = {kEps},
                 .affine = Affine::channels,
                 .affine_by_default = true,
                 .backward_input = kStandardizedBackwardInput,
                 .backward = kStandardizedBackward,
                 .backward_statistic = "ft::SumPairStat",
                 .reference = standardized});
  ops.push_back({.name = "instance_norm",
                 .summary = "standardizes each channel of each sample over its positions "
                            "(nn.InstanceNorm2d/3d)",
                 .group_by = GroupBy::positions,
                 .statistic = Statistic::mean_var,
                 .result = kStandardized,
                 .params = {kEps},
                 .affine = Affine::channels,
                 .backward_input = kStandardizedBackwardInput,
                 .backward = kStandardizedBackward,
                 .backward_statistic = "ft::SumPairStat",
                 .reference = standardized});
  ops.push_back({.name = "batch_norm",
                 .summary = "standardizes each channel over the batch and positions; training "
                            "mode updates the running statistics (nn.BatchNorm1d/2d/3d)",
                 .group_by = GroupBy::channel,
                 .statistic = Statistic::mean_var,
                 .result = kStandardized,
                 .params = {kEps, {.name = "momentum", .default_value = 0.1}},
                 .affine = Affine::channels,
                 .affine_by_default = true,
                 // In training mode, over the batch statistics (eval mode has none here).
                 .backward_input = kStandardizedBackwardInput,
                 .backward = kStandardizedBackward,
                 .backward_statistic = "ft::SumPairStat",
                 .reference = standardized});
  return ops;
}

}  // namespace

std::span<const ReductionOpInfo> reduction_ops() {
  static const std::vector<ReductionOpInfo> registry = make_registry();
  return registry;
}

const ReductionOpInfo* find_reduction_op(std::string_view name) {
  for (const ReductionOpInfo& op : reduction_ops())
    if (op.name == name) return &op;
  return nullptr;
}

std::string_view statistic_type(Statistic statistic) {
  switch (statistic) {
    case Statistic::sum:
      return "ft::SumStat";
    case Statistic::max:
      return "ft::MaxStat";
    case Statistic::min:
      return "ft::MinStat";
    case Statistic::mean_var:
      return "ft::MeanVarStat";
    case Statistic::max_sum_exp:
      return "ft::MaxSumExpStat";
  }
  return "";
}

std::uint64_t statistic_bytes(Statistic statistic) {
  switch (statistic) {
    case Statistic::mean_var:
      return 12;
    case Statistic::max_sum_exp:
      return 8;
    default:
      return 4;
  }
}

const ReductionOpInfo& info_of(const ReductionOp& op) {
  const ReductionOpInfo* info = find_reduction_op(op.name);
  if (info == nullptr) throw Error(StatusCode::internal, "no reduction op named '" + op.name + "'");
  return *info;
}

}  // namespace fusetune
