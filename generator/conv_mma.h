// The implicit-GEMM tensor-core convolution family (templates/conv_mma.cuh), mma.sync at TF32
// or 3xTF32, for plain and transposed convolutions, a max or average pool step fused: one
// configuration's tunables, the GEMMs a convolution is to it, and the family's search space.
// conv_mma.cc holds the family unit, conv_mma_space.cc its rules.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/kernel_family.h"
#include "generator/kernel_source.h"
#include "generator/precision.h"
#include "generator/spec.h"
#include "generator/tile_grid.h"

namespace fusetune {

struct ConvMmaConfig {
  int warps_m = 2;      // warps per block along M (output positions)
  int warps_n = 4;      // warps per block along N (output channels of a group)
  int mma_tiles_m = 4;  // 16x8 MMA tiles per warp along M (16 positions each)
  int mma_tiles_n = 4;  // and along N (8 channels each)
  int bk = 16;          // k-depth of a stage: a multiple of 8
  int stages = 3;       // cp.async pipeline depth
  int passes = 1;       // 1 TF32, 3 3xTF32
  int vec_b = 4;        // floats per copy of the weight: the widest that divides C/groups·taps
  int wgmma = 0;        // 1: the k-loop on warpgroup MMA (sm_90a), A in registers

  int threads() const { return 32 * warps_m * warps_n; }
  int block_m() const { return warps_m * 16 * mma_tiles_m; }
  int block_n() const { return warps_n * 8 * mma_tiles_n; }
  Precision precision() const { return tensor_core_precision(DataType::fp32, passes); }
  // STAGES stages of A [BK, BM + 8] and B [BN, BK + 4] floats; under WGMMA B [BN, BK] (twice at
  // 3xTF32, its remainders beside) and 1024 bytes to align them.
  int smem_bytes() const;
  // How the template's threads copy A (ConvMmaShape): A_ROWS positions by a_columns() k-columns
  // each; 0 columns where a stage's copies do not split evenly over the threads.
  int a_rows() const { return std::min(4, block_m() / 32); }
  int a_columns() const;

  friend bool operator==(const ConvMmaConfig&, const ConvMmaConfig&) = default;
};

// A convolution as the template's GEMMs, per group and element of a cell (conv_cells.h):
// M = N·cells, N = K/groups channels, K = C/groups·the taps the element meets.
struct ConvGemm {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;  // C/groups·taps: a row of a plain convolution's weight
  int groups = 1;
  std::vector<std::int64_t> depths;  // each element's K, in the template's order
};
// `spec`'s main op and, where conv_mma fuses it, its first pool step.
ConvGemm conv_gemm(const Spec& spec);

// Whether conv_mma pools `spec`'s first pool step in its epilogue: a max or average pool, on
// cells that start on one output phase of a transposed convolution.
bool conv_mma_fuses_pool(const Spec& spec);

EdgeGuards edge_guards(const ConvGemm& gemm, const ConvMmaConfig& config);

// The family: its tunables table gives the procedural name
//   ft_conv_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<STAGES>_<tf32|3xtf32>_vb<V>[_g<m|n|k...>]
// e.g. ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4_gm (guards of the GEMM it is), its parser, its
// JSON and the tunables of the emitted Config.
const KernelFamily<ConvMmaConfig>& family_of(const ConvMmaConfig&);

// Blocks: one per BM x BN tile of each group's GEMM.
std::int64_t conv_mma_block_count(const Spec& spec, const ConvMmaConfig& config);
LaunchGeometry conv_mma_launch(const Spec& spec, const ConvMmaConfig& config);

// ---- the search (conv_mma_space.cc) ----

// Why conv_mma cannot run `spec` with any configuration (a dilated transposed convolution,
// 16-bit data); nullopt when it can.
std::optional<std::string> conv_mma_spec_rejection(const Spec& spec);

// Why `config` cannot run (or cannot be competitive) for `spec` on `limits`; nullopt if it can.
std::optional<std::string> conv_mma_rejection(const Spec& spec, const DeviceLimits& limits,
                                              const ConvMmaConfig& config);

// The best predicted configurations of `precision` (tf32 or 3xtf32) that pass, at most
// kConvMmaSpaceSize, best first; none for another precision or a spec conv_mma cannot run.
std::vector<ConvMmaConfig> conv_mma_space(const Spec& spec, const DeviceLimits& limits,
                                          Precision precision);
inline constexpr std::size_t kConvMmaSpaceSize = 96;

// A rough relative time: waves, occupancy, MMAs per shared-memory load, and the instructions
// of the A gather per MMA.
double conv_mma_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                               const ConvMmaConfig& config);

// The configuration for a spec never tuned at `precision`; throws Error(invalid_argument) with
// the reason when none can run it.
ConvMmaConfig conv_mma_default(const Spec& spec, const DeviceLimits& limits, Precision precision);

}  // namespace fusetune
