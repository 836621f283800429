// The fp64 reference of a chain's backward pass: from the gradient of a spec's output, the
// gradients of the main op's result and of the chain's operand tensors, through each op's
// derivative reference (generator/ops.h), last op first. What fused backward kernels are
// verified against; shares no code with them.
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "generator/spec.h"
#include "tuner/reference_epilogue.h"

namespace fusetune {

struct ChainGradients {
  std::vector<double> main;  // d loss / d (the main op's result), main_shape()
  // d loss / d operand tensor, by Spec::tensors() index, in the operand's own shape: a column
  // summed over the rows, a row over the columns, a channel over the batch and positions.
  std::map<std::size_t, std::vector<double>> operands;
};

// The gradients of `spec`'s chain at `main_result` (the main op's result in fp64) for the
// output gradient `output_gradient` (output_shape()). Chains of elementwise ops whose operands
// are scalars or tensors, with at most one pool step (max or avg) or reduction (any of the
// registry's: each group's backward from reference_group_backward.h, and the gradients of a
// normalization's weight and bias), after which only ops without operand tensors come; what
// has no backward yet (a second pool step or reduction, global_avg_pool, a `main` operand, an
// operand after the pool or reduction) is refused with Error(invalid_argument) naming it. Max
// pools send a window's gradient to its first largest value (d, h, w order), as PyTorch does.
// Scalars and batch_norm's running statistics get no gradient: constants and buffers.
ChainGradients reference_chain_backward(const Spec& spec, const std::vector<double>& main_result,
                                        const std::vector<double>& output_gradient,
                                        const TensorValues& tensor_values);

}  // namespace fusetune
