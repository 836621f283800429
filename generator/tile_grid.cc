#include "generator/tile_grid.h"

#include <fmt/format.h>

#include "fusetune/status.h"

namespace fusetune {

EdgeGuards edge_guards(const MainOp& main, int block_m, int block_n, int block_k) {
  return {main.is_row_range() || main.m % block_m != 0, main.n % block_n != 0,
          main.k % block_k != 0};
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

std::int64_t k_tiles_per_split(std::int64_t k_tiles, int splits) {
  return (k_tiles + splits - 1) / splits;
}

std::optional<std::string> split_k_rejection(std::int64_t tiles, int splits, std::int64_t k_tiles,
                                             int min_k_tiles, int sm_count) {
  if (splits < 1) return "split-K takes 1 or more splits";
  if (splits == 1) return std::nullopt;
  if (2 * tiles > sm_count) return "split-K only where the tiles fill under half the SMs";
  if (tiles * splits > 2 * sm_count)
    return "split-K into more than two per SM (tiles x splits) only adds partial sums";
  const std::int64_t per_split = k_tiles_per_split(k_tiles, splits);
  if (per_split < min_k_tiles)
    return "each split keeps at least " + std::to_string(min_k_tiles) + " k-tiles";
  if ((splits - 1) * per_split >= k_tiles) return "every split must have k-tiles";
  return std::nullopt;
}

std::uint64_t split_k_workspace_bytes(std::int64_t tiles, int splits, int block_m, int block_n,
                                      int counters_per_tile) {
  if (splits <= 1) return 0;
  return 4 * static_cast<std::uint64_t>(tiles) *
         (static_cast<std::uint64_t>(splits) * block_m * block_n + counters_per_tile);
}

std::array<unsigned, 3> launch_grid(std::int64_t x, std::int64_t y) {
  constexpr std::int64_t kMaxX = (std::int64_t{1} << 31) - 1, kMaxY = 65535;
  if (x < 1 || x > kMaxX || y < 1 || y > kMaxY)
    throw Error(StatusCode::internal,
                fmt::format("a grid of {} x {} blocks is beyond CUDA's limits ({} x {}); the "
                            "spec's size limits should have ruled it out: please report",
                            x, y, kMaxX, kMaxY));
  return {static_cast<unsigned>(x), static_cast<unsigned>(y), 1};
}

LaunchGeometry tile_grid(const MainOp& main, int block_m, int block_n, int threads,
                         int dynamic_smem_bytes) {
  LaunchGeometry g;
  g.grid = launch_grid(tile_count(main, block_m, block_n));
  g.block = {static_cast<unsigned>(threads), 1, 1};
  g.dynamic_smem_bytes = static_cast<unsigned>(dynamic_smem_bytes);
  if (main.is_row_range())
    g.rows = {.tile_rows = block_m,
              .tile_row_blocks = (main.n + block_n - 1) / block_n,
              .max_rows = main.m};
  return g;
}

std::array<unsigned, 3> grid_at_rows(const LaunchGeometry& geometry, std::int64_t rows) {
  const RowGrid& r = geometry.rows;
  if (r.tile_rows == 0) return geometry.grid;
  if (rows < 1 || rows > r.max_rows)
    throw Error(StatusCode::invalid_argument,
                fmt::format("a launch of {} rows, and this bucket's kernel runs 1 to {}", rows,
                            r.max_rows));
  const std::int64_t tile_rows = (rows + r.tile_rows - 1) / r.tile_rows;
  return launch_grid(tile_rows * r.tile_row_blocks, geometry.grid[1]);
}

}  // namespace fusetune
