// The product of a GEMM emulated on int8 tensor cores (sm_90a wgmma): out = A Bᵀ in fp32 from
// the digit planes and row exponents of A [M, K] and B [N, K] that the slicing pass left
// (generator/int8_slicing.h; templates/gemm_wgmma_int8.cuh). A kernel of its own for now, its
// arithmetic checked against fp64 on the GPU before it becomes a family of the search.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "generator/kernel_source.h"
#include "generator/precision.h"

namespace fusetune {

// The guard's verdicts a product computes on (templates/int8_slices.cuh's kVerdict*): a plan's
// product, and the deeper one it turns to.
inline constexpr int kInt8xVerdictDigits = 0, kInt8xVerdictDeeper = 2;

struct Int8xGemmConfig {
  int slices = 3;   // digits per value
  int through = 4;  // the digit pairs (s, t) with s + t <= through
  int block_m = 128, block_n = 64;
  int block_k = 128;  // digits per k-tile: 128 (the 128-byte swizzle) or 64 (twice the stages)
  int stages = 3;
  int consumers = 2;  // warpgroups sharing a tile's rows
  int blocks = 132;   // persistent blocks (at most the tiles)
  // The guard's verdict the product computes on: a plan's product, or the deeper one it turns to
  // where the pairs through `through` - 1 do not hold. Not a tunable: a plan's second kernel
  // sets it.
  int runs_on = kInt8xVerdictDigits;

  Precision precision() const { return Precision::int8x; }
  friend bool operator==(const Int8xGemmConfig&, const Int8xGemmConfig&) = default;
};

// Shared memory a block of `c` takes: its stages of every plane's k-tile, and its barriers,
// with room to align the base to 1024 bytes.
int int8x_gemm_smem_bytes(const Int8xGemmConfig& c);

// The TMA's copies of A's (`tensor` 0) or B's (1) digit planes, `rows` rows each, into `c`'s
// k-tiles.
TensorMapSpec int8x_digit_map(int tensor, std::int64_t rows, std::int64_t k,
                              const Int8xGemmConfig& c);

// Why `c` cannot compute an M x N x K product (digit pairs out of range, a tile wgmma does not
// take, shared memory beyond sm_90's 227 KiB, int32 sums that could overflow), or nullopt.
std::optional<std::string> int8x_gemm_rejection(std::int64_t m, std::int64_t n, std::int64_t k,
                                                const Int8xGemmConfig& c);

// The Config's wgmma_ss for a tile N columns wide: m64nNk32 s32.s8.s8, one register per
// accumulator.
std::string int8x_wgmma_function(int n);

// The kernel: LaunchArgs::tensors[0] and [1] A's and B's digit planes (slicing_layout's digits,
// planes of m and n rows), tensors[2] and [3] their row exponents, LaunchArgs::out the fp32
// result [M, N]. Throws Error(invalid_argument) with int8x_gemm_rejection's reason.
KernelSource emit_int8x_gemm(std::int64_t m, std::int64_t n, std::int64_t k,
                             const Int8xGemmConfig& c);

}  // namespace fusetune
