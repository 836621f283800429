// The search space of the Hopper warpgroup-MMA GEMM template for one precision (TF32 or
// 3xTF32). Empty off sm_90 and for operands that are not K-contiguous.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/gemm_wgmma_config.h"
#include "generator/spec.h"

namespace fusetune {

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_wgmma_rejection(const MainOp& main, const DeviceLimits& limits,
                                                const GemmWgmmaConfig& config);

// Every configuration of `precision` (tf32 or 3xtf32) that passes, best predicted first.
std::vector<GemmWgmmaConfig> gemm_wgmma_space(const MainOp& main, const DeviceLimits& limits,
                                              Precision precision);

// A rough relative time (waves of persistent tiles, tensor-core efficiency); orders the sweep.
double gemm_wgmma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                 const GemmWgmmaConfig& config);

}  // namespace fusetune
