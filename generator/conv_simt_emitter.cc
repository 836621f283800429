#include "generator/conv_simt_emitter.h"

#include <fmt/format.h>

#include "generator/kernel_assembly.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

// One axis of the geometry: the convolution's extents and window, and its cells.
std::string emit_axis(char name, const MainOp& main, const CellAxis& cells, int a) {
  const ConvGeometry& g = main.conv;
  return fmt::format(
      "  struct {} {{\n"
      "    static constexpr int IN = {}, OUT = {};\n"
      "    static constexpr int KERNEL = {}, STRIDE = {}, PADDING = {}, DILATION = {};\n"
      "    static constexpr int CELL = {}, CELL_STRIDE = {}, CELL_OFFSET = {}, CELLS = {};\n"
      "  }};\n",
      name, g.size[a], main.conv_output_size()[a], g.kernel[a], g.stride[a], g.padding[a],
      g.dilation[a], cells.extent, cells.stride, cells.offset, cells.count);
}

std::string emit_config(const Spec& spec, const ConvSimtConfig& c) {
  const MainOp& main = spec.main;
  const ConvGeometry& g = main.conv;
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  const std::string_view pool = !spec.first_pool()                         ? "ft::kPoolNone"
                                : spec.first_pool()->kind == PoolKind::max ? "ft::kPoolMax"
                                : spec.first_pool()->kind == PoolKind::global_avg
                                    ? "ft::kPoolGlobalAvg"
                                    : "ft::kPoolAvg";
  return fmt::format(
      "struct Config {{\n"
      "  static constexpr int N = {}, C = {}, K = {}, GROUPS = {};\n"
      "  static constexpr bool TRANSPOSED = {};\n"
      "  static constexpr int POOL = {};\n"
      "{}{}{}"
      "  static constexpr int CO_BLOCK = {}, CO_THREAD = {}, CI_CHUNK = {};\n"
      "  static constexpr int THREADS_D = {}, THREADS_H = {}, THREADS_W = {};\n"
      "  static constexpr int CELLS_D = {}, CELLS_H = {}, CELLS_W = {};\n"
      "  static constexpr int THREADS = {};\n"
      "}};\n",
      g.batch, g.in_channels, g.out_channels, g.groups, main.is_transposed_conv(), pool,
      emit_axis('D', main, cells[0], 0), emit_axis('H', main, cells[1], 1),
      emit_axis('W', main, cells[2], 2), c.co_block, c.co_thread, c.ci_chunk, c.threads[0],
      c.threads[1], c.threads[2], c.cells[0], c.cells[1], c.cells[2], c.block_threads());
}

}  // namespace

KernelSource emit_conv_simt(const Spec& spec, const ConvSimtConfig& config) {
  KernelParts parts;
  parts.name = config_name(spec.main, config);
  parts.launch = conv_simt_launch(spec, config);
  parts.templates = {{"common.cuh", templates::common_cuh},
                     {"split_k.cuh", templates::split_k_cuh},
                     {"conv_simt.cuh", templates::conv_simt_cuh}};
  parts.config = emit_config(spec, config);
  parts.body = fmt::format(
      "  ft::conv_simt<Config>(args.tensors[0], args.tensors[1], args.out, {}, "
      "Epilogue{{args}});\n",
      parts.launch.workspace_bytes > 0 ? "workspace" : "nullptr");
  return assemble_kernel(spec, parts);
}

}  // namespace fusetune
