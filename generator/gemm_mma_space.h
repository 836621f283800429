// The search space of the tensor-core GEMM template for one precision (TF32 or 3xTF32).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/gemm_mma_config.h"
#include "generator/spec.h"

namespace fusetune {

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_mma_rejection(const MainOp& main, const DeviceLimits& limits,
                                              const GemmMmaConfig& config);

// Every configuration of `precision` (tf32 or 3xtf32) that passes, best predicted first.
std::vector<GemmMmaConfig> gemm_mma_space(const MainOp& main, const DeviceLimits& limits,
                                          Precision precision);

// A rough relative time (waves, occupancy, MMAs per shared-memory load); orders the sweep.
double gemm_mma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                               const GemmMmaConfig& config);

// The configuration for a spec never tuned at `precision`.
GemmMmaConfig gemm_mma_default(const MainOp& main, const DeviceLimits& limits, Precision precision);

}  // namespace fusetune
