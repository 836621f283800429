// What the generator hands to the compiler and the launcher.
#pragma once

#include <array>
#include <string>

namespace fusetune {

struct LaunchGeometry {
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned dynamic_smem_bytes = 0;

  friend bool operator==(const LaunchGeometry&, const LaunchGeometry&) = default;
};

struct KernelSource {
  std::string name;  // procedural config name, also the kernel's entry symbol
  std::string code;  // complete, self-contained CUDA C++ (compiles with nvcc or NVRTC)
  LaunchGeometry launch;
};

}  // namespace fusetune
