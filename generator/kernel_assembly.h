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

}  // namespace fusetune
