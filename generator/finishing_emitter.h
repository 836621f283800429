// Emits the finishing kernels of a plan: where the main kernel computes only the first stages of
// a spec's chain (the stages a tile can finish alone), these kernels, generated from the rest of
// the IR, complete it. One statistics kernel per reduction (and per global average pool) gathers
// every group's statistics; one output kernel then computes each output element through the
// remaining stages, the statistics standing in for the reductions (templates/finishing.cuh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

struct FinishingKernels {
  std::string code;               // templates and generated code, to follow the main kernel
  std::vector<KernelStep> steps;  // their launches, in order
  // Where the main kernel's output goes: bytes into the plan's workspace, or nullopt when the
  // finishing kernels rewrite it in place in LaunchArgs::out (the chain keeps its shape).
  std::optional<std::uint64_t> main_output_offset;
  std::uint64_t workspace_bytes = 0;  // the whole plan's, the main kernel's own first
};

// The kernels that finish `spec` after a main kernel named `name` has computed its first
// `main_stages` stages, using the workspace's first `main_workspace_bytes` itself.
FinishingKernels emit_finishing_kernels(const Spec& spec, std::size_t main_stages,
                                        const std::string& name,
                                        std::uint64_t main_workspace_bytes);

}  // namespace fusetune
