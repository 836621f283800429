// What every GEMM template family shares about covering the output: one block per BM x BN tile
// on a 1-D grid (M fastest), and the edges that need checks when the shape is not a multiple
// of the tile.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

// Which edges of the problem are not tile multiples and must be checked. A bucket's rows vary
// by launch: its M edge is always checked.
struct EdgeGuards {
  bool m = false;
  bool n = false;
  bool k = false;
};

EdgeGuards edge_guards(const MainOp& main, int block_m, int block_n, int block_k);

// "" without guards, else "_g" and the guarded dimensions: "_gmk". Ends a procedural name.
std::string guard_suffix(const EdgeGuards& guards);

// Output tiles, one block each.
std::int64_t tile_count(const MainOp& main, int block_m, int block_n);

// For a bucket (main.is_row_range()) with a grid that follows the rows (LaunchGeometry::rows).
LaunchGeometry tile_grid(const MainOp& main, int block_m, int block_n, int threads,
                         int dynamic_smem_bytes);

// The grid of `geometry` for a launch of `rows` rows: a bucket's kernel's recomputed for them
// (RowGrid), any other's as written. Throws Error(invalid_argument) for rows outside 1 ..
// max_rows, for which the bucket's workspace was not sized.
std::array<unsigned, 3> grid_at_rows(const LaunchGeometry& geometry, std::int64_t rows);

// A grid of x by y blocks, within CUDA's limits (x below 2^31, y up to 65535). The parser's size
// limits (tensor_limits.h) keep every spec within them, so a grid beyond them is a generator bug:
// thrown as Error(internal) rather than truncated to a grid that launches nothing.
std::array<unsigned, 3> launch_grid(std::int64_t x, std::int64_t y = 1);

// Split-K (templates/split_k.cuh): each of `tiles` tiles has its `k_tiles` k-tiles divided into
// `splits` ranges; every range but the last has this many.
std::int64_t k_tiles_per_split(std::int64_t k_tiles, int splits);

// The rules split-K has in every family: it pays only where the tiles alone fill under half the
// SMs, into no more than two units of work per SM, each keeping at least `min_k_tiles` k-tiles,
// and no split empty. A family adds its own rules after these.
std::optional<std::string> split_k_rejection(std::int64_t tiles, int splits, std::int64_t k_tiles,
                                             int min_k_tiles, int sm_count);

// The workspace: every split's partial block_m x block_n tile, then `counters_per_tile`
// arrival counters per tile. 0 without split-K.
std::uint64_t split_k_workspace_bytes(std::int64_t tiles, int splits, int block_m, int block_n,
                                      int counters_per_tile);

}  // namespace fusetune
