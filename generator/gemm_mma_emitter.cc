#include "generator/gemm_mma_emitter.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {

KernelSource emit_gemm_mma(const Spec& spec, const GemmMmaConfig& c) {
  const MainOp& main = spec.main;
  const EdgeGuards guards = edge_guards(main, c);
  KernelParts parts;
  parts.name = config_name(main, c);
  parts.launch = launch_geometry(main, c);
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"mma_tf32.cuh", templates::mma_tf32_cuh},
                     {"gemm_mma.cuh", templates::gemm_mma_cuh}};
  parts.config = fmt::format(
      "struct Config {{\n"
      "  static constexpr int M = {}, N = {}, K = {};\n"
      "  static constexpr bool A_K_CONTIGUOUS = {}, B_K_CONTIGUOUS = {};\n"
      "  static constexpr int WARPS_M = {}, WARPS_N = {};\n"
      "  static constexpr int MMA_TILES_M = {}, MMA_TILES_N = {};\n"
      "  static constexpr int BK = {}, STAGES = {};\n"
      "  static constexpr int PASSES = {};  // {}\n"
      "  static constexpr int VEC_A = {}, VEC_B = {};\n"
      "  static constexpr bool GUARD_M = {}, GUARD_N = {}, GUARD_K = {};\n"
      "}};\n",
      main.m, main.n, main.k, main.a_k_contiguous(), main.b_k_contiguous(), c.warps_m, c.warps_n,
      c.mma_tiles_m, c.mma_tiles_n, c.bk, c.stages, c.passes, to_string(c.precision()), c.vec_a,
      c.vec_b, guards.m, guards.n, guards.k);
  parts.body =
      "  ft::gemm_mma<Config>(args.tensors[0], args.tensors[1], args.out, Epilogue{args});\n";
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
