// The Hopper warpgroup-MMA GEMM family (templates/gemm_wgmma.cuh), fed by TMA on sm_90: one
// configuration's tunables, and the family's search space for one precision (TF32, 3xTF32, bf16
// or fp16), empty off sm_90 and for 16-bit operands that are not K-contiguous (fp32 ones stored
// the other way the TMA stages as stored and the producer's helper warps write K-major).
// gemm_wgmma.cc holds the family unit, gemm_wgmma_space.cc its rules.
#pragma once

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

struct GemmWgmmaConfig {
  int block_m = 128;  // rows of a block tile: consumers x a multiple of 64
  int block_n = 128;  // columns: the wgmma N, a multiple of 8 up to 256
  int stages = 4;     // TMA ring depth
  int consumers = 2;  // consumer warpgroups (one producer warpgroup besides)
  // fp32 data: 1 TF32 (the TMA rounds both operands to nearest as it loads them), 3 3xTF32;
  // 16-bit data: 1.
  int passes = 3;
  DataType dtype = DataType::fp32;  // the operands' type: bf16 and fp16 multiply as they are
  // Split-K: each tile's k-tiles in this many ranges, run as separate units of work and added
  // through a global workspace. For shapes with fewer tiles than SMs.
  int splits = 1;
  // Blocks per thread-block cluster: 2 pairs blocks on vertically adjacent tiles, which share
  // B's k-tiles through TMA multicast (each loads half), halving B's L2 reads.
  int cluster = 1;
  // The consumers stage the finished tile in shared memory and the TMA stores it while they go
  // on to the next; else they store from registers. Output in the inputs' type, no split-K.
  bool tma_store = false;
  int blocks = 132;  // persistent blocks: min(tiles x splits, SMs)

  static constexpr int kRowBytes = 128;  // a k-tile row: one 128-byte swizzled row per stage

  // k-tile depth in elements: 32 floats or 64 16-bit values.
  static int block_k(DataType type) { return kRowBytes / element_bytes(type); }
  int threads() const { return 128 * (consumers + 1); }
  Precision precision() const { return tensor_core_precision(dtype, passes); }
  // Of a launch for `main` (its operands stored the other way need staging areas).
  int smem_bytes(const MainOp& main) const;

  friend bool operator==(const GemmWgmmaConfig&, const GemmWgmmaConfig&) = default;
};

// The family: its tunables table gives the procedural name
//   ft_gemm_wgmma_<BM>x<BN>_c<CONSUMERS>_s<STAGES>_<tf32|3xtf32|bf16|fp16>[_k<SPLITS>]
//   [_x<CLUSTER>][_ts]_p<BLOCKS>[_g<m|n|k...>]   (_ts: tma_store)
// its parser, its JSON and the tunables of the emitted Config.
const KernelFamily<GemmWgmmaConfig>& family_of(const GemmWgmmaConfig&);

// A Config's wgmma_rs(d, a, b_descriptor, scale_d): m64nNk8 TF32 with A from registers (the
// m16n8k8 fragment of each warp's 16 rows), B K-major in shared memory, fp32 accumulators d.
std::string wgmma_tf32_register_a(int n);

EdgeGuards edge_guards(const MainOp& main, const GemmWgmmaConfig& config);

std::int64_t tile_count(const MainOp& main, const GemmWgmmaConfig& config);
// The k-tiles (block_k(main.dtype) deep) of the whole K, and of each split but the last.
std::int64_t k_tile_count(const MainOp& main);
std::int64_t k_tiles_per_split(const MainOp& main, const GemmWgmmaConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmWgmmaConfig& config);

// ---- the search (gemm_wgmma_space.cc) ----

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_wgmma_rejection(const MainOp& main, const DeviceLimits& limits,
                                                const GemmWgmmaConfig& config);

// Every configuration of `precision` (tf32 or 3xtf32) that passes, best predicted first.
std::vector<GemmWgmmaConfig> gemm_wgmma_space(const MainOp& main, const DeviceLimits& limits,
                                              Precision precision);

// A rough relative time (waves of persistent tiles, tensor-core efficiency); orders the sweep.
double gemm_wgmma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                 const GemmWgmmaConfig& config);

}  // namespace fusetune
