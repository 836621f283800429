// The implicit-GEMM convolution family as one unit: its tunables table and name, the parts of its
// emitted source, and the geometry of its launches.
#include "generator/conv_mma.h"

#include <fmt/format.h>

#include <algorithm>

#include "generator/conv_cells.h"
#include "generator/gemm_wgmma.h"
#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = ConvMmaConfig;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::string config_tail(const Spec& spec, const C& c) {
  return guard_constants(edge_guards(conv_gemm(spec), c)) + smem_constant(c.smem_bytes()) +
         (c.wgmma ? wgmma_tf32_register_a(c.block_n()) : "");
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "conv_mma",
      .example = "ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4",
      .runs_convolutions = true,
      .precisions = kTf32Precisions,
      .fuses_pool = conv_mma_fuses_pool,
      .tunables =
          {
              {"warps_m", &C::warps_m, "WARPS_M"},
              {"warps_n", &C::warps_n, "WARPS_N", ConfigLine::joined},
              {"mma_tiles_m", &C::mma_tiles_m, "MMA_TILES_M"},
              {"mma_tiles_n", &C::mma_tiles_n, "MMA_TILES_N", ConfigLine::joined},
              {"bk", &C::bk, "BK"},
              {"stages", &C::stages, "STAGES", ConfigLine::joined},
              {.key = "passes",
               .member = &C::passes,
               .constant = "PASSES",
               .comment = [](const C& c) { return to_string(c.precision()); }},
              {"vec_b", &C::vec_b, "VEC_B"},
              // Stored before the warpgroup MMA existed: mma.sync.
              {.key = "wgmma", .member = &C::wgmma, .constant = "WGMMA", .absent = 0, .least = 0},
          },
      .name_parts =
          {
              number("", "BM", 4, derived<&C::block_m>()),
              number("x", "BN", 4, derived<&C::block_n>()),
              number("x", "BK", 4, field<&C::bk>()),
              number("_w", "WM", 2, field<&C::warps_m>()),
              number("x", "WN", 2, field<&C::warps_n>()),
              number("_s", "STAGES", 2, field<&C::stages>()),
              precision_word<C, kTf32Precisions>(),
              number("_vb", "V", 1, field<&C::vec_b>()),
              optional_number("_wg", "WG", 1, field<&C::wgmma>(), 0),
          },
      // The guards of the GEMM the convolution is.
      .edge_guards =
          [](const MainOp& main, const C& c) {
            return edge_guards(conv_gemm(Spec{.main = main, .chain = {}}), c);
          },
      .resolve_name = resolve_mma_tiles<C>,
      .space = conv_mma_space,
      .rejection = conv_mma_rejection,
      .spec_rejection = conv_mma_spec_rejection,
      .default_config = [](const Spec& spec, const DeviceLimits& limits, Precision precision)
          -> std::optional<C> { return conv_mma_default(spec, limits, precision); },
      // gemm_mma.cuh for its copies and TF32 fragments; it names the 16-bit ones too.
      // hopper.cuh for WGMMA's warpgroup MMA (unused functions emit nothing for sm_80).
      .templates = {{"common.cuh", templates::common_cuh},
                    {"hopper.cuh", templates::hopper_cuh},
                    {"mma_tf32.cuh", templates::mma_tf32_cuh},
                    {"mma_16bit.cuh", templates::mma_16bit_cuh},
                    {"gemm_mma.cuh", templates::gemm_mma_cuh},
                    {"conv_cells.cuh", templates::conv_cells_cuh},
                    {"conv_mma.cuh", templates::conv_mma_cuh}},
      .config_head = conv_config_head,
      .config_tail = config_tail,
      .body = [](const Spec&, const C&) -> std::string {
        return "  ft::conv_mma<Config>(args.tensors[0], args.tensors[1], args.out, "
               "Epilogue{args});\n";
      },
      .launch = conv_mma_launch,
      .arch_specific_config = [](const C& c) { return c.wgmma != 0; },
  };
  return family;
}

int ConvMmaConfig::smem_bytes() const {
  if (wgmma)
    return stages * (bk * (block_m() + 8) + block_n() * bk * (passes == 3 ? 2 : 1)) * 4 + 1024;
  return stages * (bk * (block_m() + 8) + block_n() * (bk + 4)) * 4;
}

int ConvMmaConfig::a_columns() const {
  const int rows = a_rows();
  if (rows < 1 || block_m() % (32 * rows) != 0) return 0;
  const int threads_m = block_m() / rows;
  if (threads() % threads_m != 0) return 0;
  const int threads_k = threads() / threads_m;
  return bk % threads_k == 0 ? bk / threads_k : 0;
}

ConvGemm conv_gemm(const Spec& spec) {
  const MainOp& main = spec.main;
  const ConvGeometry& g = main.conv;
  // The cells of the spec's pool step where the kernel pools it, else of the convolution.
  const Spec pooled{.main = main,
                    .chain = conv_mma_fuses_pool(spec) ? spec.chain : std::vector<ChainOp>{}};
  const std::array<CellAxis, 3> cells = conv_cells(pooled);
  ConvGemm gemm{g.batch * cells[0].count * cells[1].count * cells[2].count,
                g.out_channels / g.groups,
                g.in_channels / g.groups * g.taps(),
                g.groups,
                {}};
  for (int ed = 0; ed < cells[0].extent; ++ed)
    for (int eh = 0; eh < cells[1].extent; ++eh)
      for (int ew = 0; ew < cells[2].extent; ++ew)
        gemm.depths.push_back(g.in_channels / g.groups * element_taps(main, cells[0], 0, ed) *
                              element_taps(main, cells[1], 1, eh) *
                              element_taps(main, cells[2], 2, ew));
  return gemm;
}

bool conv_mma_fuses_pool(const Spec& spec) {
  const PoolOp* pool = spec.first_pool();
  if (pool == nullptr || pool->kind == PoolKind::global_avg) return false;
  return cells_keep_phase(spec.main, conv_cells(spec));
}

EdgeGuards edge_guards(const ConvGemm& gemm, const ConvMmaConfig& c) {
  const bool ragged_k = std::any_of(gemm.depths.begin(), gemm.depths.end(),
                                    [&](std::int64_t depth) { return depth % c.bk != 0; });
  return {gemm.m % c.block_m() != 0, gemm.n % c.block_n() != 0, ragged_k};
}

std::int64_t conv_mma_block_count(const Spec& spec, const ConvMmaConfig& c) {
  const ConvGemm gemm = conv_gemm(spec);
  return ceil_div(gemm.m, c.block_m()) * ceil_div(gemm.n, c.block_n()) * gemm.groups;
}

LaunchGeometry conv_mma_launch(const Spec& spec, const ConvMmaConfig& c) {
  LaunchGeometry launch;
  launch.grid = launch_grid(conv_mma_block_count(spec, c));
  launch.block = {static_cast<unsigned>(c.threads()), 1, 1};
  launch.dynamic_smem_bytes = static_cast<unsigned>(c.smem_bytes());
  return launch;
}

}  // namespace fusetune
