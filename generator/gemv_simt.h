// The SIMT matrix-vector family (templates/gemv_simt.cuh), for fp32 products with at most 16
// rows of x: one configuration's tunables (the shape and the edge guards come from the spec), and
// the family's search space: the product of the tunables' ranges (a table), filtered by
// constraints that each say why a configuration is left out. gemv_simt.cc holds the family unit,
// gemv_simt_space.cc its rules.
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

// How B is walked, which its storage decides: B[N,K] (a linear layer's weight) whole rows at a
// time, B[K,N] by columns.
enum class GemvLayout { rows, columns };

struct GemvSimtConfig {
  GemvLayout layout = GemvLayout::rows;
  int block_m = 1;         // rows of x per block (1..16): M, or M/2 rounded up
  int warps = 8;           // warps per block
  int rows_per_warp = 2;   // rows layout: rows of W a warp streams together; 0 for columns
  int column_threads = 0;  // columns layout: threads along N, whole warps; 0 for rows
  int unroll = 4;          // loads of B in flight per row of W (rows) or per thread (columns)
  int vec = 4;             // floats per load of B: the widest its rows allow (4, 2, 1)
  // Split-K: the k range in this many parts, one block each (grid.y), added through a global
  // workspace (templates/split_k.cuh). For shapes whose tiles alone leave SMs idle.
  int splits = 1;

  Precision precision() const { return Precision::fp32; }
  int threads() const { return 32 * warps; }
  // Output columns per block.
  int block_n() const {
    return layout == GemvLayout::rows ? warps * rows_per_warp : column_threads * vec;
  }
  // Threads that share a column and split its k (columns layout); 1 for rows.
  int k_groups() const { return layout == GemvLayout::rows ? 1 : threads() / column_threads; }
  // k covered by one step of the block's loads.
  int k_step() const {
    return layout == GemvLayout::rows ? 32 * vec * unroll : k_groups() * unroll;
  }
  // Loads of B each thread keeps in flight.
  int loads_in_flight() const {
    return layout == GemvLayout::rows ? rows_per_warp * unroll : unroll;
  }

  friend bool operator==(const GemvSimtConfig&, const GemvSimtConfig&) = default;
};

// x is staged in shared memory at most this many floats per block at a time (64 KB).
inline constexpr int kGemvXChunkFloats = 16384;

// The family: its tunables table gives the procedural name, also the kernel symbol,
//   ft_gemv_simt_rows_m<BM>_w<WARPS>_r<ROWS_PER_WARP>_u<UNROLL>_v<VEC>[_k<SPLITS>][_g<m|n|k...>]
//   ft_gemv_simt_cols_m<BM>_w<WARPS>_c<COLUMN_THREADS>_u<UNROLL>_v<VEC>[_k<SPLITS>][_g...]
// e.g. ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4, its parser, its JSON and the tunables of the
// emitted Config.
const KernelFamily<GemvSimtConfig>& family_of(const GemvSimtConfig&);

EdgeGuards edge_guards(const MainOp& main, const GemvSimtConfig& config);

// Output tiles (block_m x block_n), one block each per split.
std::int64_t block_count(const MainOp& main, const GemvSimtConfig& config);
// The k-steps of the whole K, and of each split but the last.
std::int64_t k_step_count(const MainOp& main, const GemvSimtConfig& config);
std::int64_t k_steps_per_split(const MainOp& main, const GemvSimtConfig& config);
// k of x staged in shared memory at a time: a split's range, or less where kGemvXChunkFloats
// runs out; a multiple of the k-step, 0 when not even one step fits.
int x_chunk(const MainOp& main, const GemvSimtConfig& config);
// Floats of one split's partial sums of a tile in the workspace: a float4 for each of the
// threads that finish the tile, whole warps of them.
int partial_floats(const GemvSimtConfig& config);
// Dynamic shared memory: the x chunk [block_m, x_chunk + 4], which the partial sums
// [k_groups, block_m, block_n] reuse, and split-K's flag.
int smem_bytes(const MainOp& main, const GemvSimtConfig& config);
LaunchGeometry launch_geometry(const MainOp& main, const GemvSimtConfig& config);

// ---- the search (gemv_simt_space.cc) ----

// The most rows of x (M) the family takes.
inline constexpr int kGemvMaxRows = 16;

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemv_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemvSimtConfig& config);

// Every configuration that passes the constraints, best predicted first; empty for M > 16.
std::vector<GemvSimtConfig> gemv_simt_space(const MainOp& main, const DeviceLimits& limits);

// A rough relative time, in bytes of memory traffic: B streamed once per tile of rows of x,
// slowed where too few loads are in flight to cover the memory's latency or where the blocks
// leave SMs unevenly loaded, or set by shared-memory reads or FFMAs where those take longer;
// plus what staging x and split-K add. Orders the sweep.
double gemv_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemvSimtConfig& config);

}  // namespace fusetune
