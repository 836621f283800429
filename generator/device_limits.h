// The resource limits that decide whether a kernel configuration can run on a device. Filled
// from the GPU at hand (runtime/device.h) or, for compile-only sweeps, from a table per arch.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fusetune {

struct DeviceLimits {
  std::string arch;            // "sm_90": the NVRTC target
  int sm_count = 0;            // streaming multiprocessors
  int max_smem_per_block = 0;  // bytes, with the opt-in for large dynamic shared memory
  int smem_per_sm = 0;         // bytes
  int regs_per_sm = 65536;     // 32-bit registers
  int max_threads_per_sm = 2048;
  int max_blocks_per_sm = 32;

  // Limits of the reference GPU of an arch: sm_80 an A100, sm_90 an H100 SXM. nullopt for an
  // arch fusetune does not target.
  static std::optional<DeviceLimits> for_arch(std::string_view arch);
};

// The archs fusetune generates code for, in the form --arch takes.
inline constexpr std::string_view kSupportedArchs[] = {"sm_80", "sm_86", "sm_89", "sm_90"};

}  // namespace fusetune
