// The backward pass of a GEMM spec (linear or matmul, then elementwise ops), planned from the
// forward's definition: the chain's derivative, generated from each op's registered derivative
// (ops.h), and the two products of a GEMM's backward as matmul specs, tuned, verified and
// cached like any spec. A training step's forward runs `saving` in place of the spec: the same
// fused kernel, also writing the main op's result, from which the derivative recomputes every
// op's input instead of keeping them.
//
//   linear(m=M, n=N, k=K) -> bias -> mul(2.0) -> leaky_relu(0.1)      forward, out = chain(x Wᵀ)
//   g' = chain'(g)                        emit_chain_derivative: g' [M, N], d bias = Σ_m g'
//   d x = matmul(m=M, n=K, k=N)           g' [M, N] · W [N, K]
//   d W = matmul(m=N, n=K, k=M, transpose_a=true)    g'ᵀ · x
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

struct BackwardPlan {
  Spec saving;  // the spec with `save` first: also writes the main op's result
  Spec grad_a;  // d loss / d x (linear) or d a (matmul), from g'; stored as x or a is
  Spec grad_b;  // d loss / d weight (linear) or d b, from g'; stored as the weight or b is
  // Per operand of grad_a and grad_b, which tensor it is: "grad_main" (g', what the chain's
  // derivative writes), or "a"/"b" (the forward's first and second operand: x and the weight).
  std::vector<std::string> grad_a_operands;
  std::vector<std::string> grad_b_operands;
};

// The backward of `spec`. Throws Error(invalid_argument) naming what has no fused backward yet:
// a convolution, a pool step, a reduction, an operand that is the main op's result, a row range.
BackwardPlan plan_backward(const Spec& spec);

// The kernels that take the gradient of `spec`'s output back through its chain: one writes g'
// (d loss / d the main op's result) and the gradients of tensor operands; one per column or row
// operand then sums its gradient over the rows or the columns. Their LaunchArgs:
//   tensors[0]       d loss / d output: output_shape(), the output's dtype
//   tensors[1]       the main op's result as `saving` wrote it: the main op's dtype
//   tensors[t]       t = 2 ..: the spec's own tensor t (Spec::tensors()): its chain's operands
//   tensors[t + J]   their gradients, written (J operands; the main op's dtype)
//   out              g', the main op's dtype
//   scalars          the spec's scalars, as its forward takes them
// Throws as plan_backward() does, and Error(invalid_argument) where 2 + 2J tensors are more
// than a launch takes.
KernelSource emit_chain_derivative(const Spec& spec);

// J above: how many of the spec's tensors its chain's ops read.
std::size_t chain_operand_count(const Spec& spec);

// The tensors of emit_chain_derivative()'s launch, named: "grad", "saved", the spec's operands
// by their own names, then "grad_" and each operand's name (updated: written).
std::vector<TensorArg> chain_derivative_tensors(const Spec& spec);

}  // namespace fusetune
