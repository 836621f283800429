// The cache key of a tuning result: the problem, the precision, the device and the code.
#pragma once

#include <optional>
#include <string>

#include "cache/database.h"
#include "generator/device_limits.h"
#include "generator/spec.h"

namespace fusetune {

// `device_name` and `sm_count` describe the GPU; for a compile-only sweep there is none.
cache::TuningKey tuning_key(const Spec& spec, const std::string& precision,
                            const std::string& device_name, const std::string& arch, int sm_count);

// The limits of the GPU a tuning was made on, as far as its key tells: its arch's table with its
// SM count (what validated_config checks a stored configuration against where that GPU is not
// here). nullopt for an arch fusetune does not target.
std::optional<DeviceLimits> key_limits(const cache::TuningKey& key);

}  // namespace fusetune
