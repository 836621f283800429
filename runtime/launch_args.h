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
};

static_assert(offsetof(LaunchArgs, out) == 8 * kMaxTensors);
static_assert(offsetof(LaunchArgs, scalars) == 8 * kMaxTensors + 8);
static_assert(sizeof(LaunchArgs) == 8 * kMaxTensors + 8 + 4 * kMaxScalars);

}  // namespace fusetune
