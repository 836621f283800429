#include "generator/gemm_mma_emitter.h"

#include <fmt/format.h>

#include <string>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {

KernelSource emit_gemm_mma(const Spec& spec, const GemmMmaConfig& c) {
  const MainOp& main = spec.main;
  const EdgeGuards guards = edge_guards(main, c);
  KernelParts parts;
  parts.name = config_name(main, c);
  parts.launch = launch_geometry(main, c);
  // Both instruction sets: the template names both fragment kinds and instantiates one.
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"mma_tf32.cuh", templates::mma_tf32_cuh},
                     {"mma_16bit.cuh", templates::mma_16bit_cuh},
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
      "  static constexpr int SMEM_BYTES = {};  // what the launch gives\n"
      "}};\n",
      main.m, main.n, main.k, main.a_k_contiguous(), main.b_k_contiguous(), c.warps_m, c.warps_n,
      c.mma_tiles_m, c.mma_tiles_n, c.bk, c.stages, c.passes, to_string(c.precision()), c.vec_a,
      c.vec_b, guards.m, guards.n, guards.k, c.smem_bytes(main));
  // The template takes its operand and output types from the pointers.
  parts.body = fmt::format("  ft::gemm_mma<Config>({}, {}, {}, Epilogue{{args}});\n",
                           tensor_pointer(0, main.dtype), tensor_pointer(1, main.dtype),
                           output_pointer(main));
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
