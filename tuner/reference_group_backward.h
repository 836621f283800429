// The fp64 backward of one group of a reduction or normalization (generator/reductions.h): from
// the gradient of the group's result, the gradient of its input values, by PyTorch's backward
// formulas (derivatives.yaml and its normalization kernels). Written apart from the forward
// references and from any kernel text, so that a wrong kernel fails against it.
#pragma once

#include <span>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// d loss / d x for the group `x` of `op`, whose forward result (before any weight and bias) is
// `y` (one value for a reducing op, one per element for a normalizing one), given d loss / d y
// in `gradient` (likewise; for an affine normalization, already multiplied by the weight).
// `params` are the op's scalars (eps, momentum). Sums and means spread their gradient evenly;
// amax and amin split it evenly among the values equal to the result, as PyTorch does;
// batch_norm in eval mode (the running statistics, which get no gradient) is not a group op:
// its element gradient is gradient / sqrt(running_var + eps), the caller's to apply. Throws
// Error(invalid_argument) naming an op it does not cover.
std::vector<double> group_backward(const ReductionOp& op, std::span<const double> x,
                                   std::span<const double> y, std::span<const double> gradient,
                                   std::span<const double> params);

}  // namespace fusetune
