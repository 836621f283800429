// The search space of the SIMT GEMM template: the product of the tunables' ranges (a table),
// filtered by constraints that each say why a configuration is left out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/gemm_simt_config.h"
#include "generator/spec.h"

namespace fusetune {

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemm_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemmSimtConfig& config);

// Every configuration that passes the constraints, best predicted first.
std::vector<GemmSimtConfig> gemm_simt_space(const MainOp& main, const DeviceLimits& limits);

// A rough relative time from a model of waves, occupancy and per-thread efficiency: orders the
// sweep (so that slow candidates can be abandoned early) and picks the untuned default.
double gemm_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemmSimtConfig& config);

// The configuration to use for a spec that was never tuned.
GemmSimtConfig gemm_simt_default(const MainOp& main, const DeviceLimits& limits);

}  // namespace fusetune
