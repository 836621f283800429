// A compiled kernel loaded into the current CUDA context, ready to launch. Uses the CUDA
// runtime's library API, so fusetune links no driver library and starts without a GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "generator/kernel_source.h"
#include "runtime/launch_args.h"
#include "runtime/stream_workspaces.h"

namespace fusetune {

class LoadedKernel {
 public:
  // Loads `cubin`, finds `entry` and allows it the dynamic shared memory `geometry` asks for;
  // a cluster kernel's persistent grid is cut to the clusters that fit the GPU at once.
  // Throws Error(cuda_error) saying which step failed.
  LoadedKernel(const std::vector<char>& cubin, const std::string& entry,
               const LaunchGeometry& geometry);
  ~LoadedKernel();
  LoadedKernel(LoadedKernel&& other) noexcept;
  LoadedKernel& operator=(LoadedKernel&& other) noexcept;
  LoadedKernel(const LoadedKernel&) = delete;
  LoadedKernel& operator=(const LoadedKernel&) = delete;

  // Enqueues one launch; the launch error, if any (execution errors surface later). A kernel
  // that needs a workspace gets its stream's, allocated on that stream's first launch.
  cudaError_t launch(cudaStream_t stream, const LaunchArgs& args) const;

  const LaunchGeometry& geometry() const { return geometry_; }
  int registers() const { return registers_; }

 private:
  // Cluster kernels: the grid is cut to the clusters cudaOccupancyMaxActiveClusters says fit.
  void trim_grid_to_active_clusters(const std::string& entry);

  cudaLibrary_t library_ = nullptr;
  cudaKernel_t kernel_ = nullptr;
  LaunchGeometry geometry_;
  int registers_ = 0;
  std::unique_ptr<StreamWorkspaces> workspaces_;  // when geometry_.workspace_bytes > 0
};

}  // namespace fusetune
