// The warpgroup-MMA GEMM family's search (gemm_wgmma.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "generator/gemm_wgmma.h"

namespace fusetune {
namespace {

struct TileShape {
  int block_m, block_n, consumers;
};

// The tunables' ranges. The space is their product, filtered by gemm_wgmma_rejection.
struct Ranges {
  std::vector<TileShape> tiles = {{128, 256, 2}, {256, 128, 2}, {128, 128, 2},
                                  {256, 64, 2},  {128, 64, 2},  {64, 256, 1},
                                  {64, 128, 1},  {128, 128, 1}, {64, 64, 1}};
  std::vector<int> stages = {3, 4, 5, 6};
  // Split-K, for shapes whose tiles leave SMs idle (see split_k_rejection).
  std::vector<int> splits = {1, 2, 3, 4, 6, 8, 12, 16};
  // Blocks per cluster (B multicast), for the two-consumer tiles that lead the seed's sweeps.
  std::vector<int> clusters = {1, 2};
  // The output stored by the TMA from shared memory, or from registers.
  std::vector<bool> tma_stores = {false, true};
};

std::int64_t next_power_of_two(std::int64_t x) {
  std::int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// Per consumer thread: accumulators (doubled at 3xTF32 for the partial sums it promotes), A
// fragments held in registers, and addressing.
int estimated_registers(const GemmWgmmaConfig& c) {
  const int m_instructions = c.block_m / c.consumers / 64;
  const int accumulators = m_instructions * c.block_n / 2 * (c.passes == 3 ? 2 : 1);
  const int a_fragments = 16 * m_instructions * (c.passes == 3 ? 2 : 0);
  return accumulators + a_fragments + 32;
}

// Registers a consumer thread may have: with two consumers the producer warpgroup gives most
// of its registers to them (setmaxnreg 40 / 232).
int register_budget(const GemmWgmmaConfig& c) { return c.consumers == 2 ? 232 : 255; }

}  // namespace

std::optional<std::string> gemm_wgmma_rejection(const MainOp& main, const DeviceLimits& limits,
                                                const GemmWgmmaConfig& c) {
  if (limits.arch != "sm_90") return "warpgroup MMA and TMA need an sm_90 (Hopper) device";
  // An operand stored the other way is written K-major by the producer's helper warps: fp32,
  // four values at a time along its stored rows.
  if (!main.a_k_contiguous() || !main.b_k_contiguous()) {
    if (main.dtype != DataType::fp32)
      return "16-bit operands are read K-contiguous only (transpose them, or the spec)";
    if (c.cluster != 1) return "an operand stored the other way is read without a cluster";
    if (!main.a_k_contiguous() && main.m % 4)
      return "A stored [K, M] is read four rows at a time: M a multiple of 4";
    if (!main.b_k_contiguous() && main.n % 4)
      return "B stored [K, N] is read four columns at a time: N a multiple of 4";
  }
  if (c.dtype != main.dtype)
    return fmt::format("a kernel for {} inputs cannot read the spec's {}", to_string(c.dtype),
                       to_string(main.dtype));
  if ((main.a_k_contiguous() || main.b_k_contiguous()) && main.k * element_bytes(main.dtype) % 16)
    return fmt::format("TMA needs rows of a multiple of 16 bytes (K a multiple of {})",
                       16 / element_bytes(main.dtype));
  if (c.dtype != DataType::fp32 && c.passes != 1) return "16-bit inputs take one pass";
  if (c.passes != 1 && c.passes != 3) return "TF32 takes one pass and 3xTF32 three";
  if (c.consumers != 1 && c.consumers != 2) return "one or two consumer warpgroups";
  if (c.block_m % (64 * c.consumers) || c.block_m > 256)
    return "each consumer warpgroup owns a multiple of 64 rows, up to 256 in all";
  if (c.block_n % 8 || c.block_n < 8 || c.block_n > 256)
    return "the wgmma N is a multiple of 8 up to 256";
  if (c.stages < 2) return "the ring has 2+ stages";
  if (c.cluster != 1 && c.cluster != 2) return "one or two blocks per cluster";
  if (c.cluster > 1) {
    if (c.splits > 1) return "a cluster's blocks share B's k-tiles whole: no split-K";
    if ((main.m + c.block_m - 1) / c.block_m % c.cluster)
      return "a cluster pairs vertically adjacent tiles: an even number of tile rows";
    if (c.block_n / c.cluster % 8)
      return "each block of a cluster loads a 1024-byte aligned share of B: BN a multiple of 16";
  }
  if (c.tma_store) {
    if (main.output_dtype() != c.dtype)
      return "the TMA store writes the output in the inputs' type";
    if (c.splits > 1) return "the TMA stores a tile whole: no split-K";
    if (main.n * element_bytes(c.dtype) % 16)
      return fmt::format(
          "the TMA store needs output rows of a multiple of 16 bytes (N a multiple "
          "of {})",
          16 / element_bytes(c.dtype));
    if (c.block_n * element_bytes(c.dtype) % GemmWgmmaConfig::kRowBytes)
      return "the TMA stores 128-byte strips of the tile: BN a multiple of 128 bytes";
  }
  // Split-K: each split keeps at least 4 k-tiles (128 of K), a ring's worth.
  if (auto why =
          split_k_rejection(tile_count(main, c), c.splits, k_tile_count(main), 4, limits.sm_count))
    return why;
  if (c.block_m > std::max<std::int64_t>(64, next_power_of_two(main.m)) ||
      c.block_n > std::max<std::int64_t>(64, next_power_of_two(main.n)))
    return "a block tile more than twice the matrix wastes most of its work";
  if (c.smem_bytes(main) > limits.max_smem_per_block) return "too much shared memory for the device";
  if (estimated_registers(c) > register_budget(c))
    return "the accumulators need more registers than a consumer thread has";
  const std::int64_t units = tile_count(main, c) * c.splits;
  if (c.blocks != std::min<std::int64_t>(units, limits.sm_count))
    return "persistent blocks: one per SM, or one per unit of work (tile x split) when fewer";
  if (c.blocks % c.cluster) return "the persistent blocks make whole clusters";
  return std::nullopt;
}

std::vector<GemmWgmmaConfig> gemm_wgmma_space(const MainOp& main, const DeviceLimits& limits,
                                              Precision precision) {
  std::vector<GemmWgmmaConfig> space;
  if (precision == Precision::fp32 || input_type(precision) != main.dtype) return space;
  const Ranges ranges;
  const int passes = precision == Precision::tf32x3 ? 3 : 1;
  for (const TileShape& tile : ranges.tiles)
    for (int stages : ranges.stages)
      for (int splits : ranges.splits)
        for (int cluster : ranges.clusters)
          for (bool tma_store : ranges.tma_stores) {
            if (cluster > 1 && tile.consumers != 2) continue;
            GemmWgmmaConfig c{.block_m = tile.block_m,
                              .block_n = tile.block_n,
                              .stages = stages,
                              .consumers = tile.consumers,
                              .passes = passes,
                              .dtype = main.dtype,
                              .splits = splits,
                              .cluster = cluster,
                              .tma_store = tma_store};
            c.blocks = static_cast<int>(
                std::min<std::int64_t>(tile_count(main, c) * splits, limits.sm_count));
            if (!gemm_wgmma_rejection(main, limits, c)) space.push_back(c);
          }
  std::stable_sort(space.begin(), space.end(), [&](const auto& x, const auto& y) {
    return gemm_wgmma_predicted_cost(main, limits, x) < gemm_wgmma_predicted_cost(main, limits, y);
  });
  return space;
}

double gemm_wgmma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                 const GemmWgmmaConfig& c) {
  // Waves of persistent units, each costing its MMA work; narrow tiles and a single consumer
  // feed the tensor cores less well. A split unit also writes its partial tile and the last
  // reads them all: counted as that many k-tiles.
  const double waves =
      std::ceil(static_cast<double>(tile_count(main, c) * c.splits) / std::max(1, limits.sm_count));
  double efficiency = c.block_n >= 128 ? 1.0 : 0.85;
  if (c.consumers == 1) efficiency *= 0.8;
  if (c.stages < 4) efficiency *= 0.95;
  // A cluster of two runs the seed within a few percent of its single-block twin on the H100
  // (bench/RESULTS.md): predicted alike, it is tried right after the twin.
  const double k_per_unit =
      static_cast<double>(k_tiles_per_split(main, c)) * GemmWgmmaConfig::kRowBytes * c.passes +
      (c.splits > 1 ? 2.0 * GemmWgmmaConfig::kRowBytes : 0.0);
  return waves * c.block_m * c.block_n * k_per_unit / efficiency;
}

}  // namespace fusetune
