// The SIMT FFMA GEMM family (templates/gemm_simt.cuh), for fp32: one configuration's tunables
// (the problem shape and the edge guards come from the spec), and the family's search space: the
// product of the tunables' ranges (a table), filtered by constraints that each say why a
// configuration is left out. gemm_simt.cc holds the family unit, gemm_simt_space.cc its rules.
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

struct GemmSimtConfig {
  int warps_m = 2;  // warps per block along M
  int warps_n = 2;  // warps per block along N
  int lanes_m = 4;  // lane grid of a warp: lanes_m x lanes_n == 32
  int lanes_n = 8;
  int rep_m = 4;  // 4x4 fragments per thread along M: thread tile rows = 4 * rep_m
  int rep_n = 2;
  int bk = 16;                  // k-depth of a shared-memory stage
  int stages = 3;               // cp.async pipeline depth
  bool lane_n_fastest = false;  // consecutive lanes step along N (else along M)
  bool spread_fill = true;      // issue a tile's copies over several k-steps
  int min_blocks = 1;           // __launch_bounds__ blocks-per-SM hint (caps registers)
  int vec_a = 1;  // floats per copy of A when A is m-contiguous (1, 2, 4); 1 when k-contiguous
  int vec_b = 1;  // likewise for B
  // Split-K: each tile's k-tiles in this many ranges, one block each (grid.y), added through a
  // global workspace (templates/split_k.cuh). For shapes with too few tiles to fill the GPU.
  int splits = 1;

  Precision precision() const { return Precision::fp32; }
  int threads() const { return 32 * warps_m * warps_n; }
  int thread_tile_m() const { return 4 * rep_m; }
  int thread_tile_n() const { return 4 * rep_n; }
  int block_m() const { return warps_m * lanes_m * thread_tile_m(); }
  int block_n() const { return warps_n * lanes_n * thread_tile_n(); }
  // Dynamic shared memory: STAGES x ([BK, BM + 4] + [BK, BN + 4]) floats, and split-K's flag.
  int smem_bytes() const {
    return stages * bk * (block_m() + 4 + block_n() + 4) * 4 + (splits > 1 ? 16 : 0);
  }

  friend bool operator==(const GemmSimtConfig&, const GemmSimtConfig&) = default;
};

// The family: its tunables table gives the procedural name, also the kernel symbol,
//   ft_gemm_simt_<BM>x<BN>x<BK>_w<WM>x<WN>_t<TM>x<TN>_s<STAGES>_<m|n>[_spread][_occ<B>]
//   [_va<V>][_vb<V>][_k<SPLITS>][_g<m|n|k...>]
// e.g. ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread (_va and _vb where the operand is not
// k-contiguous), its parser, its JSON and the tunables of the emitted Config.
const KernelFamily<GemmSimtConfig>& family_of(const GemmSimtConfig&);

EdgeGuards edge_guards(const MainOp& main, const GemmSimtConfig& config);

// Output tiles, one block each (per split).
std::int64_t block_count(const MainOp& main, const GemmSimtConfig& config);
// The k-tiles (bk deep) of the whole K, and of each split but the last.
std::int64_t k_tile_count(const MainOp& main, const GemmSimtConfig& config);
std::int64_t k_tiles_per_split(const MainOp& main, const GemmSimtConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmSimtConfig& config);

// ---- the search (gemm_simt_space.cc) ----

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemmSimtConfig& config);

// Every configuration that passes the constraints, best predicted first.
std::vector<GemmSimtConfig> gemm_simt_space(const MainOp& main, const DeviceLimits& limits);

// A rough relative time from a model of waves, occupancy and per-thread efficiency: orders the
// sweep (so that slow candidates can be abandoned early) and picks the untuned default.
double gemm_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemmSimtConfig& config);

// The configuration to use for a spec that was never tuned.
GemmSimtConfig gemm_simt_default(const MainOp& main, const DeviceLimits& limits);

}  // namespace fusetune
