#include "generator/int8_slicing.h"

#include <fmt/format.h>

#include "fusetune/status.h"
#include "generator/int8_slices.h"
#include "generator/template_text.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {
namespace {

constexpr int kThreads = 256;
constexpr int kColumnBlock = 32;  // rows a block of slice_columns takes (int8_slices.cuh)

std::uint64_t aligned(std::uint64_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

SlicingLayout slicing_layout(std::int64_t rows, std::int64_t length, int slices) {
  SlicingLayout layout{.rows = rows, .length = length, .slices = slices};
  layout.pitch = (length + 15) / 16 * 16;
  layout.digits = 0;
  layout.exponents = aligned(static_cast<std::uint64_t>(slices * rows * layout.pitch));
  layout.statistics = layout.exponents + aligned(4 * static_cast<std::uint64_t>(rows));
  layout.bytes =
      layout.statistics + aligned(8 * kSliceRowStatistics * static_cast<std::uint64_t>(rows));
  return layout;
}

SlicingPass slicing_pass(const std::string& entry, int tensor, std::int64_t rows,
                         std::int64_t length, int slices, SliceMeasure measure, std::uint64_t base,
                         OperandStorage storage) {
  if (slices < 1 || slices > kMaxSlices)
    throw Error(StatusCode::invalid_argument,
                fmt::format("{} int8 digits per value: 1 to {}", slices, kMaxSlices));
  if (rows < 1 || length < 1)
    throw Error(StatusCode::invalid_argument,
                fmt::format("no rows to slice: {} x {}", rows, length));
  const SlicingLayout layout = slicing_layout(rows, length, slices);
  SlicingPass pass;
  pass.step.entry = entry;
  const bool by_columns = storage == OperandStorage::columns;
  pass.step.launch.grid = launch_grid(by_columns ? (rows + kColumnBlock - 1) / kColumnBlock : rows);
  pass.step.launch.block = {kThreads, 1, 1};
  pass.step.launch.workspace_bytes = base + layout.bytes;
  pass.code = fmt::format(
      "\nstruct {6}_shape {{\n"
      "  static constexpr long long ROWS = {0}, LENGTH = {1}, PITCH = {2};\n"
      "  static constexpr int SLICES = {3}, THREADS = {4};\n"
      "  static constexpr int MEASURE = {5};\n}};\n\n"
      "extern \"C\" __global__ void __launch_bounds__({4})\n"
      "{6}(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {{\n"
      "  char* bytes = reinterpret_cast<char*>(workspace) + {10};\n"
      "  ft::{12}<{6}_shape>(args.tensors[{11}], reinterpret_cast<signed char*>(bytes + {7}),\n"
      "      reinterpret_cast<int*>(bytes + {8}), reinterpret_cast<double*>(bytes + {9}));\n}}\n",
      rows, length, layout.pitch, slices, kThreads, static_cast<int>(measure), entry, layout.digits,
      layout.exponents, layout.statistics, base, tensor,
      by_columns ? "slice_columns" : "slice_rows");
  return pass;
}

KernelSource emit_int8_slicing(std::int64_t rows, std::int64_t length, int slices, bool measure,
                               OperandStorage storage) {
  const std::string name =
      fmt::format("ft_int8_slices_{}x{}_p{}{}{}", rows, length, slices, measure ? "_measured" : "",
                  storage == OperandStorage::columns ? "_by_columns" : "");
  const SlicingPass pass =
      slicing_pass(name, 0, rows, length, slices,
                   measure ? SliceMeasure::every_count : SliceMeasure::nothing, 0, storage);
  KernelSource kernel;
  kernel.name = name;
  kernel.launch = pass.step.launch;
  kernel.code =
      fmt::format("// fusetune slicing pass: {} rows of {} fp32 values, {} int8 digits\n\n", rows,
                  length, slices);
  kernel.code += inline_template("common.cuh", templates::common_cuh);
  kernel.code += inline_template("int8_slices.cuh", templates::int8_slices_cuh);
  kernel.code += pass.code;
  return kernel;
}

}  // namespace fusetune
