// What makes a convolution or a pooling step well-formed, by PyTorch's rules: the checks the spec
// parser runs after reading one, kept apart from the grammar.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "generator/spec.h"
#include "generator/tensor_limits.h"

namespace fusetune {

// nullopt for a convolution PyTorch would run: groups divides c and k, output_padding is
// smaller than stride or dilation, the output is not empty, and the kernels can index every
// tensor (input, weight, output: at most kMaxTensorElements elements each).
std::optional<MainOpProblem> conv_problem(const MainOp& main);

struct PoolProblem {
  std::string message;
};

// nullopt for a pool step PyTorch would run on a value of spatial extents `size` (d, h, w; the
// last `dims` count): padding at most half the kernel, and at least one window in every
// dimension.
std::optional<PoolProblem> pool_problem(const std::array<std::int64_t, 3>& size, int dims,
                                        const PoolOp& pool);

}  // namespace fusetune
