// The registry of reductions and normalizations: how each groups the running value's elements,
// the statistic it gathers per group, the CUDA text that turns a group's statistic into its
// result, and an fp64 reference written from PyTorch's definition, independently of that text.
// A new reduction op is an entry here (and its PyTorch call in python/fusetune/torch).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "generator/ops.h"

namespace fusetune {

// What an op does to the value's shape.
enum class ReductionKind {
  reduce,     // a group's elements become one value: the dims go, or stay as 1s with keepdim
  normalize,  // each element is rewritten with its group's statistics: the shape stays
};

// Which elements of the value [N, C, positions...] (or [M, N]) form one group.
enum class GroupBy {
  dims,            // the dims named by dim= (every other index fixed)
  trailing,        // the last dims, normalized_shape (layer_norm, rms_norm)
  channel_groups,  // C / groups channels and all their positions, per sample (group_norm)
  positions,       // one channel's positions, per sample (instance_norm)
  channel,         // one channel over every sample and position (batch_norm)
};

// The statistic a group gathers: one of the mergeable statistics of templates/statistics.cuh,
// so that parts of a group may be gathered apart and combined in any order.
enum class Statistic {
  sum,          // ft::SumStat: sum
  max,          // ft::MaxStat: max (NaN wins)
  min,          // ft::MinStat: min (NaN wins)
  mean_var,     // ft::MeanVarStat: count, mean and Σ(a - mean)² (Welford; merged by Chan's rule)
  max_sum_exp,  // ft::MaxSumExpStat: max m and Σ exp(a - m) (merged by rescaling to the max)
};

// The weight and bias a normalization takes when it is affine.
enum class Affine {
  none,      // never
  elements,  // over the normalized elements, normalized_shape (layer_norm, rms_norm)
  channels,  // one per channel, [C] (group_norm, instance_norm, batch_norm)
};

struct ReductionOpInfo {
  std::string_view name;     // as written in a spec: "softmax"
  std::string_view summary;  // one line for help text
  ReductionKind kind = ReductionKind::normalize;
  GroupBy group_by = GroupBy::dims;
  Statistic statistic = Statistic::sum;
  // fp32 CUDA text with fmt named placeholders. {x}: the element; {s}: the group's statistic;
  // {n}: the group's element count (a float literal); {p0}, {p1}: the params. `input` is what
  // each element adds to the statistic; `result` is the element's new value (normalize, before
  // any weight and bias) or the group's value (reduce).
  std::string_view input = "{x}";
  std::string_view result;
  std::vector<OpParam> params = {};  // eps, momentum: scalars of the spec, kernel arguments
  Affine affine = Affine::none;
  bool affine_by_default = false;  // PyTorch's module default (nn.LayerNorm: true)
  bool affine_bias = true;         // an affine op's bias too (rms_norm: a weight only)
  // The backward, where a kernel holds a whole group (templates/held_group_backward.cuh), as
  // fp32 CUDA text: {x} an element, {y} the op's result there before any weight (a reducing
  // op: the group's value), {g} d loss / d that result, {s} the group's forward statistic, {n}
  // and {p0} as above, {b} the group's backward statistic of what each element adds,
  // `backward_input` ("" where the op needs none). `backward` is d loss / d x; empty: the op has
  // no fused backward yet.
  std::string_view backward_input = "";
  std::string_view backward = "";
  std::string_view backward_statistic = "ft::SumStat";  // {b}'s type: SumStat or SumPairStat
  // The op in fp64 on one group's values, in the group's element order: one value per element
  // (normalize, before the weight and bias) or one value (reduce).
  std::vector<double> (*reference)(std::span<const double> group,
                                   std::span<const double> params) = nullptr;
};

// Every registered reduction op, in a fixed order.
std::span<const ReductionOpInfo> reduction_ops();

// The op called `name`, or nullptr.
const ReductionOpInfo* find_reduction_op(std::string_view name);

// The registry entry of a spec's op; throws Error(internal) for a name the registry lacks.
const ReductionOpInfo& info_of(const ReductionOp& op);

// The type of templates/statistics.cuh that gathers `statistic`: "ft::MeanVarStat", ...
std::string_view statistic_type(Statistic statistic);
// Its size in bytes: a group's statistic as a workspace holds it.
std::uint64_t statistic_bytes(Statistic statistic);

}  // namespace fusetune
