#include "generator/elementwise_emitter.h"

#include <fmt/format.h>

#include "generator/epilogue_emitter.h"
#include "generator/kernel_assembly.h"
#include "generator/template_text.h"
#include "generator/tile_grid.h"
#include "templates/embedded.h"

namespace fusetune {

KernelSource emit_elementwise_epilogue(const Spec& spec) {
  const std::int64_t m = spec.main.m, n = spec.main.n;
  const int width = n % 4 == 0 ? 4 : 1;  // 16-byte accesses when rows allow
  constexpr int kThreads = 256;
  KernelSource kernel;
  kernel.name = fmt::format("ft_epilogue_{}x{}", m, n);
  const std::int64_t threads = m * n / width;
  kernel.launch.grid = launch_grid((threads + kThreads - 1) / kThreads);
  kernel.launch.block = {kThreads, 1, 1};
  kernel.code = fmt::format("// fusetune elementwise epilogue of: {}\n\n", spec.canonical());
  kernel.code += inline_template("common.cuh", templates::common_cuh);
  kernel.code += "\nnamespace {\n\n" + emit_epilogue(spec) + "\n}  // namespace\n\n";
  kernel.code += fmt::format(
      "extern \"C\" __global__ void __launch_bounds__({0})\n"
      "{1}(const __grid_constant__ ft::LaunchArgs args) {{\n"
      "  const long long i = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) * "
      "{2};\n"
      "  if (i >= {3}LL * {4}LL) return;\n"
      "  float v[{2}];\n"
      "  ft::load_floats<{2}>(v, {5} + i);\n"
      "  Epilogue{{args}}.apply<{2}>(v, static_cast<int>(i / {4}), static_cast<int>(i % {4}));\n"
      "  ft::store_floats<{2}>({5} + i, v);\n"
      "}}\n",
      kThreads, kernel.name, width, m, n, output_pointer(spec.main));
  return kernel;
}

}  // namespace fusetune
