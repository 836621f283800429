// The search space of the SIMT matrix-vector template for fp32 products with at most 16 rows
// of x: the product of the tunables' ranges (a table), filtered by constraints that each say
// why a configuration is left out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/gemv_simt_config.h"
#include "generator/spec.h"

namespace fusetune {

// The most rows of x (M) the family takes.
inline constexpr int kGemvMaxRows = 16;

// Why `config` cannot run (or cannot be competitive) for `main` on `limits`; nullopt if it can.
std::optional<std::string> gemv_simt_rejection(const MainOp& main, const DeviceLimits& limits,
                                               const GemvSimtConfig& config);

// Every configuration that passes the constraints, best predicted first; empty for M > 16.
std::vector<GemvSimtConfig> gemv_simt_space(const MainOp& main, const DeviceLimits& limits);

// A rough relative time, in bytes of memory traffic: B streamed once per tile of rows of x,
// slowed where too few loads are in flight to cover the memory's latency or where the blocks
// leave SMs unevenly loaded, or set by shared-memory reads or FFMAs where those take longer;
// plus what staging x and split-K add. Orders the sweep.
double gemv_simt_predicted_cost(const MainOp& main, const DeviceLimits& limits,
                                const GemvSimtConfig& config);

}  // namespace fusetune
