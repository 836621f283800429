// A compiled kernel loaded into the current CUDA context, ready to launch. Uses the CUDA
// runtime's library API, so fusetune links no driver library and starts without a GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "generator/kernel_source.h"
#include "runtime/launch_args.h"
#include "runtime/prepared_operands.h"
#include "runtime/stream_workspaces.h"
#include "runtime/verdict_watch.h"

namespace fusetune {

class LoadedKernel {
 public:
  // Loads `cubin`, finds `entry` and allows it the dynamic shared memory `geometry` asks for;
  // a cluster kernel's persistent grid is cut to the clusters that fit the GPU at once. A plan's
  // preparing and finishing kernels are further entries of the same cubin. Throws Error(cuda_error)
  // saying which step failed.
  LoadedKernel(const std::vector<char>& cubin, const std::string& entry,
               const LaunchGeometry& geometry, const FinishingPlan& finishing = {});
  ~LoadedKernel();
  LoadedKernel(LoadedKernel&& other) noexcept;
  LoadedKernel& operator=(LoadedKernel&& other) noexcept;
  LoadedKernel(const LoadedKernel&) = delete;
  LoadedKernel& operator=(const LoadedKernel&) = delete;

  // Allocates (and zeroes) `stream`'s workspace where a kernel needs one, as a first launch would,
  // so that no launch on `stream` allocates afterwards and a CUDA graph may capture any of them;
  // the CUDA error, if any. Nothing to do for kernels without a workspace.
  cudaError_t prepare(cudaStream_t stream) const;
  // Enqueues the kernel, or a plan's kernels in order; the launch error, if any (execution
  // errors surface later). A plan with a guard (int8x) has its verdict read back behind it and
  // says once, on stderr, when a launch computed in fp32 instead. Kernels that need a workspace get
  // their stream's, allocated (and zeroed) on that stream's first launch unless prepare() did; a
  // launch that would allocate while `stream` is captured returns cudaErrorStreamCaptureUnsupported
  // instead. `unchanged` (bit t: LaunchArgs::tensors[t]) names operands the caller promises are
  // unchanged since the last launch on `stream` that passed the same address: a preparing step of
  // such an operand alone (KernelStep::prepares_tensor) that ran then is skipped.
  cudaError_t launch(cudaStream_t stream, const LaunchArgs& args,
                     std::uint32_t unchanged = 0) const;

  bool needs_workspace() const { return workspaces_ != nullptr; }
  // `stream`'s workspace, allocated as prepare() would, where the kernels leave what a caller
  // reads back (a slicing pass's digits); nullptr for kernels without one. Throws
  // Error(cuda_error) when the allocation fails.
  void* workspace(cudaStream_t stream) const;

  const LaunchGeometry& geometry() const { return main_.geometry; }  // the main kernel's
  int registers() const { return registers_; }                       // the main kernel's

 private:
  struct Entry {
    cudaKernel_t kernel = nullptr;
    LaunchGeometry geometry;
    std::optional<int> prepares_tensor = std::nullopt;  // KernelStep's
  };

  Entry find_entry(const std::string& entry, const LaunchGeometry& geometry) const;
  // Cluster kernels: the grid is cut to the clusters cudaOccupancyMaxActiveClusters says fit.
  static void trim_grid_to_active_clusters(Entry& entry, const std::string& name);
  static cudaError_t launch_entry(const Entry& entry, cudaStream_t stream, const LaunchArgs& args,
                                  void* workspace);

  cudaLibrary_t library_ = nullptr;
  Entry main_;
  std::vector<Entry> preparing_;  // launched before the main kernel
  std::vector<Entry> finishing_;
  std::optional<std::uint64_t> main_output_offset_;
  int registers_ = 0;
  std::unique_ptr<StreamWorkspaces> workspaces_;  // when some kernel needs one
  std::unique_ptr<VerdictWatch> verdict_;         // where a guard leaves a verdict
  std::unique_ptr<PreparedOperands> prepared_;    // where a preparing step may be skipped
};

}  // namespace fusetune
