// How large a problem the kernels can compute: they index a tensor's elements with 32-bit
// integers, and round extents up to whole tiles, k-steps and splits in 32-bit arithmetic. The
// spec parser refuses what is larger (gemm_rules.h, conv_rules.h), so that no spec reaches a
// kernel whose indices or launch grid would overflow.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace fusetune {

// Elements of any one tensor a kernel reads or writes: a 32-bit int indexes them.
inline constexpr std::int64_t kMaxTensorElements = std::numeric_limits<std::int32_t>::max();

// A GEMM's m, n and k. Half of int's range leaves room for rounding an extent up to a tile
// (K_TILES = (K + BK - 1) / BK overflows at K = 2^31 - 1).
inline constexpr std::int64_t kMaxGemmExtent = std::int64_t{1} << 30;

// What is wrong with a main op's sizes, and the argument the message is about (for the caret).
struct MainOpProblem {
  std::string message;
  std::string argument;  // "k", "groups", "output_padding", ...
};

}  // namespace fusetune
