#include "generator/gemv_simt_emitter.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

std::string emit_config(const MainOp& main, const GemvSimtConfig& c) {
  const EdgeGuards guards = edge_guards(main, c);
  const std::string layout_line =
      c.layout == GemvLayout::rows
          ? fmt::format("  static constexpr int ROWS_PER_WARP = {};\n", c.rows_per_warp)
          : fmt::format("  static constexpr int COLUMN_THREADS = {};\n", c.column_threads);
  return fmt::format(
      "struct Config {{\n"
      "  static constexpr int M = {}, N = {}, K = {};\n"
      "  static constexpr bool A_K_CONTIGUOUS = {}, B_K_CONTIGUOUS = {};\n"
      "  static constexpr int BLOCK_M = {}, WARPS = {};\n"
      "{}"
      "  static constexpr int UNROLL = {}, VEC = {};\n"
      "  static constexpr int SPLITS = {};\n"
      "  static constexpr int X_CHUNK = {}, PARTIAL_FLOATS = {}, SMEM_BYTES = {};\n"
      "  static constexpr bool GUARD_M = {}, GUARD_N = {}, GUARD_K = {};\n"
      "}};\n",
      main.m, main.n, main.k, main.a_k_contiguous(), main.b_k_contiguous(), c.block_m, c.warps,
      layout_line, c.unroll, c.vec, c.splits, x_chunk(main, c), partial_floats(c),
      smem_bytes(main, c), guards.m, guards.n, guards.k);
}

}  // namespace

KernelSource emit_gemv_simt(const Spec& spec, const GemvSimtConfig& config) {
  KernelParts parts;
  parts.name = config_name(spec.main, config);
  parts.launch = launch_geometry(spec.main, config);
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"split_k.cuh", templates::split_k_cuh},
                     {"gemv_simt.cuh", templates::gemv_simt_cuh}};
  parts.config = emit_config(spec.main, config);
  parts.body = fmt::format(
      "  ft::gemv_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}});\n",
      config.splits > 1 ? "workspace" : "nullptr");
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
