// The SIMT matrix-vector family as one unit: its tunables table and name, the parts of its
// emitted source, and the geometry of its launches.
#include "generator/gemv_simt.h"

#include <fmt/format.h>

#include <algorithm>

#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = GemvSimtConfig;

bool by_rows(const C& c) { return c.layout == GemvLayout::rows; }

// A rows name gives rows per warp, a cols name column threads.
std::optional<std::string> resolve_name(C& c, std::span<const int>) {
  if (by_rows(c) ? c.rows_per_warp == 0 || c.column_threads != 0
                 : c.column_threads == 0 || c.rows_per_warp != 0)
    return "a rows name gives rows per warp (_r<N>), a cols name column threads (_c<N>)";
  return std::nullopt;
}

std::string config_tail(const Spec& spec, const C& c) {
  const MainOp& main = spec.main;
  return fmt::format("  static constexpr int X_CHUNK = {}, PARTIAL_FLOATS = {}, SMEM_BYTES = {};\n",
                     x_chunk(main, c), partial_floats(c), smem_bytes(main, c)) +
         guard_constants(edge_guards(main, c));
}

std::string body(const Spec&, const C& c) {
  return fmt::format(
      "  ft::gemv_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}},\n"
      "                        ft::row_count<Config>(args));\n",
      c.splits > 1 ? "workspace" : "nullptr");
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "gemv_simt",
      .example = "ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4",
      .precisions = kFp32Only,
      .dynamic_rows = true,
      .leads = true,
      .tunables =
          {
              {"layout", spelled<&C::layout>({"rows", "columns"})},
              {"block_m", &C::block_m, "BLOCK_M"},
              {"warps", &C::warps, "WARPS", ConfigLine::joined},
              // Each 0 where the other layout is used.
              {.key = "rows_per_warp",
               .member = &C::rows_per_warp,
               .constant = "ROWS_PER_WARP",
               .declared = by_rows,
               .least = 0},
              {.key = "column_threads",
               .member = &C::column_threads,
               .constant = "COLUMN_THREADS",
               .declared = [](const C& c) { return !by_rows(c); },
               .least = 0},
              {"unroll", &C::unroll, "UNROLL"},
              {"vec", &C::vec, "VEC", ConfigLine::joined},
              {"splits", &C::splits, "SPLITS"},
          },
      .name_parts =
          {
              word("", {"rows", "cols"}, field<&C::layout>()),
              number("_m", "BM", 2, field<&C::block_m>()),
              number("_w", "WARPS", 2, field<&C::warps>()),
              // One of the two, as the layout says.
              optional_number("_r", "ROWS_PER_WARP", 3, field<&C::rows_per_warp>(), 0,
                              [](const MainOp&, const C& c) { return by_rows(c); }),
              optional_number("_c", "COLUMN_THREADS", 3, field<&C::column_threads>(), 0,
                              [](const MainOp&, const C& c) { return !by_rows(c); }),
              number("_u", "UNROLL", 2, field<&C::unroll>()),
              number("_v", "VEC", 1, field<&C::vec>()),
              optional_number("_k", "SPLITS", 3, field<&C::splits>(), 1),
          },
      .edge_guards = edge_guards,
      .resolve_name = resolve_name,
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision) { return gemv_simt_space(spec.main, limits); },
      .rejection = [](const Spec& spec, const DeviceLimits& limits,
                      const C& c) { return gemv_simt_rejection(spec.main, limits, c); },
      .templates = {{"common.cuh", templates::common_cuh},
                    {"split_k.cuh", templates::split_k_cuh},
                    {"gemv_simt.cuh", templates::gemv_simt_cuh}},
      .config_head = [](const Spec& spec) { return gemm_shape_constants(spec.main); },
      .config_tail = config_tail,
      .body = body,
      .launch = [](const Spec& spec, const C& c) { return launch_geometry(spec.main, c); },
  };
  return family;
}

EdgeGuards edge_guards(const MainOp& main, const GemvSimtConfig& c) {
  return edge_guards(main, c.block_m, c.block_n(), c.k_step());
}

std::int64_t block_count(const MainOp& main, const GemvSimtConfig& c) {
  return tile_count(main, c.block_m, c.block_n());
}

std::int64_t k_step_count(const MainOp& main, const GemvSimtConfig& c) {
  return (main.k + c.k_step() - 1) / c.k_step();
}

std::int64_t k_steps_per_split(const MainOp& main, const GemvSimtConfig& c) {
  return k_tiles_per_split(k_step_count(main, c), c.splits);
}

int x_chunk(const MainOp& main, const GemvSimtConfig& c) {
  const std::int64_t split_range = k_steps_per_split(main, c) * c.k_step();
  const std::int64_t room = kGemvXChunkFloats / c.block_m / c.k_step() * c.k_step();
  return static_cast<int>(std::min(split_range, room));
}

int partial_floats(const GemvSimtConfig& c) {
  const int vectors = c.block_m * c.block_n() / 4;
  const int finishers = std::min(c.threads(), (vectors + 31) / 32 * 32);
  const int per_finisher = (vectors + finishers - 1) / finishers;
  return 4 * per_finisher * finishers;
}

int smem_bytes(const MainOp& main, const GemvSimtConfig& c) {
  const int x_floats = c.block_m * (x_chunk(main, c) + 4);
  const int partials = c.k_groups() * c.block_m * c.block_n();
  return 4 * ((std::max(x_floats, partials) + 3) / 4 * 4 + (c.splits > 1 ? 4 : 0));
}

LaunchGeometry launch_geometry(const MainOp& main, const GemvSimtConfig& c) {
  LaunchGeometry g = tile_grid(main, c.block_m, c.block_n(), c.threads(), smem_bytes(main, c));
  g.grid = launch_grid(block_count(main, c), c.splits);
  g.workspace_bytes =
      split_k_workspace_bytes(block_count(main, c), c.splits, partial_floats(c), 1, 1);
  return g;
}

}  // namespace fusetune
