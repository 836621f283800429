// The tensor-core GEMM family (templates/gemm_mma.cuh), mma.sync on sm_80 and newer: TF32 or
// 3xTF32 on fp32 data, bf16 or fp16 on data of that type. One configuration's tunables, and the
// family's search space for one precision. gemm_mma.cc holds the family unit, gemm_mma_space.cc
// its rules.
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

struct GemmMmaConfig {
  int warps_m = 2;      // warps per block along M
  int warps_n = 2;      // warps per block along N
  int mma_tiles_m = 4;  // 16x8 MMA tiles per warp along M (16 rows each)
  int mma_tiles_n = 4;  // and along N (8 columns each)
  int bk = 16;          // k-depth of a stage: a multiple of the MMA's k (8 fp32, 16 16-bit)
  int stages = 3;       // cp.async pipeline depth
  int passes = 3;       // fp32 data: 1 TF32, 3 3xTF32; 16-bit data: 1
  int vec_a = 4;        // elements per copy of A: the widest its contiguous extent allows
  int vec_b = 4;
  DataType dtype = DataType::fp32;  // the operands' type: bf16 and fp16 multiply as they are

  int threads() const { return 32 * warps_m * warps_n; }
  int block_m() const { return warps_m * 16 * mma_tiles_m; }
  int block_n() const { return warps_n * 8 * mma_tiles_n; }
  Precision precision() const { return tensor_core_precision(dtype, passes); }
  // Dynamic shared memory of STAGES stages of A and B (see the template's pitches).
  int smem_bytes(const MainOp& main) const;

  friend bool operator==(const GemmMmaConfig&, const GemmMmaConfig&) = default;
};

// The family: its tunables table gives the procedural name (the vectors and the operand type
// are in every name)
//   ft_gemm_mma_<BM>x<BN>x<BK>_w<WM>x<WN>_s<STAGES>_<tf32|3xtf32|bf16|fp16>_va<V>_vb<V>
//   [_g<m|n|k...>]
// its parser, its JSON and the tunables of the emitted Config.
const KernelFamily<GemmMmaConfig>& family_of(const GemmMmaConfig&);

EdgeGuards edge_guards(const MainOp& main, const GemmMmaConfig& config);

std::int64_t block_count(const MainOp& main, const GemmMmaConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemmMmaConfig& config);

// ---- the search (gemm_mma_space.cc) ----

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_mma_rejection(const MainOp& main, const DeviceLimits& limits,
                                              const GemmMmaConfig& config);

// Every configuration of `precision` that passes, best predicted first; none for fp32 (the
// SIMT family's) or a precision that does not read the spec's dtype.
std::vector<GemmMmaConfig> gemm_mma_space(const MainOp& main, const DeviceLimits& limits,
                                          Precision precision);

// A rough relative time (waves, occupancy, MMAs per shared-memory load); orders the sweep.
double gemm_mma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                               const GemmMmaConfig& config);

// The configuration for a spec never tuned at `precision`. For 16-bit operands of an odd
// contiguous extent no configuration can run; the one returned then fails gemm_mma_rejection,
// which says why.
GemmMmaConfig gemm_mma_default(const MainOp& main, const DeviceLimits& limits, Precision precision);

}  // namespace fusetune
