// The implicit-GEMM convolution family's search (conv_mma.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "fusetune/status.h"
#include "generator/conv_mma.h"

namespace fusetune {
namespace {

// The tunables' ranges. The space is their product, filtered by conv_mma_rejection.
struct Ranges {
  std::vector<std::pair<int, int>> warps = {{1, 2}, {2, 1}, {2, 2}, {1, 4}, {4, 1}, {2, 4}, {4, 2}};
  std::vector<int> mma_tiles_m = {1, 2, 4};
  std::vector<int> mma_tiles_n = {1, 2, 4, 8};
  std::vector<std::pair<int, int>> bk_stages = {{16, 3}, {16, 4}, {32, 2}, {32, 3}};
  // Warpgroup MMA (sm_90): warps along M, channels per block (8 each), stages of 32-deep k.
  std::vector<int> wgmma_warps_m = {4, 8};
  std::vector<int> wgmma_tiles_n = {4, 8, 16};
  std::vector<int> wgmma_stages = {2, 3, 4};
};

// Floats per copy of the weight: 16, 8 or 4 bytes, the widest whose floats divide K, so that no
// copy straddles the end of a row; a transposed convolution's weight is gathered a float at a
// time.
int vector_b(const Spec& spec) {
  const ConvGemm gemm = conv_gemm(spec);
  if (spec.main.is_transposed_conv()) return 1;
  for (int vec : {4, 2})
    if (gemm.k % vec == 0) return vec;
  return 1;
}

std::int64_t next_power_of_two(std::int64_t x) {
  std::int64_t p = 1;
  while (p < x) p *= 2;
  return p;
}

// Accumulators and fragments (both doubled for 3xTF32: a stage's partial sums, the small
// parts), the A gather's positions (4 each) and columns (their (c, tap), and the offsets the
// unrolled copies keep live: 4 each), addresses and indices. Calibrated on NVRTC 13's counts:
// the configurations this puts over 255 are those that spilled.
// A pool step keeps each cell's pooled values beside the accumulators, and cells with several
// elements their coordinates, the element's taps and each column's tap in three coordinates.
int estimated_registers(const Spec& spec, const ConvMmaConfig& c) {
  const int copies = c.passes == 3 ? 2 : 1;
  // Warpgroup MMA keeps A's fragments of a whole stage (two stages' when overlapped), no B's.
  const int fragments = c.wgmma ? 4 * (c.bk / 8) * copies * c.wgmma
                                : (4 * c.mma_tiles_m + 2 * c.mma_tiles_n) * copies;
  const bool cells = conv_gemm(spec).depths.size() > 1;
  const int pooled = spec.first_pool() ? 4 * c.mma_tiles_m * c.mma_tiles_n : 0;
  return 4 * c.mma_tiles_m * c.mma_tiles_n * copies + fragments + 4 * c.a_rows() +
         4 * c.a_columns() + 40 + pooled + (cells ? 3 * c.a_rows() + 2 * c.a_columns() + 12 : 0);
}

int blocks_per_sm(const Spec& spec, const DeviceLimits& limits, const ConvMmaConfig& c) {
  const int registers = (estimated_registers(spec, c) + 7) / 8 * 8;
  const int by_threads = limits.max_threads_per_sm / c.threads();
  const int by_registers = limits.regs_per_sm / (registers * c.threads());
  const int by_smem = limits.smem_per_sm / std::max(1, c.smem_bytes() + 1024);
  return std::max(1, std::min({by_threads, by_registers, by_smem, limits.max_blocks_per_sm}));
}

}  // namespace

std::optional<std::string> conv_mma_spec_rejection(const Spec& spec) {
  const MainOp& main = spec.main;
  if (!main.is_conv()) return "conv_mma runs convolutions only";
  if (main.is_transposed_conv() && std::any_of(main.conv.dilation.begin(), main.conv.dilation.end(),
                                               [](int d) { return d != 1; }))
    return fmt::format(
        "conv_mma runs {} without dilation only; the direct family runs it (--precision fp32)",
        main_op_name(main.kind));
  if (spec.first_pool() && !conv_mma_fuses_pool(spec))
    return "conv_mma pools only max and average pool steps whose windows start on one output "
           "phase; a plan's finishing kernels pool after it";
  const ConvGemm gemm = conv_gemm(spec);
  if (std::find(gemm.depths.begin(), gemm.depths.end(), 0) != gemm.depths.end())
    return fmt::format(
        "an output phase of {} meets no tap (a stride beyond the kernel); the "
        "direct family runs it (--precision fp32)",
        main_op_name(main.kind));
  if (main.dtype != DataType::fp32) return "conv_mma reads fp32 tensors";
  // conv_mma.cuh marks rows past M with an input origin of -2^30, which stays negative (outside
  // the input) only while an extent is below 2^29.
  for (std::int64_t extent : main.conv.size)
    if (extent >= (std::int64_t{1} << 29))
      return "conv_mma takes input extents below 2^29 (536870912); the direct family runs "
             "larger ones (--precision fp32)";
  return std::nullopt;
}

std::optional<std::string> conv_mma_rejection(const Spec& spec, const DeviceLimits& limits,
                                              const ConvMmaConfig& c) {
  if (auto why = conv_mma_spec_rejection(spec)) return why;
  const ConvGemm gemm = conv_gemm(spec);
  if (c.passes != 1 && c.passes != 3) return "TF32 takes one pass and 3xTF32 three";
  if (c.wgmma < 0 || c.wgmma > 2)
    return "wgmma is 0 (mma.sync), 1 (warpgroup MMA) or 2 (warpgroup MMA, the next stage "
           "prepared while the tensor cores multiply)";
  if (c.wgmma && limits.arch != "sm_90") return "warpgroup MMA runs on sm_90";
  if (c.wgmma && (c.warps_n != 1 || c.mma_tiles_m != 1 || c.warps_m % 4 != 0))
    return "warpgroup MMA takes whole warpgroups along M (4 or 8 warps), one 16-row tile a "
           "warp, and one warp along N";
  if (c.wgmma && c.bk != 32) return "warpgroup MMA reads k-tiles of 32 floats (128-byte rows)";
  if (c.wgmma && c.block_n() > 128)
    return "warpgroup MMA keeps a k-tile's sums beside the accumulators: at most 128 channels";
  if (c.threads() < 64 || c.threads() > 256) return "blocks have 64 to 256 threads";
  if (c.bk < 8 || c.bk % 8 != 0 || c.stages < 2 || c.stages > 4)
    return "BK is a multiple of 8 (the MMA's k) and the pipeline has 2 to 4 stages";
  if (c.block_m() < 32 || c.block_m() > 256 || c.block_n() < 8 || c.block_n() > 256)
    return "block tiles are 32 to 256 positions by 8 to 256 channels";
  if (c.block_m() > std::max<std::int64_t>(32, next_power_of_two(gemm.m)) ||
      c.block_n() > std::max<std::int64_t>(8, next_power_of_two(gemm.n)))
    return fmt::format(
        "a {}x{} block tile is more than twice the GEMM of {} positions by {} channels",
        c.block_m(), c.block_n(), gemm.m, gemm.n);
  if (c.a_columns() == 0)
    return fmt::format("the {}x{} A copies of a stage do not split evenly over {} threads",
                       c.block_m(), c.bk, c.threads());
  // Many channels leave room for wide warp tiles; with few, a block's N covers them anyway.
  const bool large =
      gemm.m * gemm.n * gemm.groups >= static_cast<std::int64_t>(limits.sm_count) * 128 * 128 * 2;
  if (large && gemm.n >= 64 && c.mma_tiles_m * c.mma_tiles_n < 8)
    return "a problem this large is faster with at least 8 MMA tiles per warp";
  if (c.vec_b != vector_b(spec))
    return fmt::format("the weight is copied in the widest vectors C/groups·taps = {} allows ({})",
                       gemm.k, vector_b(spec));
  if (spec.main.is_transposed_conv() &&
      (c.threads() % c.bk != 0 || (c.block_n() * c.bk) % c.threads() != 0))
    return fmt::format(
        "the {}x{} gathered weight copies of a stage do not split evenly over {} "
        "threads",
        c.block_n(), c.bk, c.threads());
  if (c.smem_bytes() > limits.max_smem_per_block)
    return fmt::format("{} bytes of shared memory; the device allows {}", c.smem_bytes(),
                       limits.max_smem_per_block);
  if (estimated_registers(spec, c) > 255) return "needs more than 255 registers per thread";
  if (conv_mma_block_count(spec, c) > 0x7fffffff) return "more blocks than a grid holds";
  return std::nullopt;
}

double conv_mma_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                               const ConvMmaConfig& c) {
  const ConvGemm gemm = conv_gemm(spec);
  // As gemm_mma: a warp loads 4·TM + 2·TN fragment words per lane and k-step for TM·TN MMAs;
  // under warpgroup MMA the tensor cores read B themselves, at twice mma.sync's TF32 rate (an
  // assumption until measured: the engines are ranked apart and take turns, so it decides only
  // which goes first in each turn), but each stage costs a pass over B and a second barrier.
  const int b_words = c.wgmma ? 0 : 2 * c.mma_tiles_n;
  const double mma_per_word =
      static_cast<double>(c.mma_tiles_m * c.mma_tiles_n) / (4 * c.mma_tiles_m + b_words);
  double efficiency = std::min(1.0, mma_per_word) * (c.wgmma ? 2.0 : 1.0);
  const int resident = blocks_per_sm(spec, limits, c);
  const int warps_per_sm = resident * c.threads() / 32;
  if (warps_per_sm < 8) efficiency *= warps_per_sm / 8.0;
  // The gather: per stage a thread spends ~12 instructions on each k-column and ~6 on each
  // copy; against the warp's MMAs at ~8 issue slots each, the share of issue it takes.
  const double gather = c.a_columns() * (12.0 + 6.0 * c.a_rows());
  const double mmas = static_cast<double>(c.mma_tiles_m) * c.mma_tiles_n * (c.bk / 8) * c.passes;
  // The pass over B, unless overlapped with the tensor cores' work (WGMMA 2).
  const double b_pass = c.wgmma == 1 ? 4.0 * c.block_n() * c.bk / c.threads() : 0.0;
  efficiency /= 1.0 + (gather + b_pass) / (8.0 * mmas);
  const std::int64_t per_wave = static_cast<std::int64_t>(limits.sm_count) * resident;
  const double waves = std::ceil(static_cast<double>(conv_mma_block_count(spec, c)) / per_wave);
  double k_padded = 0;  // over a cell's elements
  for (std::int64_t depth : gemm.depths)
    k_padded += std::ceil(static_cast<double>(depth) / c.bk) * c.bk;
  return waves * resident * c.block_m() * c.block_n() * k_padded / efficiency;
}

std::vector<ConvMmaConfig> conv_mma_space(const Spec& spec, const DeviceLimits& limits,
                                          Precision precision) {
  if (precision != Precision::tf32 && precision != Precision::tf32x3) return {};
  if (conv_mma_spec_rejection(spec)) return {};
  const Ranges r;
  const int passes = precision == Precision::tf32x3 ? 3 : 1;
  const int vec = vector_b(spec);
  std::vector<std::pair<double, ConvMmaConfig>> ranked;
  for (auto [warps_m, warps_n] : r.warps)
    for (int tiles_m : r.mma_tiles_m)
      for (int tiles_n : r.mma_tiles_n)
        for (auto [bk, stages] : r.bk_stages) {
          const ConvMmaConfig c{warps_m, warps_n, tiles_m, tiles_n, bk, stages, passes, vec};
          if (conv_mma_rejection(spec, limits, c)) continue;
          ranked.emplace_back(conv_mma_predicted_cost(spec, limits, c), c);
        }
  // Warpgroup MMA on sm_90, ranked apart: the two engines take turns in the space, so that a
  // model's error between them leaves each its best configurations.
  std::vector<std::pair<double, ConvMmaConfig>> ranked_wgmma;
  for (int engine : {1, 2})
    for (int warps_m : r.wgmma_warps_m)
      for (int tiles_n : r.wgmma_tiles_n)
        for (int stages : r.wgmma_stages) {
          const ConvMmaConfig c{warps_m, 1, 1, tiles_n, 32, stages, passes, vec, engine};
          if (conv_mma_rejection(spec, limits, c)) continue;
          ranked_wgmma.emplace_back(conv_mma_predicted_cost(spec, limits, c), c);
        }
  const auto by_cost = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(ranked.begin(), ranked.end(), by_cost);
  std::stable_sort(ranked_wgmma.begin(), ranked_wgmma.end(), by_cost);
  std::vector<ConvMmaConfig> space;
  for (std::size_t i = 0;
       space.size() < kConvMmaSpaceSize && (i < ranked.size() || i < ranked_wgmma.size()); ++i) {
    // The cheaper of the two i-th first.
    const bool wgmma_first =
        i < ranked_wgmma.size() && (i >= ranked.size() || ranked_wgmma[i].first < ranked[i].first);
    for (int turn = 0; turn < 2 && space.size() < kConvMmaSpaceSize; ++turn) {
      const bool take_wgmma = (turn == 0) == wgmma_first;
      const auto& list = take_wgmma ? ranked_wgmma : ranked;
      if (i < list.size()) space.push_back(list[i].second);
    }
  }
  return space;
}

ConvMmaConfig conv_mma_default(const Spec& spec, const DeviceLimits& limits, Precision precision) {
  const std::vector<ConvMmaConfig> space = conv_mma_space(spec, limits, precision);
  if (!space.empty()) return space.front();
  // Say why the plainest configuration cannot run it.
  const ConvMmaConfig plain{
      2, 1, 1, 1, 16, 3, precision == Precision::tf32x3 ? 3 : 1, vector_b(spec)};
  const std::optional<std::string> why = conv_mma_rejection(spec, limits, plain);
  throw Error(
      StatusCode::invalid_argument,
      fmt::format("no tensor-core convolution kernel can run '{}' at precision {} on {}: {}",
                  spec.canonical(), to_string(precision), limits.arch,
                  why.value_or("every configuration is ruled out")));
}

}  // namespace fusetune
