// The search space of the direct-convolution template: a table of tunable ranges, filtered by
// constraints that each say why a configuration is left out, ordered by a cost model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "generator/conv_simt_config.h"
#include "generator/device_limits.h"
#include "generator/spec.h"

namespace fusetune {

// Why `config` cannot run (or would waste most of its threads) for `spec` on `limits`; nullopt
// if it can.
std::optional<std::string> conv_simt_rejection(const Spec& spec, const DeviceLimits& limits,
                                               const ConvSimtConfig& config);

// The best predicted configurations that pass the constraints (at most kConvSimtSpaceSize),
// best first. Empty for specs that are not convolutions.
std::vector<ConvSimtConfig> conv_simt_space(const Spec& spec, const DeviceLimits& limits);
inline constexpr std::size_t kConvSimtSpaceSize = 96;

// A relative time from a model of FFMA and load issue, occupancy and waves.
double conv_simt_predicted_cost(const Spec& spec, const DeviceLimits& limits,
                                const ConvSimtConfig& config);

// The configuration for a spec never tuned; throws Error(invalid_argument) with the reason
// when no configuration can run it.
ConvSimtConfig conv_simt_default(const Spec& spec, const DeviceLimits& limits);

}  // namespace fusetune
