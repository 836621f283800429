// The GPU this process runs on, found without crashing where there is none: on a machine with
// no driver the CUDA runtime still loads and reports why no device is usable.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "cache/soft_keys.h"
#include "generator/device_limits.h"

namespace fusetune {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  int l2_bytes = 0;
  std::size_t memory_bytes = 0;
  int driver_version = 0;  // e.g. 13000
  DeviceLimits limits;
  cache::SoftKeys soft_keys;  // the driver, peak clocks, ECC and MPS, as a tuning records them

  std::string arch() const;         // "sm_90"
  std::string description() const;  // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
};

struct DeviceProbe {
  std::optional<DeviceInfo> device;
  std::string problem;  // why there is no usable device, when device is empty
};

// Looks for CUDA device `ordinal` with compute capability 8.0 or newer.
DeviceProbe probe_device(int ordinal = 0);

// probe_device, or throws Error(no_device) with the problem and what to do.
DeviceInfo require_device(int ordinal = 0);

}  // namespace fusetune
