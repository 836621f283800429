// What every GEMM template family shares about covering the output: one block per BM x BN tile
// on a 1-D grid (M fastest), and the edges that need checks when the shape is not a multiple
// of the tile.
#pragma once

#include <cstdint>
#include <string>

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

// Which edges of the problem are not tile multiples and must be checked.
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

LaunchGeometry tile_grid(const MainOp& main, int block_m, int block_n, int threads,
                         int dynamic_smem_bytes);

}  // namespace fusetune
