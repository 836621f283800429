#include "generator/device_limits.h"

namespace fusetune {

std::optional<DeviceLimits> DeviceLimits::for_arch(std::string_view arch) {
  // Figures from the CUDA programming guide's table of compute capabilities.
  if (arch == "sm_80") return DeviceLimits{"sm_80", 108, 163 * 1024, 164 * 1024, 65536, 2048, 32};
  if (arch == "sm_86") return DeviceLimits{"sm_86", 84, 99 * 1024, 100 * 1024, 65536, 1536, 16};
  if (arch == "sm_89") return DeviceLimits{"sm_89", 128, 99 * 1024, 100 * 1024, 65536, 1536, 24};
  if (arch == "sm_90") return DeviceLimits{"sm_90", 132, 227 * 1024, 228 * 1024, 65536, 2048, 32};
  return std::nullopt;
}

}  // namespace fusetune
