// The SIMT GEMM family as one unit: its tunables table and name, the parts of its emitted source,
// and the geometry of its launches.
#include "generator/gemm_simt.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = GemmSimtConfig;

// A name gives the block tile and the thread tile; the lanes and fragments follow from them.
std::optional<std::string> resolve_name(C& c, std::span<const int> sizes) {
  const int block_m = sizes[0], block_n = sizes[1], tile_m = sizes[2], tile_n = sizes[3];
  if (tile_m == 0 || tile_n == 0 || tile_m % 4 || tile_n % 4)
    return "thread tiles are multiples of 4 (4x4 fragments)";
  if (c.warps_m == 0 || c.warps_n == 0) return "a block has at least one warp";
  c.rep_m = tile_m / 4;
  c.rep_n = tile_n / 4;
  if (block_m % (c.warps_m * tile_m) || block_n % (c.warps_n * tile_n))
    return fmt::format("a {}x{} block tile does not split into {}x{} warps of {}x{} thread tiles",
                       block_m, block_n, c.warps_m, c.warps_n, tile_m, tile_n);
  c.lanes_m = block_m / (c.warps_m * tile_m);
  c.lanes_n = block_n / (c.warps_n * tile_n);
  if (c.lanes_m * c.lanes_n != 32)
    return fmt::format("its sizes give each warp {}x{} = {} lanes, not 32", c.lanes_m, c.lanes_n,
                       c.lanes_m * c.lanes_n);
  return std::nullopt;
}

std::string config_tail(const Spec& spec, const C& c) {
  return guard_constants(edge_guards(spec.main, c));
}

std::string body(const Spec&, const C& c) {
  return fmt::format(
      "  ft::gemm_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}},\n"
      "                        ft::row_count<Config>(args));\n",
      c.splits > 1 ? "workspace" : "nullptr");
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "gemm_simt",
      .example = "ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread",
      .precisions = kFp32Only,
      .dynamic_rows = true,
      .tunables =
          {
              {"warps_m", &C::warps_m, "WARPS_M"},
              {"warps_n", &C::warps_n, "WARPS_N", ConfigLine::joined},
              {"lanes_m", &C::lanes_m, "LANES_M"},
              {"lanes_n", &C::lanes_n, "LANES_N", ConfigLine::joined},
              {"lane_n_fastest", &C::lane_n_fastest, "LANE_N_FASTEST"},
              {"rep_m", &C::rep_m, "REP_M"},
              {"rep_n", &C::rep_n, "REP_N", ConfigLine::joined},
              {"bk", &C::bk, "BK"},
              {"stages", &C::stages, "STAGES", ConfigLine::joined},
              {"spread_fill", &C::spread_fill, "SPREAD_FILL"},
              {"vec_a", &C::vec_a, "VEC_A"},
              {"vec_b", &C::vec_b, "VEC_B", ConfigLine::joined},
              // Absent in results stored before split-K.
              {.key = "splits", .member = &C::splits, .constant = "SPLITS", .absent = 1},
              {"min_blocks", &C::min_blocks},  // __launch_bounds__, not in the Config
          },
      .name_parts =
          {
              number("", "BM", 4, derived<&C::block_m>()),
              number("x", "BN", 4, derived<&C::block_n>()),
              number("x", "BK", 4, field<&C::bk>()),
              number("_w", "WM", 2, field<&C::warps_m>()),
              number("x", "WN", 2, field<&C::warps_n>()),
              number("_t", "TM", 3, derived<&C::thread_tile_m>()),
              number("x", "TN", 3, derived<&C::thread_tile_n>()),
              number("_s", "STAGES", 2, field<&C::stages>()),
              word("_", {"m", "n"}, field<&C::lane_n_fastest>()),
              flag("_spread", field<&C::spread_fill>()),
              optional_number("_occ", "B", 1, field<&C::min_blocks>(), 1),
              // Vectors are named where the operand is not k-contiguous (else they are 1).
              optional_number("_va", "V", 1, field<&C::vec_a>(), 1,
                              [](const MainOp& main, const C&) { return !main.a_k_contiguous(); }),
              optional_number("_vb", "V", 1, field<&C::vec_b>(), 1,
                              [](const MainOp& main, const C&) { return !main.b_k_contiguous(); }),
              optional_number("_k", "SPLITS", 3, field<&C::splits>(), 1),
          },
      .edge_guards = edge_guards,
      .resolve_name = resolve_name,
      .space = [](const Spec& spec, const DeviceLimits& limits,
                  Precision) { return gemm_simt_space(spec.main, limits); },
      .rejection = [](const Spec& spec, const DeviceLimits& limits,
                      const C& c) { return gemm_simt_rejection(spec.main, limits, c); },
      .default_config = [](const Spec& spec, const DeviceLimits& limits, Precision)
          -> std::optional<C> { return gemm_simt_default(spec.main, limits); },
      .templates = {{"common.cuh", templates::common_cuh},
                    {"split_k.cuh", templates::split_k_cuh},
                    {"gemm_simt.cuh", templates::gemm_simt_cuh}},
      .config_head = [](const Spec& spec) { return gemm_shape_constants(spec.main); },
      .config_tail = config_tail,
      .body = body,
      .launch = [](const Spec& spec, const C& c) { return launch_geometry(spec.main, c); },
      .min_blocks = [](const C& c) { return c.min_blocks; },
      .block_tile = [](const C& c) -> std::optional<std::array<int, 2>> {
        return std::array{c.block_m(), c.block_n()};
      },
  };
  return family;
}

EdgeGuards edge_guards(const MainOp& main, const GemmSimtConfig& config) {
  return edge_guards(main, config.block_m(), config.block_n(), config.bk);
}

std::int64_t block_count(const MainOp& main, const GemmSimtConfig& c) {
  return tile_count(main, c.block_m(), c.block_n());
}

std::int64_t k_tile_count(const MainOp& main, const GemmSimtConfig& c) {
  return (main.k + c.bk - 1) / c.bk;
}

std::int64_t k_tiles_per_split(const MainOp& main, const GemmSimtConfig& c) {
  return k_tiles_per_split(k_tile_count(main, c), c.splits);
}

LaunchGeometry launch_geometry(const MainOp& main, const GemmSimtConfig& c) {
  LaunchGeometry g = tile_grid(main, c.block_m(), c.block_n(), c.threads(), c.smem_bytes());
  g.grid = launch_grid(block_count(main, c), c.splits);
  g.workspace_bytes =
      split_k_workspace_bytes(block_count(main, c), c.splits, c.block_m(), c.block_n(), 1);
  return g;
}

}  // namespace fusetune
