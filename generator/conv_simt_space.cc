// The direct-convolution family's search (conv_simt.h): its rules, cost model and space.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "fusetune/status.h"
#include "generator/conv_simt.h"

namespace fusetune {
namespace {

constexpr std::string_view kAxes = "dhw";

// The tunables' ranges; CI_CHUNK is derived (the most input channels whose weights fit
// kWeightStageBytes).
struct Ranges {
  std::vector<int> co_block = {8, 16, 32, 64};
  std::vector<int> co_thread = {4, 8, 16};
  std::vector<int> threads_d = {1, 2, 4};
  std::vector<int> threads_h = {1, 2, 4, 8};
  std::vector<int> threads_w = {8, 16, 32};
  std::vector<int> cells_d = {1, 2};
  std::vector<int> cells_h = {1, 2, 4};
  std::vector<int> cells_w = {1, 2, 4};
};
constexpr int kWeightStageBytes = 96 * 1024;
constexpr int kMaxCellValues = 64;  // cells x CO_THREAD accumulators per thread
constexpr std::int64_t kMaxUnrolledFmas = 16384;

// Taps an element meets, summed over a cell's elements: along one axis, the pairs (element,
// tap) that reach an input; the product over the axes is the cell's total.
int axis_tap_pairs(const MainOp& main, const CellAxis& axis, int a) {
  if (!main.is_transposed_conv()) return axis.extent * main.conv.kernel[a];
  int pairs = 0;
  for (int e = 0; e < axis.extent; ++e)
    for (int t = 0; t < main.conv.kernel[a]; ++t) {
      const int numerator = e - axis.offset + main.conv.padding[a] - t * main.conv.dilation[a];
      const int stride = main.conv.stride[a];
      if (((numerator % stride) + stride) % stride == 0) ++pairs;
    }
  return pairs;
}

std::int64_t cell_tap_pairs(const Spec& spec) {
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  std::int64_t pairs = 1;
  for (int a = 0; a < 3; ++a) pairs *= axis_tap_pairs(spec.main, cells[a], a);
  return pairs;
}

// The most input channels of a group, dividing their count, whose weights fit
// kWeightStageBytes. The search starts at the most that fit, not at the count: from a billion
// channels it would walk down through all of them for every configuration.
int ci_chunk_for(const MainOp& main, int co_block) {
  const ConvGeometry& g = main.conv;
  const std::int64_t channels = g.in_channels / g.groups;
  const std::int64_t fitting = kWeightStageBytes / (g.taps() * co_block * 4);
  for (std::int64_t chunk = std::min(channels, fitting); chunk >= 1; --chunk)
    if (channels % chunk == 0) return static_cast<int>(chunk);
  return 1;
}

// Fitted to ptxas on the problems of compile_space_test (an upper bound there): three
// registers per accumulated value (accumulators, pooled values, operands kept across unrolled
// taps), twelve per cell (its input origins and bounds), 48 besides.
int estimated_registers(const ConvSimtConfig& c) {
  return 3 * c.cells_per_thread() * c.co_thread + 12 * c.cells_per_thread() + 48;
}

}  // namespace

std::optional<std::string> conv_simt_rejection(const Spec& spec, const DeviceLimits& limits,
                                               const ConvSimtConfig& c) {
  const MainOp& main = spec.main;
  if (!main.is_conv()) return "conv_simt runs convolutions only";
  if (main.dtype != DataType::fp32) return "conv_simt reads fp32 tensors";
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  if (main.is_transposed_conv()) {
    for (int a = 0; a < 3; ++a)
      if (cells[a].stride % main.conv.stride[a] != 0)
        return fmt::format(
            "the pool stride along {} ({}) is not a multiple of the convolution's stride ({}): "
            "pooling windows would start on different output phases",
            kAxes[a], cells[a].stride, main.conv.stride[a]);
  }
  if (c.co_thread != 4 && c.co_thread != 8 && c.co_thread != 16) return "CO_THREAD is 4, 8 or 16";
  if (c.co_block % c.co_thread != 0) return "CO_THREAD divides CO_BLOCK";
  const std::int64_t group_channels = main.conv.out_channels / main.conv.groups;
  if (c.co_block > c.co_thread && c.co_block >= 2 * group_channels)
    return fmt::format("a block of {} output channels leaves most idle in a group of {}",
                       c.co_block, group_channels);
  if (c.spatial_threads() % 32 != 0)
    return "the spatial threads are a multiple of 32: a warp's lanes share their channels";
  if (c.block_threads() > 1024) return fmt::format("{} threads per block", c.block_threads());
  // Most of a block idle along an axis, where a narrower layout exists (an output narrower
  // than the fewest threads an axis takes keeps the narrowest).
  const Ranges ranges;
  const std::array<int, 3> fewest = {ranges.threads_d.front(), ranges.threads_h.front(),
                                     ranges.threads_w.front()};
  for (int a = 0; a < 3; ++a) {
    const std::int64_t span = std::int64_t{c.threads[a]} * c.cells[a];
    const bool narrower = c.cells[a] > 1 || c.threads[a] > fewest[a];
    if (span > 1 && span >= 2 * cells[a].count && narrower)
      return fmt::format("{} cells per block along {} where the output has {}", span, kAxes[a],
                         cells[a].count);
  }
  const std::int64_t channels = main.conv.in_channels / main.conv.groups;
  if (c.ci_chunk < 1 || channels % c.ci_chunk != 0)
    return fmt::format("CI_CHUNK {} does not divide the {} input channels of a group", c.ci_chunk,
                       channels);
  if (conv_simt_smem_bytes(main, c) > limits.max_smem_per_block)
    return fmt::format("{} bytes of staged weights; the device allows {}",
                       conv_simt_smem_bytes(main, c), limits.max_smem_per_block);
  if (c.cells_per_thread() * c.co_thread > kMaxCellValues)
    return fmt::format("{} accumulators per thread spill registers",
                       c.cells_per_thread() * c.co_thread);
  // One block must fit an SM's registers (what __launch_bounds__ caps each thread at).
  const int register_cap = std::min(255, limits.regs_per_sm / c.block_threads());
  if (estimated_registers(c) > register_cap)
    return fmt::format("about {} registers per thread; {} threads per block get {}",
                       estimated_registers(c), c.block_threads(), register_cap);
  // A transposed convolution unrolls every element of a cell, a plain one one element's taps.
  const std::int64_t unrolled_taps =
      main.is_transposed_conv() ? cell_tap_pairs(spec) : main.conv.taps();
  if (unrolled_taps * c.cells_per_thread() * c.co_thread > kMaxUnrolledFmas)
    return "the unrolled loop over taps and cells would be too long to compile quickly";
  if (conv_simt_block_count(spec, c) >= (std::int64_t{1} << 31))
    return "more blocks than a grid holds";
  if (spec.first_pool() && spec.first_pool()->kind == PoolKind::global_avg &&
      c.co_block / 4 > c.block_threads())
    return "global average pooling gathers four channels per thread";
  return std::nullopt;
}

double conv_simt_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                                const ConvSimtConfig& c) {
  const MainOp& main = spec.main;
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  // Per thread and input channel: FMAs, and load wavefronts (inputs per lane, weights shared).
  const double pairs = static_cast<double>(cell_tap_pairs(spec));
  const double fmas = pairs * c.cells_per_thread() * c.co_thread;
  // Lanes along w read inputs `distance` floats apart; lanes of other rows read other lines.
  const double distance = main.is_transposed_conv()
                              ? cells[2].stride / main.conv.stride[2]
                              : static_cast<double>(cells[2].stride) * main.conv.stride[2];
  const double lanes_w = std::min(32, c.threads[2]);
  const double lines = (32.0 / lanes_w) * std::ceil(lanes_w * std::max(distance, 1.0) * 4 / 128);
  const double wavefronts = pairs * (c.cells_per_thread() * lines + c.co_thread / 4.0);
  const double efficiency = fmas / std::max(fmas, 4.0 * wavefronts);
  // Occupancy and waves.
  const int registers = std::min(255, estimated_registers(c));
  const int by_threads = limits.max_threads_per_sm / c.block_threads();
  const int by_registers = limits.regs_per_sm / (registers * c.block_threads());
  const int by_smem = limits.smem_per_sm / std::max(1, conv_simt_smem_bytes(main, c) + 1024);
  const int per_sm = std::max(1, std::min({by_threads, by_registers, by_smem}));
  const double warps = static_cast<double>(per_sm) * c.block_threads() / 32;
  const double latency_hiding = std::min(1.0, warps / 16.0);
  const double blocks = static_cast<double>(conv_simt_block_count(spec, c));
  const double waves = std::ceil(blocks / (limits.sm_count * per_sm));
  const double channels = static_cast<double>(main.conv.in_channels / main.conv.groups);
  return waves * per_sm * c.block_threads() * fmas * channels / (efficiency * latency_hiding);
}

std::vector<ConvSimtConfig> conv_simt_space(const Spec& spec, const DeviceLimits& limits) {
  if (!spec.main.is_conv()) return {};
  const Ranges r;
  std::vector<std::pair<double, ConvSimtConfig>> ranked;
  for (int co_block : r.co_block)
    for (int co_thread : r.co_thread)
      for (int td : r.threads_d)
        for (int th : r.threads_h)
          for (int tw : r.threads_w)
            for (int cd : r.cells_d)
              for (int ch : r.cells_h)
                for (int cw : r.cells_w) {
                  ConvSimtConfig c{co_block,
                                   co_thread,
                                   {td, th, tw},
                                   {cd, ch, cw},
                                   ci_chunk_for(spec.main, co_block)};
                  if (c.spatial_threads() > 256 || c.cells_per_thread() > 8) continue;
                  if (conv_simt_rejection(spec, limits, c)) continue;
                  ranked.emplace_back(conv_simt_predicted_cost(spec, limits, c), c);
                }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // The model is rough: each block width keeps its own best share, so that a sweep measures
  // every one of them.
  const std::size_t share = kConvSimtSpaceSize / r.co_block.size();
  std::map<int, std::size_t> kept;
  std::vector<ConvSimtConfig> space;
  for (const auto& [cost, c] : ranked)
    if (kept[c.co_block]++ < share) space.push_back(c);
  return space;
}

ConvSimtConfig conv_simt_default(const Spec& spec, const DeviceLimits& limits) {
  const std::vector<ConvSimtConfig> space = conv_simt_space(spec, limits);
  if (!space.empty()) return space.front();
  // Say why the plainest configuration cannot run it.
  const ConvSimtConfig plain{8, 4, {1, 4, 8}, {1, 1, 1}, ci_chunk_for(spec.main, 8)};
  const std::optional<std::string> why = conv_simt_rejection(spec, limits, plain);
  throw Error(StatusCode::invalid_argument,
              fmt::format("no convolution kernel can run '{}' on {}: {}", spec.canonical(),
                          limits.arch, why.value_or("every configuration is ruled out")));
}

}  // namespace fusetune
