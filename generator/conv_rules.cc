#include "generator/conv_rules.h"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

namespace fusetune {
namespace {

constexpr std::string_view kAxes = "dhw";

}  // namespace

std::optional<MainOpProblem> conv_problem(const MainOp& main) {
  const ConvGeometry& c = main.conv;
  const std::string_view op = main_op_name(main.kind);
  if (c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0)
    return MainOpProblem{fmt::format("groups={} must divide both c={} and k={}", c.groups,
                                     c.in_channels, c.out_channels),
                         "groups"};
  const int first = 3 - main.spatial_dims();
  for (int i = first; i < 3; ++i) {
    if (main.is_transposed_conv() && c.output_padding[i] >= c.stride[i] &&
        c.output_padding[i] >= c.dilation[i])
      return MainOpProblem{
          fmt::format("output_padding must be smaller than stride or dilation (it is {} along {}, "
                      "with stride {} and dilation {})",
                      c.output_padding[i], kAxes[i], c.stride[i], c.dilation[i]),
          "output_padding"};
  }
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  for (int i = first; i < 3; ++i) {
    if (out[i] < 1)
      return MainOpProblem{
          fmt::format(
              "the output of {} would be empty along {} ({} = {} with kernel {}, stride {}, "
              "padding {} and dilation {}): make the kernel or dilation smaller or the "
              "padding larger",
              op, kAxes[i], kAxes[i], c.size[i], c.kernel[i], c.stride[i], c.padding[i],
              c.dilation[i]),
          "kernel"};
  }
  const double input = static_cast<double>(c.batch) * c.in_channels * c.input_positions();
  const double output = static_cast<double>(c.batch) * c.out_channels * out[0] * out[1] * out[2];
  const double weight = static_cast<double>(c.out_channels) * c.in_channels / c.groups * c.taps();
  auto too_many = [&](std::string_view tensor, double elements, std::string argument) {
    return MainOpProblem{fmt::format("{}'s {} would have {:.0f} elements; kernels index tensors of "
                                     "up to {}",
                                     op, tensor, elements, kMaxTensorElements),
                         std::move(argument)};
  };
  if (input > kMaxTensorElements || output > kMaxTensorElements)
    return too_many(input > kMaxTensorElements ? "input" : "output", std::max(input, output), "n");
  // The weight is [K, C / groups, taps] (transposed: [C, K / groups, taps]): the larger of c and k
  // is the one to make smaller.
  if (weight > kMaxTensorElements)
    return too_many("weight", weight, c.in_channels >= c.out_channels ? "c" : "k");
  return std::nullopt;
}

std::optional<PoolProblem> pool_problem(const std::array<std::int64_t, 3>& size, int dims,
                                        const PoolOp& pool) {
  if (pool.kind == PoolKind::global_avg) return std::nullopt;
  for (int i = 3 - dims; i < 3; ++i) {
    if (2 * pool.padding[i] > pool.kernel[i])
      return PoolProblem{fmt::format(
          "pool padding must be at most half the kernel (padding {} with kernel {} along {})",
          pool.padding[i], pool.kernel[i], kAxes[i])};
    if (size[i] + 2 * pool.padding[i] < pool.kernel[i])
      return PoolProblem{fmt::format(
          "the pool's kernel {} is larger than the padded input along {} (the value is {} "
          "wide there, padding {})",
          pool.kernel[i], kAxes[i], size[i], pool.padding[i])};
  }
  return std::nullopt;
}

}  // namespace fusetune
