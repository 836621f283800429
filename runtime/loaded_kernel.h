// A compiled kernel loaded into the current CUDA context, ready to launch. Uses the CUDA
// runtime's library API, so fusetune links no driver library and starts without a GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <vector>

#include "generator/kernel_source.h"
#include "runtime/launch_args.h"

namespace fusetune {

class LoadedKernel {
 public:
  // Loads `cubin`, finds `entry` and allows it the dynamic shared memory `geometry` asks for.
  // Throws Error(cuda_error) saying which step failed.
  LoadedKernel(const std::vector<char>& cubin, const std::string& entry,
               const LaunchGeometry& geometry);
  ~LoadedKernel();
  LoadedKernel(LoadedKernel&& other) noexcept;
  LoadedKernel& operator=(LoadedKernel&& other) noexcept;
  LoadedKernel(const LoadedKernel&) = delete;
  LoadedKernel& operator=(const LoadedKernel&) = delete;

  // Enqueues one launch; the launch error, if any (execution errors surface later).
  cudaError_t launch(cudaStream_t stream, const LaunchArgs& args) const;

  const LaunchGeometry& geometry() const { return geometry_; }
  int registers() const { return registers_; }

 private:
  cudaLibrary_t library_ = nullptr;
  cudaKernel_t kernel_ = nullptr;
  LaunchGeometry geometry_;
  int registers_ = 0;
};

}  // namespace fusetune
