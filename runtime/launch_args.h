// The single kernel parameter of every generated kernel, as the host fills it. Mirrors
// ft::LaunchArgs in templates/common.cuh byte for byte.
#pragma once

#include <cstddef>

namespace fusetune {

constexpr int kMaxTensors = 16;
constexpr int kMaxScalars = 16;

struct LaunchArgs {
  const float* tensors[kMaxTensors] = {};  // main-op inputs first, then epilogue operands
  float* out = nullptr;
  float scalars[kMaxScalars] = {};
  // The rows of x and of the output (a GEMM's M; MainOp::launch_rows()): what a bucket's kernel
  // runs; kernels of one shape have theirs compiled in. Filled for every launch all the same.
  int rows = 0;
};

static_assert(offsetof(LaunchArgs, out) == 8 * kMaxTensors);
static_assert(offsetof(LaunchArgs, scalars) == 8 * kMaxTensors + 8);
static_assert(offsetof(LaunchArgs, rows) == 8 * kMaxTensors + 8 + 4 * kMaxScalars);
static_assert(sizeof(LaunchArgs) == 8 * kMaxTensors + 8 + 4 * kMaxScalars + 8);

}  // namespace fusetune
