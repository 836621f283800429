// The search space of the tensor-core GEMM template for one precision: TF32 or 3xTF32 on fp32
// data, bf16 or fp16 on data of that type.
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

// Every configuration of `precision` that passes, best predicted first; none for fp32 (the
// SIMT family's) or a precision that does not read the spec's dtype.
std::vector<GemmMmaConfig> gemm_mma_space(const MainOp& main, const DeviceLimits& limits,
                                          Precision precision);

// A rough relative time (waves, occupancy, MMAs per shared-memory load); orders the sweep.
double gemm_mma_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                               const GemmMmaConfig& config);

// The configuration for a spec never tuned at `precision`. For 16-bit operands of an odd
// contiguous extent no configuration can run; the one returned then fails gemm_mma_rejection,
// which says why.
GemmMmaConfig gemm_mma_default(const MainOp& main, const DeviceLimits& limits, Precision precision);

}  // namespace fusetune
