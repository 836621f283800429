// Puts a generated kernel's source together: a header naming the spec and the configuration,
// the template files it needs (verbatim), the generated Config and Epilogue structs, and the
// extern "C" entry that calls the template. Every template family's emitter ends here.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "generator/kernel_source.h"
#include "generator/spec.h"
#include "generator/tile_grid.h"

namespace fusetune {

struct KernelParts {
  std::string name;  // procedural name and entry symbol
  LaunchGeometry launch;
  std::vector<std::pair<std::string_view, std::string_view>> templates;  // {file, text}
  std::string config;  // the `struct Config { ... };` text
  std::string body;    // the entry's body, calling the template
  int min_blocks = 1;  // __launch_bounds__ blocks per SM
  bool arch_specific = false;
};

KernelSource assemble_kernel(const Spec& spec, const KernelParts& parts);

// Input tensor i as generated code reads it: "args.tensors[i]" for fp32, else a reinterpreting
// cast ("reinterpret_cast<const ft::bf16*>(args.tensors[i])").
std::string tensor_pointer(int i, DataType type);

// The entry's output pointer in the output's type: "args.out" for fp32, else a reinterpreting
// cast ("reinterpret_cast<ft::bf16*>(args.out)").
std::string output_pointer(const MainOp& main);

// Lines of a Config that several families share:
// "  static constexpr int M = 1024, N = 8192, K = 8192;\n" and the operands' layouts.
std::string gemm_shape_constants(const MainOp& main);
// "  static constexpr bool GUARD_M = true, GUARD_N = false, GUARD_K = false;\n" (no K: without it)
std::string guard_constants(const EdgeGuards& guards, bool with_k = true);
// "  static constexpr int SMEM_BYTES = 49152;  // what the launch gives\n"
std::string smem_constant(int bytes);

// Inline assembly with an operand per register of an array (a wgmma's accumulators): the
// operands "%first, ..., %first+count-1", and the bindings "<constraint>(array[0]), ..." of
// `count` elements.
std::string asm_operands(int first, int count);
std::string asm_bindings(std::string_view constraint, std::string_view array, int count);

}  // namespace fusetune
