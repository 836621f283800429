// The cache key of a tuning result: the problem, the precision, the device and the code.
#pragma once

#include <string>

#include "cache/database.h"
#include "generator/spec.h"

namespace fusetune {

// `device_name` and `sm_count` describe the GPU; for a compile-only sweep there is none.
cache::TuningKey tuning_key(const Spec& spec, const std::string& precision,
                            const std::string& device_name, const std::string& arch, int sm_count);

}  // namespace fusetune
