#include "runtime/tuning_key.h"

#include "generator/version.h"
#include "runtime/nvrtc.h"

namespace fusetune {

cache::TuningKey tuning_key(const Spec& spec, const std::string& precision,
                            const std::string& device_name, const std::string& arch, int sm_count) {
  return {spec.signature(), precision,       device_name,        arch,
          sm_count,         nvrtc_version(), generator_version()};
}

std::optional<DeviceLimits> key_limits(const cache::TuningKey& key) {
  std::optional<DeviceLimits> limits = DeviceLimits::for_arch(key.arch);
  if (limits) limits->sm_count = key.sm_count;
  return limits;
}

}  // namespace fusetune
