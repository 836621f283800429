#include "generator/gemm_simt_emitter.h"

#include <fmt/format.h>

#include <string_view>

#include "generator/epilogue_emitter.h"
#include "generator/template_text.h"
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
      "  static constexpr bool GUARD_M = {}, GUARD_N = {}, GUARD_K = {};\n"
      "}};\n",
      main.m, main.n, main.k, main.a_k_contiguous(), main.b_k_contiguous(), c.warps_m, c.warps_n,
      c.lanes_m, c.lanes_n, c.lane_n_fastest, c.rep_m, c.rep_n, c.bk, c.stages, c.spread_fill,
      c.vec_a, c.vec_b, guards.m, guards.n, guards.k);
}

}  // namespace

KernelSource emit_gemm_simt(const Spec& spec, const GemmSimtConfig& config) {
  KernelSource kernel;
  kernel.name = config_name(spec.main, config);
  kernel.launch = launch_geometry(spec.main, config);
  const LaunchGeometry& g = kernel.launch;
  std::string& code = kernel.code;
  code = fmt::format(
      "// fusetune generated kernel; regenerate with: fusetune gen \"{0}\" --config {1}\n"
      "// spec:   {0}\n"
      "// config: {1}\n"
      "// launch: grid ({2}, {3}, {4}), block ({5}, 1, 1), {6} bytes of dynamic shared memory\n\n",
      spec.canonical(), kernel.name, g.grid[0], g.grid[1], g.grid[2], g.block[0],
      g.dynamic_smem_bytes);
  code += inline_template("common.cuh", templates::common_cuh);
  code += '\n';
  code += inline_template("gemm_simt.cuh", templates::gemm_simt_cuh);
  code += "\n// ---- generated ----\nnamespace {\n\n";
  code += emit_config(spec.main, config);
  code += '\n';
  code += emit_epilogue(spec);
  code += "\n}  // namespace\n\n";
  code += fmt::format(
      "extern \"C\" __global__ void __launch_bounds__({}, {})\n"
      "{}(const __grid_constant__ ft::LaunchArgs args) {{\n"
      "  ft::gemm_simt<Config>(args.tensors[0], args.tensors[1], args.out, Epilogue{{args}});\n"
      "}}\n",
      config.threads(), config.min_blocks, kernel.name);
  return kernel;
}

}  // namespace fusetune
