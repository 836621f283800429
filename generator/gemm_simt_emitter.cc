#include "generator/gemm_simt_emitter.h"

#include <fmt/format.h>

#include <string_view>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

std::string emit_config(const MainOp& main, const GemmSimtConfig& c) {
  const EdgeGuards guards = edge_guards(main, c);
  return fmt::format(
      "struct Config {{\n"
      "  static constexpr int M = {}, N = {}, K = {};\n"
      "  static constexpr bool A_K_CONTIGUOUS = {}, B_K_CONTIGUOUS = {};\n"
      "  static constexpr int WARPS_M = {}, WARPS_N = {};\n"
      "  static constexpr int LANES_M = {}, LANES_N = {};\n"
      "  static constexpr bool LANE_N_FASTEST = {};\n"
      "  static constexpr int REP_M = {}, REP_N = {};\n"
      "  static constexpr int BK = {}, STAGES = {};\n"
      "  static constexpr bool SPREAD_FILL = {};\n"
      "  static constexpr int VEC_A = {}, VEC_B = {};\n"
      "  static constexpr int SPLITS = {};\n"
      "  static constexpr bool GUARD_M = {}, GUARD_N = {}, GUARD_K = {};\n"
      "}};\n",
      main.m, main.n, main.k, main.a_k_contiguous(), main.b_k_contiguous(), c.warps_m, c.warps_n,
      c.lanes_m, c.lanes_n, c.lane_n_fastest, c.rep_m, c.rep_n, c.bk, c.stages, c.spread_fill,
      c.vec_a, c.vec_b, c.splits, guards.m, guards.n, guards.k);
}

}  // namespace

KernelSource emit_gemm_simt(const Spec& spec, const GemmSimtConfig& config) {
  KernelParts parts;
  parts.name = config_name(spec.main, config);
  parts.launch = launch_geometry(spec.main, config);
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"split_k.cuh", templates::split_k_cuh},
                     {"gemm_simt.cuh", templates::gemm_simt_cuh}};
  parts.config = emit_config(spec.main, config);
  parts.body = fmt::format(
      "  ft::gemm_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}});\n",
      config.splits > 1 ? "workspace" : "nullptr");
  parts.min_blocks = config.min_blocks;
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
