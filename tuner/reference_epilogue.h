// The host half of the fp64 reference: what follows a spec's main op (its epilogue ops, the
// pool step and the ops after it), in fp64, from the op registry's reference functions and
// PyTorch's definitions of pooling. Shares no code with the templates.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// The values of the spec's input tensor `index` (Spec::tensors() order), as the kernel reads
// them, in fp32.
using TensorValues = std::function<std::vector<float>(std::size_t index)>;

// The spec's output in fp64 (output_shape(), row-major) from `main_result`, the main op's result
// in fp64 (main_shape(), row-major). Operands: a column is read at the element's column, a row at
// its row, a channel vector at its channel, a tensor at the element itself, `main` at the element
// of the main op's result after a leading bias (before any op when the chain starts otherwise).
// Pools: max ignores padding; avg divides by the window clipped to [−padding, size + padding)
// (count_include_pad=True); global_avg is the mean over all positions. Each operand tensor is
// read once, through `tensor_values`, when its op comes. Throws Error(internal) when the
// spec's shapes and the values disagree.
std::vector<double> reference_epilogue(const Spec& spec, std::vector<double> main_result,
                                       const TensorValues& tensor_values);

}  // namespace fusetune
