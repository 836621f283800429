// What makes a GEMM (linear, matmul) well-formed beyond its grammar: sizes the kernels can index.
// The check the spec parser runs after reading the main op, kept apart from the grammar as
// conv_rules.h is for convolutions.
#pragma once

#include <optional>

#include "generator/spec.h"
#include "generator/tensor_limits.h"

namespace fusetune {

// nullopt when m, n and k are each at most kMaxGemmExtent and both operands and the output have
// at most kMaxTensorElements elements; else the problem, blaming the larger extent of the
// tensor at fault (the one to make smaller).
std::optional<MainOpProblem> gemm_problem(const MainOp& main);

}  // namespace fusetune
