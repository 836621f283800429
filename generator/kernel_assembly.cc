#include "generator/kernel_assembly.h"

#include <fmt/format.h>

#include "generator/epilogue_emitter.h"
#include "generator/template_text.h"

namespace fusetune {

std::string tensor_pointer(int i, DataType type) {
  if (type == DataType::fp32) return fmt::format("args.tensors[{}]", i);
  return fmt::format("reinterpret_cast<const {}*>(args.tensors[{}])", cuda_type(type), i);
}

std::string output_pointer(const MainOp& main) {
  if (main.output_dtype() == DataType::fp32) return "args.out";
  return fmt::format("reinterpret_cast<{}*>(args.out)", cuda_type(main.output_dtype()));
}

std::string gemm_shape_constants(const MainOp& main) {
  // A bucket's M is its top; the rows of a launch come in LaunchArgs::rows (ft::row_count).
  return fmt::format(
      "  static constexpr int M = {}, N = {}, K = {};{}\n"
      "  static constexpr bool A_K_CONTIGUOUS = {}, B_K_CONTIGUOUS = {}, DYNAMIC_M = {};\n",
      main.m, main.n, main.k,
      main.is_row_range() ? fmt::format("  // M: the most rows, of {}..{}", main.m_min, main.m)
                          : "",
      main.a_k_contiguous(), main.b_k_contiguous(), main.is_row_range());
}

std::string guard_constants(const EdgeGuards& guards, bool with_k) {
  return fmt::format("  static constexpr bool GUARD_M = {}, GUARD_N = {}{};\n", guards.m, guards.n,
                     with_k ? fmt::format(", GUARD_K = {}", guards.k) : "");
}

std::string smem_constant(int bytes) {
  return fmt::format("  static constexpr int SMEM_BYTES = {};  // what the launch gives\n", bytes);
}

KernelSource assemble_kernel(const Spec& spec, const KernelParts& parts) {
  KernelSource kernel;
  kernel.name = parts.name;
  kernel.launch = parts.launch;
  kernel.arch_specific = parts.arch_specific;
  const LaunchGeometry& g = parts.launch;
  std::string& code = kernel.code;
  code = fmt::format(
      "// fusetune generated kernel; regenerate with: fusetune gen \"{0}\" --config {1}\n"
      "// spec:   {0}\n"
      "// config: {1}\n"
      "// launch: grid ({2}, {3}, {4}), block ({5}, 1, 1), {6} bytes of dynamic shared memory\n\n",
      spec.canonical(), parts.name, g.grid[0], g.grid[1], g.grid[2], g.block[0],
      g.dynamic_smem_bytes);
  for (const auto& [file, text] : parts.templates) code += inline_template(file, text) + '\n';
  code += "// ---- generated ----\nnamespace {\n\n";
  code += parts.config;
  code += '\n';
  code += emit_epilogue(spec);
  code += "\n}  // namespace\n\n";
  // TMA descriptors follow the arguments; the copy engine reads them from parameter space.
  std::string tensor_maps;
  for (std::size_t i = 0; i < g.tensor_maps.size(); ++i)
    tensor_maps += fmt::format(", const __grid_constant__ ft::TensorMap map{}", i);
  if (g.workspace_bytes > 0) tensor_maps += ", float* __restrict__ workspace";
  code += fmt::format(
      "extern \"C\" __global__ void __launch_bounds__({}, {}){}\n"
      "{}(const __grid_constant__ ft::LaunchArgs args{}) {{\n{}}}\n",
      g.block[0], parts.min_blocks,
      g.cluster > 1 ? fmt::format(" __cluster_dims__({}, 1, 1)", g.cluster) : "", parts.name,
      tensor_maps, parts.body);
  return kernel;
}

std::string asm_operands(int first, int count) {
  std::string list;
  for (int i = 0; i < count; ++i) list += fmt::format("{}%{}", i ? ", " : "", first + i);
  return list;
}

std::string asm_bindings(std::string_view constraint, std::string_view array, int count) {
  std::string list;
  for (int i = 0; i < count; ++i)
    list += fmt::format("{}\"{}\"({}[{}])", i ? ", " : "", constraint, array, i);
  return list;
}

}  // namespace fusetune
