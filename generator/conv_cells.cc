// The cells that cover a convolution's output, and the taps of their elements.
#include "generator/conv_cells.h"

#include <fmt/format.h>

namespace fusetune {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

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

}  // namespace

std::array<CellAxis, 3> conv_cells(const Spec& spec) {
  const MainOp& main = spec.main;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  std::array<CellAxis, 3> axes;
  for (int a = 0; a < 3; ++a) {
    CellAxis& axis = axes[a];
    if (spec.first_pool() && spec.first_pool()->kind != PoolKind::global_avg) {
      const PoolOp& pool = *spec.first_pool();
      axis = {pool.kernel[a], pool.stride[a], pool.padding[a],
              (out[a] + 2 * pool.padding[a] - pool.kernel[a]) / pool.stride[a] + 1};
    } else if (main.is_transposed_conv()) {
      const int stride = main.conv.stride[a];
      axis = {stride, stride, 0, ceil_div(out[a], stride)};
    } else {
      axis = {1, 1, 0, out[a]};
    }
  }
  return axes;
}

int element_taps(const MainOp& main, const CellAxis& cells, int a, int e) {
  const ConvGeometry& g = main.conv;
  if (!main.is_transposed_conv()) return g.kernel[a];
  // Output o = i * stride - padding + tap * dilation: the taps of o's phase.
  int taps = 0;
  for (int tap = 0; tap < g.kernel[a]; ++tap) {
    const int numerator = e - cells.offset + g.padding[a] - tap * g.dilation[a];
    if (((numerator % g.stride[a]) + g.stride[a]) % g.stride[a] == 0) ++taps;
  }
  return taps;
}

bool cells_keep_phase(const MainOp& main, const std::array<CellAxis, 3>& cells) {
  if (!main.is_transposed_conv()) return true;
  for (int a = 0; a < 3; ++a)
    if (cells[a].stride % main.conv.stride[a] != 0) return false;
  return true;
}

// The shape: the convolution, its pool step and each axis with its cells.
std::string conv_config_head(const Spec& spec) {
  const MainOp& main = spec.main;
  const ConvGeometry& g = main.conv;
  const std::array<CellAxis, 3> cells = conv_cells(spec);
  const std::string_view pool = !spec.first_pool()                         ? "ft::kPoolNone"
                                : spec.first_pool()->kind == PoolKind::max ? "ft::kPoolMax"
                                : spec.first_pool()->kind == PoolKind::global_avg
                                    ? "ft::kPoolGlobalAvg"
                                    : "ft::kPoolAvg";
  return fmt::format(
      "  static constexpr int N = {}, C = {}, K = {}, GROUPS = {};\n"
      "  static constexpr bool TRANSPOSED = {};\n"
      "  static constexpr int POOL = {};\n"
      "{}{}{}",
      g.batch, g.in_channels, g.out_channels, g.groups, main.is_transposed_conv(), pool,
      emit_axis('D', main, cells[0], 0), emit_axis('H', main, cells[1], 1),
      emit_axis('W', main, cells[2], 2));
}

}  // namespace fusetune
