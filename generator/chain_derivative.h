// The kernels that take the gradient of a spec's output back through its chain (the backward of
// chain_backward.h's plan): generated from each op's registered derivative (ops.h), recomputing
// every op's input from the main op's result that the saving forward wrote.
#pragma once

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

// One kernel writes g' (d loss / d the main op's result) at every element, and the gradients of
// tensor operands; one per column, row or channel operand then sums its gradient over the
// rows, the columns, or the batch and positions. Through a max pool an element gets the pooled
// gradient of each window whose first largest value it is; through an avg pool, its share of
// every window that holds it: a thread per window where the windows tile the value, else a
// thread per element, and the operands' terms left in the workspace for their sums. Their
// LaunchArgs:
//   tensors[0]       d loss / d output: output_shape(), the output's dtype
//   tensors[1]       the main op's result as `saving` wrote it: the main op's dtype
//   tensors[t]       t = 2 ..: the spec's own tensor t (Spec::tensors()): its chain's operands
//   tensors[t + J]   their gradients, written (J operands; the main op's dtype)
//   out              g', the main op's dtype
//   scalars          the spec's scalars, as its forward takes them
// Throws as check_fused_backward() does, and Error(invalid_argument) where 2 + 2J tensors are
// more than a launch takes.
KernelSource emit_chain_derivative(const Spec& spec);

}  // namespace fusetune
