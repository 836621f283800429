// The direct-convolution family as one unit: its tunables table and name, the parts of its
// emitted source, and the cells and launches that cover a spec's output.
#include "generator/conv_simt.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = ConvSimtConfig;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::optional<std::string> resolve_name(C& c, std::span<const int>) {
  if (c.co_thread == 0 || c.co_block % c.co_thread != 0 || c.co_thread % 4 != 0)
    return "CO_THREAD is a multiple of 4 that divides CO_BLOCK";
  for (int a = 0; a < 3; ++a)
    if (c.threads[a] == 0 || c.cells[a] == 0)
      return "every axis has at least one thread and one cell per thread";
  return std::nullopt;
}

std::string body(const Spec& spec, const C& c) {
  return fmt::format(
      "  ft::conv_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}});\n",
      conv_simt_workspace_bytes(spec, c) > 0 ? "workspace" : "nullptr");
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "conv_simt",
      .example = "ft_conv_simt_co32x8_t1x4x32_c1x1x2_ci16",
      .runs_convolutions = true,
      .precisions = kFp32Only,
      .fuses_pool = [](const Spec&) { return true; },
      // One channel block of one channel group per thread, the group's every channel in it.
      .holds_channels =
          [](const Spec& spec, const C& c) {
            const ConvGeometry& g = spec.main.conv;
            return g.groups == 1 && c.co_block == c.co_thread && c.co_thread >= g.out_channels;
          },
      .tunables =
          {
              {"co_block", &C::co_block, "CO_BLOCK"},
              {"co_thread", &C::co_thread, "CO_THREAD", ConfigLine::joined},
              {"ci_chunk", &C::ci_chunk, "CI_CHUNK", ConfigLine::joined},
              {"threads", &C::threads, "THREADS"},
              {"cells", &C::cells, "CELLS"},
          },
      .name_parts =
          {
              number("co", "CO_BLOCK", 3, field<&C::co_block>()),
              number("x", "CO_THREAD", 3, field<&C::co_thread>()),
              number("_t", "D", 3, element<&C::threads, 0>()),
              number("x", "H", 3, element<&C::threads, 1>()),
              number("x", "W", 3, element<&C::threads, 2>()),
              number("_c", "D", 2, element<&C::cells, 0>()),
              number("x", "H", 2, element<&C::cells, 1>()),
              number("x", "W", 2, element<&C::cells, 2>()),
              number("_ci", "CI_CHUNK", 4, field<&C::ci_chunk>()),
          },
      .resolve_name = resolve_name,
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision) { return conv_simt_space(spec, limits); },
      .rejection = conv_simt_rejection,
      .default_config = [](const Spec& spec, const DeviceLimits& limits, Precision)
          -> std::optional<C> { return conv_simt_default(spec, limits); },
      .templates = {{"common.cuh", templates::common_cuh},
                    {"split_k.cuh", templates::split_k_cuh},
                    {"conv_cells.cuh", templates::conv_cells_cuh},
                    {"conv_simt.cuh", templates::conv_simt_cuh}},
      .config_head = conv_config_head,
      .config_tail =
          [](const Spec&, const C& c) {
            return fmt::format("  static constexpr int THREADS = {};\n", c.block_threads());
          },
      .body = body,
      .launch = conv_simt_launch,
  };
  return family;
}

int conv_simt_smem_bytes(const MainOp& main, const ConvSimtConfig& c) {
  return static_cast<int>(c.ci_chunk * main.conv.taps() * c.co_block * 4);
}

std::int64_t conv_simt_block_count(const Spec& spec, const ConvSimtConfig& c) {
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  const ConvGeometry& g = spec.main.conv;
  std::int64_t blocks = g.batch * g.groups * ceil_div(g.out_channels / g.groups, c.co_block);
  for (int a = 0; a < 3; ++a) blocks *= ceil_div(cells[a].count, c.threads[a] * c.cells[a]);
  return blocks;
}

std::uint64_t conv_simt_workspace_bytes(const Spec& spec, const ConvSimtConfig& c) {
  if (!spec.first_pool() || spec.first_pool()->kind != PoolKind::global_avg) return 0;
  const ConvGeometry& g = spec.main.conv;
  const std::int64_t tiles = g.batch * g.groups * ceil_div(g.out_channels / g.groups, c.co_block);
  const std::int64_t splits = conv_simt_block_count(spec, c) / tiles;
  // Each split's float4 per thread, then one counter per tile.
  return static_cast<std::uint64_t>(tiles * splits * c.block_threads() * 16 + tiles * 4);
}

LaunchGeometry conv_simt_launch(const Spec& spec, const ConvSimtConfig& c) {
  LaunchGeometry launch;
  launch.workspace_bytes = conv_simt_workspace_bytes(spec, c);
  launch.grid = launch_grid(conv_simt_block_count(spec, c));
  launch.block = {static_cast<unsigned>(c.block_threads()), 1, 1};
  launch.dynamic_smem_bytes = static_cast<unsigned>(conv_simt_smem_bytes(spec.main, c));
  return launch;
}

}  // namespace fusetune
