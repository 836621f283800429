// The tensor-core GEMM family's search (gemm_mma.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "generator/gemm_mma.h"

namespace fusetune {
namespace {

// The tunables' ranges. The space is their product, filtered by gemm_mma_rejection.
struct Ranges {
  std::vector<std::pair<int, int>> warps = {{1, 2}, {2, 1}, {2, 2}, {1, 4}, {4, 1}, {2, 4}, {4, 2}};
  std::vector<int> mma_tiles_m = {1, 2, 4};
  std::vector<int> mma_tiles_n = {2, 4, 8};
  // {BK, stages}: rows of 64 or 128 bytes per stage, for either element size.
  std::vector<std::pair<int, int>> bk_stages_fp32 = {{16, 3}, {16, 4}, {32, 2}, {32, 3}};
  std::vector<std::pair<int, int>> bk_stages_16bit = {{32, 3}, {32, 4}, {64, 2}, {64, 3}};
};

// The extents the operands are copied along: K for a k-contiguous operand, else its rows.
std::int64_t contiguous_extent_a(const MainOp& main) {
  return main.a_k_contiguous() ? main.k : main.m;
}
std::int64_t contiguous_extent_b(const MainOp& main) {
  return main.b_k_contiguous() ? main.k : main.n;
}

// Elements per copy: the widest cp.async (16, 8 or 4 bytes) whose elements the operand's
// contiguous extent divides into, so that no copy straddles the matrix edge. 16-bit data of
// an odd extent has none: 1, which the rejection refuses.
int copy_vector(std::int64_t contiguous_extent, DataType type) {
  for (int bytes : {16, 8, 4})
    if (const int vec = bytes / element_bytes(type); contiguous_extent % vec == 0) return vec;
  return 1;
}

int vector_a(const MainOp& main) { return copy_vector(contiguous_extent_a(main), main.dtype); }
int vector_b(const MainOp& main) { return copy_vector(contiguous_extent_b(main), main.dtype); }

// The k of one MMA instruction: m16n8k8 for TF32, m16n8k16 for bf16 and fp16.
int mma_k(DataType type) { return type == DataType::fp32 ? 8 : 16; }

std::int64_t next_power_of_two(std::int64_t x) {
  std::int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// Accumulators (doubled for 3xTF32, which promotes a stage's partial sums), the fragments
// (doubled for 3xTF32's small parts), addresses and indices.
int estimated_registers(const GemmMmaConfig& c) {
  const int copies = c.passes == 3 ? 2 : 1;
  const int fragments = (4 * c.mma_tiles_m + 2 * c.mma_tiles_n) * copies;
  return 4 * c.mma_tiles_m * c.mma_tiles_n * copies + fragments + 40;
}

bool is_large(const MainOp& main, const DeviceLimits& limits) {
  return main.m * main.n >= static_cast<std::int64_t>(limits.sm_count) * 128 * 128 * 2;
}

int blocks_per_sm(const MainOp& main, const DeviceLimits& limits, const GemmMmaConfig& c) {
  const int registers = (estimated_registers(c) + 7) / 8 * 8;
  const int by_threads = limits.max_threads_per_sm / c.threads();
  const int by_registers = limits.regs_per_sm / (registers * c.threads());
  const int by_smem = limits.smem_per_sm / std::max(1, c.smem_bytes(main) + 1024);
  return std::max(1, std::min({by_threads, by_registers, by_smem, limits.max_blocks_per_sm}));
}

}  // namespace

std::optional<std::string> gemm_mma_rejection(const MainOp& main, const DeviceLimits& limits,
                                              const GemmMmaConfig& c) {
  const int tiles = c.mma_tiles_m * c.mma_tiles_n;
  if (c.dtype != main.dtype)
    return fmt::format("a kernel for {} inputs cannot read the spec's {}", to_string(c.dtype),
                       to_string(main.dtype));
  if (c.dtype != DataType::fp32) {
    if (c.passes != 1) return "16-bit inputs take one pass";
    for (auto [operand, extent] :
         {std::pair{"A", contiguous_extent_a(main)}, std::pair{"B", contiguous_extent_b(main)}})
      if (extent % 2)
        return fmt::format(
            "16-bit operands need an even contiguous extent (K for linear; M or N for an "
            "operand stored [K, M] or [K, N]): cp.async copies 4 bytes or more, and {}'s "
            "extent is {}",
            operand, extent);
    if (c.mma_tiles_n % 2) return "ldmatrix loads the B fragments of two MMA tiles at once";
  }
  if (c.passes != 1 && c.passes != 3) return "TF32 takes one pass and 3xTF32 three";
  if (c.threads() < 64 || c.threads() > 256) return "blocks have 64 to 256 threads";
  if (c.bk < mma_k(c.dtype) || c.bk % mma_k(c.dtype) || c.stages < 2)
    return fmt::format("BK is a multiple of {} (the MMA's k) and the pipeline has 2+ stages",
                       mma_k(c.dtype));
  if (tiles < (is_large(main, limits) ? 8 : 2))
    return "a problem this large is faster with at least 8 MMA tiles per warp";
  if (c.block_m() < 32 || c.block_m() > 256 || c.block_n() < 32 || c.block_n() > 256)
    return "block tiles are 32 to 256 along M and N";
  if (c.block_m() > std::max<std::int64_t>(32, next_power_of_two(main.m)) ||
      c.block_n() > std::max<std::int64_t>(32, next_power_of_two(main.n)))
    return "a block tile more than twice the matrix wastes most of its work";
  if (c.vec_a != vector_a(main) || c.vec_b != vector_b(main))
    return "operands are copied in the widest vectors their contiguous extent allows";
  if (c.smem_bytes(main) > limits.max_smem_per_block)
    return "too much shared memory for the device";
  if (estimated_registers(c) > 255) return "needs more than 255 registers per thread";
  if (block_count(main, c) > 0x7fffffff) return "more output tiles than a grid can have";
  return std::nullopt;
}

std::vector<GemmMmaConfig> gemm_mma_space(const MainOp& main, const DeviceLimits& limits,
                                          Precision precision) {
  std::vector<GemmMmaConfig> space;
  if (precision == Precision::fp32 || input_type(precision) != main.dtype) return space;
  const Ranges ranges;
  const int passes = precision == Precision::tf32x3 ? 3 : 1;
  for (auto [warps_m, warps_n] : ranges.warps)
    for (int tiles_m : ranges.mma_tiles_m)
      for (int tiles_n : ranges.mma_tiles_n)
        for (auto [bk, stages] :
             main.dtype == DataType::fp32 ? ranges.bk_stages_fp32 : ranges.bk_stages_16bit) {
          const GemmMmaConfig c{warps_m, warps_n, tiles_m,        tiles_n,        bk,
                                stages,  passes,  vector_a(main), vector_b(main), main.dtype};
          if (!gemm_mma_rejection(main, limits, c)) space.push_back(c);
        }
  std::stable_sort(space.begin(), space.end(), [&](const auto& x, const auto& y) {
    return gemm_mma_predicted_cost(main, limits, x) < gemm_mma_predicted_cost(main, limits, y);
  });
  return space;
}

double gemm_mma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                               const GemmMmaConfig& c) {
  // A warp loads 4·TM + 2·TN fragment words per lane and k-step for TM·TN MMAs (of either
  // element size: a 16-bit MMA does twice the work at twice the rate); below one MMA per word
  // the shared-memory loads, not the tensor cores, set the pace.
  const double mma_per_word =
      static_cast<double>(c.mma_tiles_m * c.mma_tiles_n) / (4 * c.mma_tiles_m + 2 * c.mma_tiles_n);
  double efficiency = std::min(1.0, mma_per_word);
  const int resident = blocks_per_sm(main, limits, c);
  const int warps_per_sm = resident * c.threads() / 32;
  if (warps_per_sm < 8) efficiency *= warps_per_sm / 8.0;
  const std::int64_t per_wave = static_cast<std::int64_t>(limits.sm_count) * resident;
  const double waves = std::ceil(static_cast<double>(block_count(main, c)) / per_wave);
  const double k_padded = std::ceil(static_cast<double>(main.k) / c.bk) * c.bk;
  return waves * resident * c.block_m() * c.block_n() * k_padded / efficiency;
}

GemmMmaConfig gemm_mma_default(const MainOp& main, const DeviceLimits& limits,
                               Precision precision) {
  const std::vector<GemmMmaConfig> space = gemm_mma_space(main, limits, precision);
  if (!space.empty()) return space.front();
  // For shapes outside every constraint: small tiles, valid for any shape the parser accepts
  // (but 16-bit operands of an odd contiguous extent, which no configuration can copy).
  return GemmMmaConfig{.warps_m = 2,
                       .warps_n = 1,
                       .mma_tiles_m = 1,
                       .mma_tiles_n = 4,
                       .bk = 2 * mma_k(input_type(precision)),
                       .stages = 3,
                       .passes = precision == Precision::tf32x3 ? 3 : 1,
                       .vec_a = vector_a(main),
                       .vec_b = vector_b(main),
                       .dtype = input_type(precision)};
}

}  // namespace fusetune
