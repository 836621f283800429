// The host half of the fp64 reference: what follows a spec's main op (its elementwise ops, pool
// steps, reductions and normalizations), in fp64, stage by stage of the spec's IR, from the
// registries' reference functions and PyTorch's definitions of pooling. Shares no code with
// the templates.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// The values of the spec's input tensor `index` (Spec::tensors() order), as the kernel reads
// them, in fp32.
using TensorValues = std::function<std::vector<float>(std::size_t index)>;

struct ChainReference {
  std::vector<double> output;  // output_shape(), row-major
  // What the kernel leaves in each tensor it updates, by Spec::tensors() index: batch_norm's
  // running statistics in training mode.
  std::map<std::size_t, std::vector<double>> updated;
};

// The spec's output in fp64 from `main_result`, the main op's result in fp64 (main_shape(),
// row-major). Operands: a column is read at the element's column, a row at its row, a channel
// vector at its channel, a tensor at the element itself, `main` at the element of the main op's
// result after a leading bias (before any op when the chain starts otherwise). Pools: max
// ignores padding; avg divides by the window clipped to [−padding, size + padding)
// (count_include_pad=True); global_avg is the mean over all positions. Reductions: each group
// through its op's fp64 reference, then the weight and bias; batch_norm in eval mode with its
// running statistics. Each operand tensor is read once, through `tensor_values`, when its op
// comes. Throws Error(internal) when the spec's shapes and the values disagree.
ChainReference reference_chain(const Spec& spec, std::vector<double> main_result,
                               const TensorValues& tensor_values);

// reference_chain()'s output alone.
std::vector<double> reference_epilogue(const Spec& spec, std::vector<double> main_result,
                                       const TensorValues& tensor_values);

}  // namespace fusetune
