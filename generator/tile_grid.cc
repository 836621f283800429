#include "generator/tile_grid.h"

namespace fusetune {

EdgeGuards edge_guards(const MainOp& main, int block_m, int block_n, int block_k) {
  return {main.m % block_m != 0, main.n % block_n != 0, main.k % block_k != 0};
}

std::string guard_suffix(const EdgeGuards& guards) {
  if (!guards.m && !guards.n && !guards.k) return "";
  std::string suffix = "_g";
  if (guards.m) suffix += 'm';
  if (guards.n) suffix += 'n';
  if (guards.k) suffix += 'k';
  return suffix;
}

std::int64_t tile_count(const MainOp& main, int block_m, int block_n) {
  return ((main.m + block_m - 1) / block_m) * ((main.n + block_n - 1) / block_n);
}

LaunchGeometry tile_grid(const MainOp& main, int block_m, int block_n, int threads,
                         int dynamic_smem_bytes) {
  LaunchGeometry g;
  g.grid = {static_cast<unsigned>(tile_count(main, block_m, block_n)), 1, 1};
  g.block = {static_cast<unsigned>(threads), 1, 1};
  g.dynamic_smem_bytes = static_cast<unsigned>(dynamic_smem_bytes);
  return g;
}

}  // namespace fusetune
