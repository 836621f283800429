// The SIMT GEMM family's search (gemm_simt.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "generator/gemm_simt.h"

namespace fusetune {
namespace {

// The tunables' ranges. The space is their product, filtered by gemm_simt_rejection.
struct Ranges {
  std::vector<std::pair<int, int>> warps = {{1, 2}, {2, 1}, {2, 2}, {1, 4}, {4, 1}, {2, 4}, {4, 2}};
  std::vector<std::pair<int, int>> lanes = {{4, 8}, {8, 4}};
  std::vector<int> reps = {1, 2, 4};
  // k-depth per stage with the pipeline depth that keeps about 32-48 k of loads in flight.
  std::vector<std::pair<int, int>> bk_stages = {{8, 4}, {16, 3}};
  std::vector<bool> lane_n_fastest = {false, true};
  std::vector<bool> spread_fill = {false, true};
  std::vector<int> min_blocks = {1, 2};
  // Split-K, for shapes whose tiles leave SMs idle (see split_k_rejection).
  std::vector<int> splits = {1, 2, 4, 8, 16, 32};
};

// An operand that is not k-contiguous is copied in the widest vectors its rows allow; one that
// is k-contiguous one float at a time (8 threads cover a 32-byte run of k).
int copy_vector(bool k_contiguous, std::int64_t row_length) {
  if (k_contiguous) return 1;
  return row_length % 4 == 0 ? 4 : row_length % 2 == 0 ? 2 : 1;
}

std::int64_t next_power_of_two(std::int64_t x) {
  std::int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// Registers per thread: accumulators, two buffers of fragments, addresses and indices.
int estimated_registers(const GemmSimtConfig& c) {
  const int tile_m = c.thread_tile_m(), tile_n = c.thread_tile_n();
  return tile_m * tile_n + 2 * (tile_m + tile_n) + 40;
}

// The register budget per thread with which `blocks` blocks fit on one SM.
int register_cap(const DeviceLimits& limits, const GemmSimtConfig& c, int blocks) {
  return limits.regs_per_sm / (blocks * c.threads()) / 8 * 8;
}

// Large problems fill the device with large thread tiles, which are the efficient ones.
bool is_large(const MainOp& main, const DeviceLimits& limits) {
  return main.m * main.n >= static_cast<std::int64_t>(limits.sm_count) * 64 * 128 * 4;
}

int blocks_per_sm(const DeviceLimits& limits, const GemmSimtConfig& c) {
  const int registers = std::min(c.min_blocks > 1 ? register_cap(limits, c, c.min_blocks) : 255,
                                 (estimated_registers(c) + 7) / 8 * 8);
  const int by_threads = limits.max_threads_per_sm / c.threads();
  const int by_registers = limits.regs_per_sm / (registers * c.threads());
  const int by_smem = limits.smem_per_sm / std::max(1, c.smem_bytes() + 1024);
  return std::max(1, std::min({by_threads, by_registers, by_smem, limits.max_blocks_per_sm}));
}

// Split-K: the shared rules (tile_grid.h), each split keeping two pipelines of k-tiles; and of
// the split counts only those that bring the blocks to at least half the SMs are tried.
std::optional<std::string> simt_split_k_rejection(const MainOp& main, const DeviceLimits& limits,
                                                  const GemmSimtConfig& c) {
  const std::int64_t tiles = block_count(main, c);
  if (auto why =
          split_k_rejection(tiles, c.splits, k_tile_count(main, c), 2 * c.stages, limits.sm_count))
    return why;
  if (c.splits > 1 && 2 * tiles * c.splits <= limits.sm_count)
    return "split-K into more splits fills more SMs";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> gemm_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemmSimtConfig& c) {
  const int tile = c.thread_tile_m() * c.thread_tile_n();
  if (main.dtype != DataType::fp32) return "the FFMA kernel reads fp32 data";
  if (c.lanes_m * c.lanes_n != 32) return "a warp's lane grid must hold 32 lanes";
  if (c.threads() < 64 || c.threads() > 256) return "blocks have 64 to 256 threads";
  if (tile > 128) return "more than 128 outputs per thread do not fit in registers";
  if (tile < (is_large(main, limits) ? 64 : 16))
    return "a problem this large is faster with at least 64 outputs per thread";
  if (c.block_m() < 32 || c.block_m() > 256 || c.block_n() < 32 || c.block_n() > 256)
    return "block tiles are 32 to 256 along M and N";
  if (c.block_m() > std::max<std::int64_t>(32, next_power_of_two(main.m)) ||
      c.block_n() > std::max<std::int64_t>(32, next_power_of_two(main.n)))
    return "a block tile more than twice the matrix wastes most of its work";
  const int rows_per_pass = c.threads() / 8;
  if ((main.a_k_contiguous() && c.block_m() % rows_per_pass) ||
      (main.b_k_contiguous() && c.block_n() % rows_per_pass))
    return "the threads must tile the rows of a k-contiguous operand evenly";
  if (c.vec_a != copy_vector(main.a_k_contiguous(), main.m) ||
      c.vec_b != copy_vector(main.b_k_contiguous(), main.n))
    return "operands are copied in the widest vectors their rows allow";
  if (c.bk < 8 || c.bk % 8 || c.stages < 2)
    return "BK is a multiple of 8 and the pipeline has 2+ stages";
  if (c.smem_bytes() > limits.max_smem_per_block) return "too much shared memory for the device";
  const int registers = estimated_registers(c);
  if (registers > 255) return "needs more than 255 registers per thread";
  if (c.min_blocks > 1) {
    const int cap = register_cap(limits, c, c.min_blocks);
    if (registers <= cap) return "the occupancy hint would change nothing";
    if (registers > cap * 5 / 4) return "the occupancy hint would spill heavily";
    if (c.spread_fill) return "spread fills need the registers the occupancy hint takes away";
    if (c.min_blocks * (c.smem_bytes() + 1024) > limits.smem_per_sm)
      return "the occupancy hint asks for more shared memory than an SM has";
  }
  if (auto why = simt_split_k_rejection(main, limits, c)) return why;
  if (block_count(main, c) > 0x7fffffff) return "more output tiles than a grid can have";
  return std::nullopt;
}

std::vector<GemmSimtConfig> gemm_simt_space(const MainOp& main, const DeviceLimits& limits) {
  const Ranges ranges;
  const int vec_a = copy_vector(main.a_k_contiguous(), main.m);
  const int vec_b = copy_vector(main.b_k_contiguous(), main.n);
  std::vector<GemmSimtConfig> space;
  for (auto [warps_m, warps_n] : ranges.warps)
    for (auto [lanes_m, lanes_n] : ranges.lanes)
      for (int rep_m : ranges.reps)
        for (int rep_n : ranges.reps)
          for (auto [bk, stages] : ranges.bk_stages)
            for (bool lane_n_fastest : ranges.lane_n_fastest)
              for (bool spread_fill : ranges.spread_fill)
                for (int min_blocks : ranges.min_blocks)
                  for (int splits : ranges.splits) {
                    const GemmSimtConfig c{
                        warps_m, warps_n,        lanes_m,     lanes_n,    rep_m, rep_n, bk,
                        stages,  lane_n_fastest, spread_fill, min_blocks, vec_a, vec_b, splits};
                    if (!gemm_simt_rejection(main, limits, c)) space.push_back(c);
                  }
  std::stable_sort(space.begin(), space.end(), [&](const auto& x, const auto& y) {
    return gemm_simt_predicted_cost(main, limits, x) < gemm_simt_predicted_cost(main, limits, y);
  });
  return space;
}

double gemm_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemmSimtConfig& c) {
  // Fraction of FFMA peak a thread tile sustains (shared-memory traffic per FFMA falls as the
  // tile grows), measured roughly on an H100.
  const int tile = c.thread_tile_m() * c.thread_tile_n();
  double efficiency = tile >= 128 ? 0.95 : tile >= 64 ? 0.85 : tile >= 32 ? 0.7 : 0.45;
  const int resident = blocks_per_sm(limits, c);
  const int warps_per_sm = resident * c.threads() / 32;
  if (warps_per_sm < 8) efficiency *= warps_per_sm / 8.0;
  // A block loads BM + BN floats per k for 2·BM·BN flops; below an intensity of about 48 the
  // copies from L2 into shared memory, not the FFMAs, set the pace.
  const double intensity =
      static_cast<double>(c.block_m()) * c.block_n() / (c.block_m() + c.block_n());
  efficiency *= std::min(1.0, intensity / 48.0);
  // Split blocks each take their share of k and add a partial tile's write and read.
  const std::int64_t blocks = block_count(main, c) * c.splits;
  const std::int64_t per_wave = static_cast<std::int64_t>(limits.sm_count) * resident;
  const double waves = std::ceil(static_cast<double>(blocks) / per_wave);
  const double k_per_block =
      static_cast<double>(k_tiles_per_split(main, c)) * c.bk + (c.splits > 1 ? 2.0 * c.bk : 0.0);
  const double tile_work = static_cast<double>(c.block_m()) * c.block_n() * k_per_block;
  return waves * resident * tile_work / efficiency;
}

GemmSimtConfig gemm_simt_default(const MainOp& main, const DeviceLimits& limits) {
  const std::vector<GemmSimtConfig> space = gemm_simt_space(main, limits);
  // Among the best-predicted, prefer the settings that measured best on the seed problem.
  const auto preferred = std::find_if(space.begin(), space.end(), [](const GemmSimtConfig& c) {
    return c.bk == 16 && !c.lane_n_fastest && (c.spread_fill || c.min_blocks > 1);
  });
  if (preferred != space.end()) return *preferred;
  if (!space.empty()) return space.front();
  // The space is empty only for shapes outside every constraint (one huge dimension, say);
  // this small configuration runs any shape the parser accepts.
  return GemmSimtConfig{2,
                        1,
                        4,
                        8,
                        1,
                        1,
                        8,
                        2,
                        false,
                        false,
                        1,
                        copy_vector(main.a_k_contiguous(), main.m),
                        copy_vector(main.b_k_contiguous(), main.n)};
}

}  // namespace fusetune
