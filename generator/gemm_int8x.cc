// The int8x GEMM family as one unit: its tunables and name, its source (the product, and the
// slicing passes that run before it), its launches and its search.
#include "generator/gemm_int8x.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <utility>

#include "generator/int8_slices.h"
#include "generator/int8_slicing.h"
#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "generator/tunables.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = Int8xGemmConfig;

// Where each region of the workspace starts: the TMA reads digits from 16-byte aligned rows.
constexpr std::uint64_t kAlignment = 1024;

std::uint64_t aligned(std::uint64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

std::int64_t tiles(const MainOp& main, const C& c) {
  return ((main.m + c.block_m - 1) / c.block_m) * ((main.n + c.block_n - 1) / c.block_n);
}

// The digit planes the product reads: each operand's slicing layout in the workspace.
std::vector<TensorMapSpec> digit_maps(const MainOp& main, const C& c) {
  TensorMapSpec a = int8x_digit_map(0, main.m, main.k, c);
  a.workspace_offset = slicing_layout(main.m, main.k, c.slices).digits;
  TensorMapSpec b = int8x_digit_map(1, main.n, main.k, c);
  b.workspace_offset =
      int8x_workspace(main, c.slices).b_base + slicing_layout(main.n, main.k, c.slices).digits;
  return {a, b};
}

LaunchGeometry launch(const Spec& spec, const C& c) {
  LaunchGeometry g;
  g.grid = launch_grid(std::min<std::int64_t>(tiles(spec.main, c), c.blocks));
  g.block = {static_cast<unsigned>(128 * (1 + c.consumers)), 1, 1};
  g.dynamic_smem_bytes = static_cast<unsigned>(int8x_gemm_smem_bytes(c));
  g.tensor_maps = digit_maps(spec.main, c);
  g.workspace_bytes = int8x_workspace(spec.main, c.slices).bytes;
  return g;
}

std::string config_head(const Spec& spec) {
  const MainOp& main = spec.main;
  return fmt::format(
      "  static constexpr int M = {}, N = {}, K = {}, PITCH = {};\n"
      "  static constexpr bool TRANSPOSED_A = {}, TRANSPOSED_B = {};\n",
      main.m, main.n, main.k, slicing_layout(1, main.k, 1).pitch, !main.a_k_contiguous(),
      !main.b_k_contiguous());
}

std::string config_tail(const Spec& spec, const C& c) {
  const EdgeGuards guards = edge_guards(spec.main, c.block_m, c.block_n, 1);
  return guard_constants(guards, false) + smem_constant(int8x_gemm_smem_bytes(c)) +
         fmt::format("  static constexpr int RUNS_ON = {};\n", c.runs_on) +
         int8x_wgmma_function(c.block_n);
}

// The product's call, for the Config struct named `config`.
std::string body_of(const Spec& spec, const C& c, std::string_view config) {
  const Int8xWorkspace w = int8x_workspace(spec.main, c.slices);
  return fmt::format(
      "  const char* bytes = reinterpret_cast<const char*>(workspace);\n"
      "  ft::gemm_wgmma_int8<{}>(&map0, &map1, {}, reinterpret_cast<const int*>(bytes + {}),\n"
      "                         reinterpret_cast<const int*>(bytes + {}), Epilogue{{args}},\n"
      "                         reinterpret_cast<const int*>(bytes + {}), args.tensors[0],\n"
      "                         args.tensors[1]);\n",
      config, output_pointer(spec.main),
      slicing_layout(spec.main.m, spec.main.k, c.slices).exponents,
      w.b_base + slicing_layout(spec.main.n, spec.main.k, c.slices).exponents, w.verdict);
}

std::string body(const Spec& spec, const C& c) { return body_of(spec, c, "Config"); }

// Where the guard finds that the pairs through c.through do not hold the tolerance but one more
// diagonal would (normal rows, whose largest value lies far above the typical one), the plan's
// second product computes them: tiles narrow enough for the further diagonal's accumulators.
// Empty where c already takes every pair or the deeper product cannot run the shape.
std::optional<C> deeper_product(const Spec& spec, const C& c) {
  if (c.through >= 2 * c.slices) return std::nullopt;
  const C deeper{.slices = c.slices,
                 .through = c.through + 1,
                 .block_m = 128,
                 .block_n = 64,
                 .block_k = 128,
                 .stages = 3,
                 .consumers = 2,
                 .blocks = c.blocks,
                 .runs_on = kInt8xVerdictDeeper};
  if (int8x_gemm_rejection(spec.main.m, spec.main.n, spec.main.k, deeper)) return std::nullopt;
  return deeper;
}

// The steps before the product: the slicing passes of x (tensors[0]) and the weight
// (tensors[1]), which measure what the digits leave of each row, then the guard, which judges
// from that whether the digits hold the accuracy on this launch's operands; and after it, where
// one more diagonal of digit pairs can, the deeper product.
void prepare(const Spec& spec, const C& c, KernelSource& source) {
  const MainOp& main = spec.main;
  const Int8xWorkspace w = int8x_workspace(main, c.slices);
  // An operand stored the other way ([K, M], [K, N]) is sliced by columns into the same digit
  // rows as its transposed copy would be: the product does not see how it was stored.
  const auto storage = [](bool k_contiguous) {
    return k_contiguous ? OperandStorage::rows : OperandStorage::columns;
  };
  const SlicingPass a = slicing_pass(source.name + "_slice_a", 0, main.m, main.k, c.slices,
                                     SliceMeasure::own_digits, 0, storage(main.a_k_contiguous()));
  const SlicingPass b =
      slicing_pass(source.name + "_slice_b", 1, main.n, main.k, c.slices, SliceMeasure::own_digits,
                   w.b_base, storage(main.b_k_contiguous()));
  const std::string judge = source.name + "_guard";
  const std::optional<C> deeper = deeper_product(spec, c);
  constexpr int kJudgeThreads = 256;
  source.code += fmt::format(
      "\n// The steps before the product: each operand's int8 digits and their statistics, then\n"
      "// the guard's verdict on them.\n{1}{2}\n"
      "struct {0}_shape {{\n"
      "  static constexpr long long A_ROWS = {3}, B_ROWS = {4};\n"
      "  static constexpr int SLICES = {5}, THROUGH = {6}, DEEPER = {13}, THREADS = {7};\n"
      "  static constexpr double TOLERANCE = {8}, MARGIN = {9};\n}};\n\n"
      "extern \"C\" __global__ void __launch_bounds__({7})\n"
      "{0}(const __grid_constant__ ft::LaunchArgs, float* __restrict__ workspace) {{\n"
      "  char* bytes = reinterpret_cast<char*>(workspace);\n"
      "  ft::judge_slices<{0}_shape>(reinterpret_cast<const double*>(bytes + {10}),\n"
      "                             reinterpret_cast<const double*>(bytes + {11}),\n"
      "                             reinterpret_cast<int*>(bytes + {12}));\n}}\n",
      judge, a.code, b.code, main.m, main.n, c.slices, c.through, kJudgeThreads,
      kInt8xGuardTolerance, kInt8xGuardMargin, slicing_layout(main.m, main.k, c.slices).statistics,
      w.b_base + slicing_layout(main.n, main.k, c.slices).statistics, w.verdict,
      deeper ? deeper->through : 0);
  KernelStep guard{.entry = judge, .launch = {}};
  guard.launch.block = {kJudgeThreads, 1, 1};
  source.finishing.preparing = {a.step, b.step, guard};
  source.finishing.preparing[0].prepares_tensor = 0;
  source.finishing.preparing[1].prepares_tensor = 1;
  source.finishing.verdict_offset = w.verdict;
  for (KernelStep& step : source.finishing.preparing) step.launch.workspace_bytes = w.bytes;
  if (!deeper) return;
  // After the product, which leaves such a launch to it: the same kernel shape, its own Config.
  const std::string entry = source.name + "_deeper";
  const KernelFamily<C>& family = family_of(c);
  source.code += fmt::format(
      "\n// The deeper product, which computes where the guard finds that the digit pairs through\n"
      "// {1} do not hold the tolerance and those through {2} do.\nnamespace {{\n"
      "struct DeeperConfig {{\n{3}{4}{5}}};\n}}  // namespace\n\n"
      "extern \"C\" __global__ void __launch_bounds__({6}, 1)\n"
      "{0}(const __grid_constant__ ft::LaunchArgs args, const __grid_constant__ ft::TensorMap "
      "map0,\n    const __grid_constant__ ft::TensorMap map1, float* __restrict__ workspace) {{\n"
      "{7}}}\n",
      entry, c.through, deeper->through, config_head(spec), tunable_constants(family, *deeper),
      config_tail(spec, *deeper), 128 * (1 + deeper->consumers),
      body_of(spec, *deeper, "DeeperConfig"));
  source.finishing.steps.push_back({.entry = entry, .launch = launch(spec, *deeper)});
}

}  // namespace

Int8xWorkspace int8x_workspace(const MainOp& main, int slices) {
  Int8xWorkspace w;
  w.b_base = aligned(slicing_layout(main.m, main.k, slices).bytes);
  w.verdict = w.b_base + aligned(slicing_layout(main.n, main.k, slices).bytes);
  w.bytes = w.verdict + kAlignment;
  return w;
}

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "gemm_int8x",
      .example = "ft_gemm_int8x_128x64_d3t4_c2_s3_p132",
      .precisions = std::span<const Precision>(kInt8xPrecisions),
      .tunables =
          {
              {"slices", &C::slices, "SLICES"},
              {"through", &C::through, "THROUGH", ConfigLine::joined},
              {"block_m", &C::block_m, "BM"},
              {"block_n", &C::block_n, "BN", ConfigLine::joined},
              {"block_k", &C::block_k, "BK", ConfigLine::joined},
              {"stages", &C::stages, "STAGES", ConfigLine::joined},
              {"consumers", &C::consumers, "CONSUMERS", ConfigLine::joined},
              {"blocks", &C::blocks},  // the grid, not in the Config
          },
      .name_parts =
          {
              number("", "BM", 4, field<&C::block_m>()),
              number("x", "BN", 4, field<&C::block_n>()),
              optional_number("x", "BK", 3, field<&C::block_k>(), 128),
              number("_d", "SLICES", 1, field<&C::slices>()),
              number("t", "THROUGH", 2, field<&C::through>()),
              number("_c", "CONSUMERS", 1, field<&C::consumers>()),
              number("_s", "STAGES", 2, field<&C::stages>()),
              number("_p", "BLOCKS", 4, field<&C::blocks>()),
          },
      .edge_guards = [](const MainOp& main,
                        const C& c) { return edge_guards(main, c.block_m, c.block_n, 1); },
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision) { return gemm_int8x_space(spec, limits); },
      .rejection = gemm_int8x_rejection,
      .spec_rejection = gemm_int8x_spec_rejection,
      .default_config = [](const Spec& spec, const DeviceLimits& limits,
                           Precision) -> std::optional<C> {
        const std::vector<C> space = gemm_int8x_space(spec, limits);
        if (space.empty()) return std::nullopt;
        return space.front();
      },
      .templates = {{"common.cuh", templates::common_cuh},
                    {"hopper.cuh", templates::hopper_cuh},
                    {"int8_slices.cuh", templates::int8_slices_cuh},
                    {"gemm_wgmma_int8.cuh", templates::gemm_wgmma_int8_cuh}},
      .config_head = config_head,
      .config_tail = config_tail,
      .body = body,
      .launch = launch,
      .arch_specific = true,
      .block_tile = [](const C& c) -> std::optional<std::array<int, 2>> {
        return std::array{c.block_m, c.block_n};
      },
      .preparing = prepare,
  };
  return family;
}

// ---- the search ----

std::optional<std::string> gemm_int8x_spec_rejection(const Spec& spec) {
  const MainOp& main = spec.main;
  if (main.is_conv()) return "int8x runs linear layers and matmuls";
  if (main.dtype != DataType::fp32) return "int8x splits fp32 operands";
  if (main.is_row_range()) return "int8x kernels are tuned for one row count";
  return std::nullopt;
}

std::optional<std::string> gemm_int8x_rejection(const Spec& spec, const DeviceLimits& limits,
                                                const C& c) {
  if (auto why = gemm_int8x_spec_rejection(spec)) return why;
  if (limits.arch != "sm_90") return "int8x runs on sm_90's warpgroup MMA";
  if (auto why = int8x_gemm_rejection(spec.main.m, spec.main.n, spec.main.k, c)) return why;
  // Each consumer thread holds a diagonal's accumulators per 64 rows: within the 232 registers
  // a consumer claims, with room for addressing.
  const int diagonals = c.through - 1;
  const int accumulators = diagonals * (c.block_m / c.consumers / 64) * c.block_n / 2;
  if (accumulators + 40 > 232)
    return fmt::format("{} accumulators per thread: more than a consumer's registers hold",
                       accumulators);
  if (c.blocks > tiles(spec.main, c) && c.blocks != limits.sm_count)
    return "more persistent blocks than tiles";
  return std::nullopt;
}

std::vector<C> gemm_int8x_space(const Spec& spec, const DeviceLimits& limits) {
  if (gemm_int8x_spec_rejection(spec)) return {};
  std::vector<std::pair<double, C>> ranked;
  for (int block_m : {128, 256})
    for (int block_n : {64, 96, 128, 160, 192, 224})
      for (int block_k : {128, 64})
        for (int stages : {2, 3, 4, 6})
          for (int through : {4, 5}) {
            C c{.slices = 3,
                .through = through,
                .block_m = block_m,
                .block_n = block_n,
                .block_k = block_k,
                .stages = stages,
                .consumers = 2,
                .blocks = limits.sm_count};
            if (gemm_int8x_rejection(spec, limits, c)) continue;
            // Tiles in waves of the SMs, each tile's digit products over its area; deeper
            // pipelines (in bytes of K ahead), larger tiles (fewer reads per product) and longer
            // k-tiles (fewer waits) first where equal.
            const double waves = std::ceil(static_cast<double>(tiles(spec.main, c)) / c.blocks);
            const double ahead = stages * block_k / 128.0;
            const double cost = waves * block_m * block_n * (through - 1) *
                                (1.0 + 64.0 / block_n + 64.0 / block_m) * (1.0 + 0.1 / ahead) *
                                (1.0 + 2.0 / block_k);
            ranked.emplace_back(cost, c);
          }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<C> space;
  for (const auto& [cost, c] : ranked)
    if (space.size() < kGemmInt8xSpaceSize) space.push_back(c);
  return space;
}

}  // namespace fusetune
