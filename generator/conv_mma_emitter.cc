#include "generator/conv_mma_emitter.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

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

}  // namespace

KernelSource emit_conv_mma(const Spec& spec, const ConvMmaConfig& c) {
  const MainOp& main = spec.main;
  const ConvGeometry& g = main.conv;
  const EdgeGuards guards = edge_guards(conv_gemm(main), c);
  KernelParts parts;
  parts.name = config_name(main, c);
  parts.launch = conv_mma_launch(main, c);
  // gemm_mma.cuh for its copies and TF32 fragments; it names the 16-bit ones too.
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"mma_tf32.cuh", templates::mma_tf32_cuh},
                     {"mma_16bit.cuh", templates::mma_16bit_cuh},
                     {"gemm_mma.cuh", templates::gemm_mma_cuh},
                     {"conv_mma.cuh", templates::conv_mma_cuh}};
  parts.config = fmt::format(
      "struct Config {{\n"
      "  static constexpr int N = {}, C = {}, K = {}, GROUPS = {};\n"
      "{}{}{}"
      "  static constexpr int WARPS_M = {}, WARPS_N = {};\n"
      "  static constexpr int MMA_TILES_M = {}, MMA_TILES_N = {};\n"
      "  static constexpr int BK = {}, STAGES = {};\n"
      "  static constexpr int PASSES = {};  // {}\n"
      "  static constexpr int VEC_B = {};\n"
      "  static constexpr bool GUARD_M = {}, GUARD_N = {}, GUARD_K = {};\n"
      "  static constexpr int SMEM_BYTES = {};  // what the launch gives\n"
      "}};\n",
      g.batch, g.in_channels, g.out_channels, g.groups, emit_axis('D', main, 0),
      emit_axis('H', main, 1), emit_axis('W', main, 2), c.warps_m, c.warps_n, c.mma_tiles_m,
      c.mma_tiles_n, c.bk, c.stages, c.passes, to_string(c.precision()), c.vec_b, guards.m,
      guards.n, guards.k, c.smem_bytes());
  parts.body =
      "  ft::conv_mma<Config>(args.tensors[0], args.tensors[1], args.out, Epilogue{args});\n";
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
