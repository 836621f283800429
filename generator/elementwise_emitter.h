// Emits the epilogue chain alone as an elementwise kernel that rewrites a main op's output in
// place: what a library GEMM needs after it to compute a spec (the benchmark's baseline).
#pragma once

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

// Kernel "ft_epilogue_<M>x<N>": reads and writes args.out, operands as in the fused kernel.
KernelSource emit_elementwise_epilogue(const Spec& spec);

}  // namespace fusetune
