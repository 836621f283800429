// What makes a convolution or a pooling step well-formed, by PyTorch's rules: the checks the spec
// parser runs after reading one, kept apart from the grammar.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "generator/spec.h"

namespace fusetune {

// What is wrong with a convolution, and the argument the message is about (for the caret).
struct ConvProblem {
  std::string message;
  std::string argument;  // "groups", "output_padding", "kernel", ...
};

// nullopt for a convolution PyTorch would run: groups divides c and k, output_padding is
// smaller than stride or dilation, the output is not empty, and every tensor has fewer than
// 2^31 elements.
std::optional<ConvProblem> conv_problem(const MainOp& main);

struct PoolProblem {
  std::string message;
};

// nullopt for a pool step PyTorch would run on a value of spatial extents `size` (d, h, w; the
// last `dims` count): padding at most half the kernel, and at least one window in every
// dimension.
std::optional<PoolProblem> pool_problem(const std::array<std::int64_t, 3>& size, int dims,
                                        const PoolOp& pool);

}  // namespace fusetune
