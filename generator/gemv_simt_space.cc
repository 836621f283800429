// The matrix-vector family's search (gemv_simt.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "generator/gemv_simt.h"

namespace fusetune {
namespace {

// The tunables' ranges. The space is their product, filtered by gemv_simt_rejection; rows of x
// per block are M or M/2 rounded up (block_m_choices).
struct Ranges {
  std::vector<int> warps = {2, 4, 8};
  std::vector<int> rows_per_warp = {1, 2, 4};
  std::vector<int> column_threads = {32, 64, 128, 256};
  std::vector<int> unroll = {1, 2, 4, 8, 16};
  // Split-K, for shapes whose tiles leave SMs idle (see split_k_rejection).
  std::vector<int> splits = {1, 2, 4, 8, 16, 32};
};

// Each weight element is loaded once per tile of rows of x: one tile of all M rows, or two
// where one would take too many registers.
std::vector<int> block_m_choices(std::int64_t m) {
  const int all = static_cast<int>(m), half = static_cast<int>((m + 1) / 2);
  return half == all ? std::vector<int>{all} : std::vector<int>{all, half};
}

// The length of a row of B: k for W[N,K], n for B[K,N].
std::int64_t row_length(const MainOp& main) { return main.b_k_contiguous() ? main.k : main.n; }

// B is loaded in the widest vectors whose rows stay aligned.
int load_vector(const MainOp& main) {
  const std::int64_t length = row_length(main);
  return length % 4 == 0 ? 4 : length % 2 == 0 ? 2 : 1;
}

std::int64_t next_power_of_two(std::int64_t x) {
  std::int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// Registers per thread: partial sums, the loads in flight, x, addresses and indices.
int estimated_registers(const GemvSimtConfig& c) {
  if (c.layout == GemvLayout::rows)
    return c.block_m * c.rows_per_warp + c.loads_in_flight() * (c.vec + 1) + c.vec +
           2 * c.rows_per_warp + 32;
  return c.block_m * c.vec + c.loads_in_flight() * (c.vec + 1) + 32;
}

int blocks_per_sm(const MainOp& main, const DeviceLimits& limits, const GemvSimtConfig& c) {
  const int registers = (estimated_registers(c) + 7) / 8 * 8;
  const int by_threads = limits.max_threads_per_sm / c.threads();
  const int by_registers = limits.regs_per_sm / (registers * c.threads());
  const int by_smem = limits.smem_per_sm / (smem_bytes(main, c) + 1024);
  return std::max(1, std::min({by_threads, by_registers, by_smem, limits.max_blocks_per_sm}));
}

std::optional<std::string> layout_rejection(const MainOp& main, const GemvSimtConfig& c) {
  if (c.layout == GemvLayout::rows) {
    if (!main.b_k_contiguous())
      return "the rows layout streams a B stored [N,K]; this B is stored [K,N]";
    if (c.column_threads != 0) return "a rows-layout configuration has no column threads";
    if (c.rows_per_warp < 1 || c.rows_per_warp > 4) return "a warp streams 1 to 4 rows of W";
  } else {
    if (main.b_k_contiguous())
      return "the columns layout walks a B stored [K,N]; this B is stored [N,K]";
    if (c.rows_per_warp != 0) return "a columns-layout configuration has no rows per warp";
    if (c.column_threads < 32 || c.column_threads % 32 != 0 || c.threads() % c.column_threads)
      return "column threads are whole warps that divide the block";
  }
  return std::nullopt;
}

std::optional<std::string> load_rejection(const MainOp& main, const GemvSimtConfig& c) {
  if (c.vec != 1 && c.vec != 2 && c.vec != 4) return "B is loaded 1, 2 or 4 floats at a time";
  if (row_length(main) % c.vec != 0)
    return fmt::format(
        "rows of B of {} floats are not {}-byte aligned: loads of {} floats need rows whose "
        "length they divide",
        row_length(main), 4 * c.vec, c.vec);
  if (c.vec != load_vector(main)) return "B is loaded in the widest vectors its rows allow";
  if (c.unroll < 1 || (c.unroll & (c.unroll - 1)) != 0)
    return "UNROLL is a power of two, so that k-steps start 16-byte aligned in x";
  if (c.loads_in_flight() < 4) return "each thread keeps at least 4 loads of B in flight";
  if (c.loads_in_flight() > 16)
    return "more than 16 loads in flight per thread take registers without adding bandwidth";
  return std::nullopt;
}

// Split-K: the shared rules (tile_grid.h), each split keeping two k-steps; and of the split
// counts only those that bring the blocks to at least half the SMs are tried.
std::optional<std::string> gemv_split_k_rejection(const MainOp& main, const DeviceLimits& limits,
                                                  const GemvSimtConfig& c) {
  const std::int64_t tiles = block_count(main, c);
  if (auto why = split_k_rejection(tiles, c.splits, k_step_count(main, c), 2, limits.sm_count))
    return why;
  if (c.splits > 1 && 2 * tiles * c.splits <= limits.sm_count)
    return "split-K into more splits fills more SMs";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> gemv_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemvSimtConfig& c) {
  if (main.dtype != DataType::fp32) return "the FFMA kernel reads fp32 data";
  if (main.m > kGemvMaxRows)
    return fmt::format("the matrix-vector kernel takes at most {} rows of x", kGemvMaxRows);
  if (auto why = layout_rejection(main, c)) return why;
  if (c.block_m < 1 || c.block_m > kGemvMaxRows) return "a block takes 1 to 16 rows of x";
  if (c.block_m > main.m) return "a block takes no more rows of x than M";
  if ((main.m + c.block_m - 1) / c.block_m > 2)
    return "a block takes at least half the rows of x: each tile of rows reads all of B again";
  if (c.warps < 2 || c.warps > 8) return "blocks have 2 to 8 warps";
  if (auto why = load_rejection(main, c)) return why;
  if (c.block_n() % 4 != 0) return "a block covers a multiple of 4 columns (float4s of outputs)";
  if (c.block_n() > std::max<std::int64_t>(32, next_power_of_two(main.n)))
    return "a block tile more than twice the matrix wastes most of its work";
  if (x_chunk(main, c) < c.k_step())
    return fmt::format("a chunk of x in shared memory ({} floats per row) holds no whole k-step",
                       kGemvXChunkFloats / c.block_m);
  if (estimated_registers(c) > 128) return "needs more than 128 registers per thread";
  if (auto why = gemv_split_k_rejection(main, limits, c)) return why;
  if (smem_bytes(main, c) > limits.max_smem_per_block)
    return "too much shared memory for the device";
  if (2 * (smem_bytes(main, c) + 1024) > limits.smem_per_sm)
    return "two blocks must fit in an SM's shared memory";
  return std::nullopt;
}

std::vector<GemvSimtConfig> gemv_simt_space(const MainOp& main, const DeviceLimits& limits) {
  if (main.m > kGemvMaxRows || main.dtype != DataType::fp32) return {};
  const Ranges ranges;
  const int vec = load_vector(main);
  std::vector<GemvSimtConfig> space;
  auto consider = [&](const GemvSimtConfig& c) {
    if (!gemv_simt_rejection(main, limits, c)) space.push_back(c);
  };
  for (int block_m : block_m_choices(main.m))
    for (int warps : ranges.warps)
      for (int unroll : ranges.unroll)
        for (int splits : ranges.splits) {
          if (main.b_k_contiguous()) {
            for (int rows : ranges.rows_per_warp)
              consider({GemvLayout::rows, block_m, warps, rows, 0, unroll, vec, splits});
          } else {
            for (int columns : ranges.column_threads)
              consider({GemvLayout::columns, block_m, warps, 0, columns, unroll, vec, splits});
          }
        }
  std::stable_sort(space.begin(), space.end(), [&](const auto& x, const auto& y) {
    return gemv_simt_predicted_cost(main, limits, x) < gemv_simt_predicted_cost(main, limits, y);
  });
  return space;
}

double gemv_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemvSimtConfig& c) {
  // Rough H100/A100 figures, each relative to memory bandwidth (about 13 bytes per clock and SM):
  constexpr double kInFlightPerSm = 32 * 1024;  // bytes in flight that cover memory latency
  constexpr double kSmShareLimit = 2.5;         // an SM streams at most 2.5x its even share
  constexpr double kSharedPerDram = 10;         // shared-memory bandwidth, x memory's
  constexpr double kL2PerDram = 3;              // L2 bandwidth, x memory's
  constexpr double kBytesPerFma = 0.1;          // 128 FFMA per clock and SM
  constexpr double kStallBytes = 13 * 1000;     // one memory latency of an SM's share
  const double sms = limits.sm_count;
  const double m_tiles = static_cast<double>((main.m + c.block_m - 1) / c.block_m);
  const double blocks = static_cast<double>(block_count(main, c)) * c.splits;
  const double resident = blocks_per_sm(main, limits, c);
  const double b_bytes = 4.0 * static_cast<double>(main.n) * static_cast<double>(main.k) * m_tiles;

  // Streaming B: too few loads in flight leave bandwidth unused; too few blocks leave the
  // busiest SM to stream more than it can.
  const double in_flight =
      std::min(blocks, sms * resident) * c.threads() * c.loads_in_flight() * 4.0 * c.vec;
  const double efficiency = std::min(1.0, in_flight / (sms * kInFlightPerSm));
  const double busiest = std::ceil(blocks / sms) * b_bytes / blocks;
  const double memory = std::max(b_bytes / efficiency, busiest * sms / kSmShareLimit);
  // Reads of x from shared memory per byte of B: a float4 (or VEC) per row of x, shared by the
  // rows of W a warp streams together (rows); one broadcast word per row of x and load (columns).
  const double active = std::min(blocks, sms) / sms;
  const double shared_per_byte = c.layout == GemvLayout::rows
                                     ? static_cast<double>(c.block_m) / c.rows_per_warp
                                     : static_cast<double>(c.block_m) * 32 / (32 * c.vec);
  const double shared = b_bytes * shared_per_byte / kSharedPerDram / active;
  const double fma = b_bytes / 4 * c.block_m * kBytesPerFma / active;

  // Staging x: every chunk is read from L2 and costs its block a memory latency, which the
  // SM's other blocks hide in part; split-K writes and reads back its partial sums.
  const double chunks =
      std::ceil(static_cast<double>(k_steps_per_split(main, c) * c.k_step()) / x_chunk(main, c));
  const double staging =
      blocks * chunks * (4.0 * c.block_m * x_chunk(main, c) / kL2PerDram + kStallBytes / resident);
  const double split_k = c.splits > 1 ? blocks * 8.0 * partial_floats(c) / kL2PerDram : 0.0;
  return std::max({memory, shared, fma}) + staging + split_k;
}

}  // namespace fusetune
