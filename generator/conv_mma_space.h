// The search space of the implicit-GEMM tensor-core convolution template for TF32 or 3xTF32: a
// table of tunable ranges, filtered by rules that each say why a configuration is left out,
// ordered by a cost model.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "generator/conv_mma_config.h"
#include "generator/device_limits.h"
#include "generator/spec.h"

namespace fusetune {

// Why conv_mma cannot run `spec` with any configuration (a transposed convolution, a pool step,
// 16-bit data); nullopt when it can.
std::optional<std::string> conv_mma_spec_rejection(const Spec& spec);

// Why `config` cannot run (or cannot be competitive) for `spec` on `limits`; nullopt if it can.
std::optional<std::string> conv_mma_rejection(const Spec& spec, const DeviceLimits& limits,
                                              const ConvMmaConfig& config);

// The best predicted configurations of `precision` (tf32 or 3xtf32) that pass, at most
// kConvMmaSpaceSize, best first; none for another precision or a spec conv_mma cannot run.
std::vector<ConvMmaConfig> conv_mma_space(const Spec& spec, const DeviceLimits& limits,
                                          Precision precision);
inline constexpr std::size_t kConvMmaSpaceSize = 96;

// A rough relative time: waves, occupancy, MMAs per shared-memory load, and the instructions
// of the A gather per MMA.
double conv_mma_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                               const ConvMmaConfig& config);

// The configuration for a spec never tuned at `precision`; throws Error(invalid_argument) with
// the reason when none can run it.
ConvMmaConfig conv_mma_default(const Spec& spec, const DeviceLimits& limits, Precision precision);

}  // namespace fusetune
