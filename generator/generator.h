// The generator's entry points: the search space of a spec on a device, the default for a spec
// never tuned, and the source of one configuration. One template family so far (SIMT GEMM);
// KernelConfig becomes a variant when the tensor-core families arrive.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "generator/device_limits.h"
#include "generator/gemm_simt_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

using KernelConfig = GemmSimtConfig;

struct Candidate {
  KernelConfig config;
  std::string name;  // procedural name (depends on the spec's shape through the edge guards)
};

// Every candidate the generator would try for `spec` on `limits`, best predicted first.
std::vector<Candidate> search_space(const Spec& spec, const DeviceLimits& limits);

// What to run when `spec` was never tuned.
Candidate default_candidate(const Spec& spec, const DeviceLimits& limits);

// The candidate a procedural name describes; throws fusetune::Error(invalid_argument) saying
// why when the name does not parse or the configuration cannot run `spec` on `limits`.
Candidate candidate_from_name(const Spec& spec, const DeviceLimits& limits, std::string_view name);

KernelSource generate(const Spec& spec, const KernelConfig& config);

std::string config_json(const KernelConfig& config);
// Throws fusetune::Error(invalid_argument) for JSON that does not describe a configuration.
KernelConfig config_from_json(std::string_view json);

}  // namespace fusetune
