// The backward pass of a spec (a main op, elementwise ops and a pool step), planned from the
// forward's definition: the chain's derivative, generated from each op's registered derivative
// (ops.h), and the products of the main op's backward as specs of their own, tuned, verified and
// cached like any spec. A training step's forward runs `saving` in place of the spec: the same
// fused kernel, also writing the main op's result, from which the derivative recomputes every
// op's input instead of keeping them.
//
//   linear(m=M, n=N, k=K) -> bias -> mul(2.0) -> leaky_relu(0.1)      forward, out = chain(x Wᵀ)
//   g' = chain'(g)                        emit_chain_derivative: g' [M, N], d bias = Σ_m g'
//   d x = matmul(m=M, n=K, k=N)           g' [M, N] · W [N, K]
//   d W = matmul(m=N, n=K, k=M, transpose_a=true)    g'ᵀ · x
//
// A convolution's data gradient is the convolution the other way (a transposed one for a plain
// one, and the reverse) over g' with the same weight; its weight gradient has no kernel yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// One product of the backward as a spec of its own, and which tensor each of its operands is:
// "grad_main" (g', what the chain's derivative writes), "a" or "b" (the forward's first and
// second operand: x and the weight), each with "_t" where the operand is a transposed copy of
// that matrix (its [rows, columns] as [columns, rows], contiguous).
struct Product {
  Spec spec;
  std::vector<std::string> operands;
};

struct BackwardPlan {
  Spec saving;  // the spec with `save` first: also writes the main op's result
  // d loss / d x (linear), d a (matmul) or the convolution's input, from g'; stored as x, a or
  // the input is: a matmul, or for a convolution the convolution the other way.
  Product grad_a;
  // d loss / d weight (linear) or d b (matmul), from g'; stored as the weight or b is. None for
  // convolutions yet: grad_b_missing says so.
  std::optional<Product> grad_b;
  std::string grad_b_missing;
  // fp32 matmul products whose operands are not both k-contiguous, again with both k-contiguous
  // after transposed copies: TF32 wgmma (the fastest fp32 family) takes only those. Which of
  // the two forms is faster, transposes included, is measured, not assumed.
  std::optional<Product> grad_a_k_major;
  std::optional<Product> grad_b_k_major;
};

// The backward of `spec`. Throws Error(invalid_argument) naming what has no fused backward yet
// (check_fused_backward).
BackwardPlan plan_backward(const Spec& spec);

// Returns where `spec` has a fused backward: a chain of elementwise ops with at most one max or
// avg pool step, or one reduction or normalization: of a linear or matmul's value over its
// features (sum, mean, amax, amin, softmax, log_softmax, logsumexp, layer_norm, rms_norm), groups
// of them (group_norm) or its rows (batch_norm in training mode); of a convolution's over its
// channels (dim=1), groups of channels (group_norm), a channel's positions (instance_norm) or a
// channel over the batch (batch_norm in training mode); after which only ops without operand
// tensors come. Throws Error(invalid_argument)
// naming what has none yet: another reduction, a second pool step, global_avg_pool, an operand that
// is the main op's result, an operand tensor after the pool or reduction, a column or row operand
// before a reduction other than a leading bias, a row range, a spec that already saves.
void check_fused_backward(const Spec& spec);

// The largest group a reduction's backward holds in one block's registers (32 values for each
// of 256 threads); larger groups gather their statistics over several blocks first.
constexpr std::int64_t kMaxHeldRow = 8192;

// How many of the spec's tensors its chain's ops read (J in chain_derivative.h).
std::size_t chain_operand_count(const Spec& spec);

// The tensors of emit_chain_derivative()'s launch, named: "grad", "saved", the spec's operands
// by their own names, then "grad_" and each operand's name (updated: written).
std::vector<TensorArg> chain_derivative_tensors(const Spec& spec);

}  // namespace fusetune
