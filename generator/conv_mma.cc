// The implicit-GEMM convolution family as one unit: its tunables table and name, the parts of its
// emitted source, and the geometry of its launches.
#include "generator/conv_mma.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

using C = ConvMmaConfig;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// One axis of the geometry (d, h or w): the convolution's extents and window.
std::string emit_axis(char name, const MainOp& main, int a) {
  const ConvGeometry& g = main.conv;
  return fmt::format(
      "  struct {} {{\n"
      "    static constexpr int IN = {}, OUT = {};\n"
      "    static constexpr int KERNEL = {}, STRIDE = {}, PADDING = {}, DILATION = {};\n"
      "  }};\n",
      name, g.size[a], main.conv_output_size()[a], g.kernel[a], g.stride[a], g.padding[a],
      g.dilation[a]);
}

std::string config_head(const Spec& spec) {
  const MainOp& main = spec.main;
  const ConvGeometry& g = main.conv;
  return fmt::format("  static constexpr int N = {}, C = {}, K = {}, GROUPS = {};\n{}{}{}", g.batch,
                     g.in_channels, g.out_channels, g.groups, emit_axis('D', main, 0),
                     emit_axis('H', main, 1), emit_axis('W', main, 2));
}

std::string config_tail(const Spec& spec, const C& c) {
  return guard_constants(edge_guards(conv_gemm(spec.main), c)) + smem_constant(c.smem_bytes());
}

}  // namespace

const KernelFamily<C>& family_of(const C&) {
  static const KernelFamily<C> family{
      .name = "conv_mma",
      .example = "ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4",
      .runs_convolutions = true,
      .precisions = kTf32Precisions,
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
          },
      // The guards of the GEMM the convolution is.
      .edge_guards = [](const MainOp& main, const C& c) { return edge_guards(conv_gemm(main), c); },
      .resolve_name = resolve_mma_tiles<C>,
      .space = conv_mma_space,
      .rejection = conv_mma_rejection,
      .spec_rejection = conv_mma_spec_rejection,
      .default_config = [](const Spec& spec, const DeviceLimits& limits, Precision precision)
          -> std::optional<C> { return conv_mma_default(spec, limits, precision); },
      // gemm_mma.cuh for its copies and TF32 fragments; it names the 16-bit ones too.
      .templates = {{"common.cuh", templates::common_cuh},
                    {"mma_tf32.cuh", templates::mma_tf32_cuh},
                    {"mma_16bit.cuh", templates::mma_16bit_cuh},
                    {"gemm_mma.cuh", templates::gemm_mma_cuh},
                    {"conv_mma.cuh", templates::conv_mma_cuh}},
      .config_head = config_head,
      .config_tail = config_tail,
      .body = [](const Spec&, const C&) -> std::string {
        return "  ft::conv_mma<Config>(args.tensors[0], args.tensors[1], args.out, "
               "Epilogue{args});\n";
      },
      .launch = [](const Spec& spec, const C& c) { return conv_mma_launch(spec.main, c); },
  };
  return family;
}

int ConvMmaConfig::smem_bytes() const {
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

ConvGemm conv_gemm(const MainOp& main) {
  const ConvGeometry& g = main.conv;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  return {g.batch * out[0] * out[1] * out[2], g.out_channels / g.groups,
          g.in_channels / g.groups * g.taps(), g.groups};
}

EdgeGuards edge_guards(const ConvGemm& gemm, const ConvMmaConfig& c) {
  return {gemm.m % c.block_m() != 0, gemm.n % c.block_n() != 0, gemm.k % c.bk != 0};
}

std::int64_t conv_mma_block_count(const MainOp& main, const ConvMmaConfig& c) {
  const ConvGemm gemm = conv_gemm(main);
  return ceil_div(gemm.m, c.block_m()) * ceil_div(gemm.n, c.block_n()) * gemm.groups;
}

LaunchGeometry conv_mma_launch(const MainOp& main, const ConvMmaConfig& c) {
  LaunchGeometry launch;
  launch.grid = launch_grid(conv_mma_block_count(main, c));
  launch.block = {static_cast<unsigned>(c.threads()), 1, 1};
  launch.dynamic_smem_bytes = static_cast<unsigned>(c.smem_bytes());
  return launch;
}

}  // namespace fusetune
