// A fused operation that one kernel cannot compute alone runs as a plan: the main kernel (of any
// family) computes the main op and the first stages of the chain, the stages a tile can finish
// on its own; finishing kernels generated from the rest of the IR (finishing_emitter.h)
// complete it. All of a plan's kernels are one source, one module and one cached binary; the
// tuner verifies and times the plan as a whole.
#pragma once

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

// The part of `spec` a main kernel computes: the main op and the chain's leading elementwise
// ops; with `holds_channels` (each thread of the kernel holds every channel of its positions),
// also a softmax or log_softmax over the channels (dim=1) right after them, and the elementwise
// ops after it; else, with `fuses_pool` (the family's kernels pool in their epilogue), a first
// pool step that only elementwise ops precede, and the elementwise ops right after it. `spec`
// itself where that is the whole chain.
Spec main_kernel_spec(const Spec& spec, bool fuses_pool, bool holds_channels = false);

// `main`, generated for `main_spec` (main_kernel_spec(spec, ...)), with the kernels that finish
// `spec` after it; `main` unchanged where it computes the whole spec.
KernelSource with_finishing_kernels(const Spec& spec, const Spec& main_spec, KernelSource main);

}  // namespace fusetune
