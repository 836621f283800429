#include "runtime/loaded_kernel.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "fusetune/status.h"
#include "generator/tile_grid.h"
#include "runtime/cuda_check.h"
#include "runtime/tensor_map.h"

namespace fusetune {

LoadedKernel::LoadedKernel(const std::vector<char>& cubin, const std::string& entry,
                           const LaunchGeometry& geometry, const FinishingPlan& finishing)
    : main_output_offset_(finishing.main_output_offset) {
  check_cuda(cudaLibraryLoadData(&library_, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
             fmt::format("loading the cubin of {}", entry));
  try {
    main_ = find_entry(entry, geometry);
    cudaFuncAttributes attributes{};
    check_cuda(cudaFuncGetAttributes(&attributes, reinterpret_cast<const void*>(main_.kernel)),
               fmt::format("reading the attributes of {}", entry));
    registers_ = attributes.numRegs;
    if (geometry.cluster > 1) trim_grid_to_active_clusters(main_, entry);
    std::uint64_t workspace_bytes = geometry.workspace_bytes;
    for (const KernelStep& step : finishing.preparing) {
      preparing_.push_back(find_entry(step.entry, step.launch));
      preparing_.back().prepares_tensor = step.prepares_tensor;
      if (step.prepares_tensor && !prepared_) prepared_ = std::make_unique<PreparedOperands>();
      workspace_bytes = std::max(workspace_bytes, step.launch.workspace_bytes);
    }
    for (const KernelStep& step : finishing.steps) {
      finishing_.push_back(find_entry(step.entry, step.launch));
      workspace_bytes = std::max(workspace_bytes, step.launch.workspace_bytes);
    }
    if (workspace_bytes > 0) workspaces_ = std::make_unique<StreamWorkspaces>(workspace_bytes);
    if (finishing.verdict_offset)
      verdict_ = std::make_unique<VerdictWatch>(*finishing.verdict_offset, entry);
  } catch (...) {
    cudaLibraryUnload(library_);
    throw;
  }
}

LoadedKernel::Entry LoadedKernel::find_entry(const std::string& entry,
                                             const LaunchGeometry& geometry) const {
  Entry found{.kernel = nullptr, .geometry = geometry};
  check_cuda(cudaLibraryGetKernel(&found.kernel, library_, entry.c_str()),
             fmt::format("finding kernel {} in its cubin", entry));
  check_cuda(cudaFuncSetAttribute(reinterpret_cast<const void*>(found.kernel),
                                  cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(geometry.dynamic_smem_bytes)),
             fmt::format("allowing {} bytes of dynamic shared memory to {}",
                         geometry.dynamic_smem_bytes, entry));
  return found;
}

void LoadedKernel::trim_grid_to_active_clusters(Entry& entry, const std::string& name) {
  LaunchGeometry& g = entry.geometry;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(g.grid[0], g.grid[1], g.grid[2]);
  config.blockDim = dim3(g.block[0], g.block[1], g.block[2]);
  config.dynamicSmemBytes = g.dynamic_smem_bytes;
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeClusterDimension;
  attribute.val.clusterDim.x = g.cluster;
  attribute.val.clusterDim.y = attribute.val.clusterDim.z = 1;
  config.attrs = &attribute;
  config.numAttrs = 1;
  int clusters = 0;
  check_cuda(cudaOccupancyMaxActiveClusters(&clusters, reinterpret_cast<const void*>(entry.kernel),
                                            &config),
             fmt::format("counting the clusters of {} that fit the GPU at once", name));
  if (clusters < 1)
    throw Error(
        StatusCode::cuda_error,
        fmt::format(
            "{}: no cluster of {} blocks with {} bytes of shared memory each fits this GPU; tune "
            "again to choose another kernel",
            name, g.cluster, g.dynamic_smem_bytes));
  // Clusters must fit within a GPC, so fewer than SMs / cluster may be resident at once (on the
  // H100, 66 clusters of two fit at 145-193 KiB: nothing is trimmed there). A persistent grid
  // beyond them would run its last clusters after the others had finished.
  g.grid[0] = std::min(g.grid[0], static_cast<unsigned>(clusters) * g.cluster);
}

LoadedKernel::~LoadedKernel() {
  if (library_) cudaLibraryUnload(library_);
}

LoadedKernel::LoadedKernel(LoadedKernel&& other) noexcept
    : library_(std::exchange(other.library_, nullptr)),
      main_(other.main_),
      preparing_(std::move(other.preparing_)),
      finishing_(std::move(other.finishing_)),
      main_output_offset_(other.main_output_offset_),
      registers_(other.registers_),
      workspaces_(std::move(other.workspaces_)),
      verdict_(std::move(other.verdict_)),
      prepared_(std::move(other.prepared_)) {}

LoadedKernel& LoadedKernel::operator=(LoadedKernel&& other) noexcept {
  if (this != &other) {
    if (library_) cudaLibraryUnload(library_);
    library_ = std::exchange(other.library_, nullptr);
    main_ = other.main_;
    preparing_ = std::move(other.preparing_);
    finishing_ = std::move(other.finishing_);
    main_output_offset_ = other.main_output_offset_;
    registers_ = other.registers_;
    workspaces_ = std::move(other.workspaces_);
    verdict_ = std::move(other.verdict_);
    prepared_ = std::move(other.prepared_);
  }
  return *this;
}

cudaError_t LoadedKernel::launch_entry(const Entry& entry, cudaStream_t stream,
                                       const LaunchArgs& args, void* workspace) {
  const LaunchGeometry& g = entry.geometry;
  // The arguments, then a TMA descriptor per tensor map, encoded for this launch's pointers,
  // then the workspace.
  constexpr std::size_t kMaxMaps = 4;
  if (g.tensor_maps.size() > kMaxMaps) return cudaErrorInvalidValue;
  EncodedTensorMap maps[kMaxMaps];
  void* params[2 + kMaxMaps] = {const_cast<LaunchArgs*>(&args)};
  std::size_t count = 1;
  for (std::size_t i = 0; i < g.tensor_maps.size(); ++i) {
    if (const cudaError_t error = encode_tensor_map(g.tensor_maps[i], args, workspace, maps[i]);
        error != cudaSuccess)
      return error;
    params[count++] = &maps[i];
  }
  if (g.workspace_bytes > 0) params[count++] = &workspace;
  // A bucket's kernel covers the rows of this launch.
  std::array<unsigned, 3> grid{};
  try {
    grid = grid_at_rows(g, args.rows);
  } catch (const Error&) {
    return cudaErrorInvalidValue;
  }
  return cudaLaunchKernel(reinterpret_cast<const void*>(entry.kernel),
                          dim3(grid[0], grid[1], grid[2]), dim3(g.block[0], g.block[1], g.block[2]),
                          params, g.dynamic_smem_bytes, stream);
}

cudaError_t LoadedKernel::prepare(cudaStream_t stream) const {
  // The kernels themselves need nothing: drivers from CUDA 12.3 on (the CUDA 13 runtime needs
  // one) load a lazily loaded kernel during a capture.
  void* workspace = nullptr;
  return workspaces_ ? workspaces_->get(stream, &workspace) : cudaSuccess;
}

void* LoadedKernel::workspace(cudaStream_t stream) const {
  void* workspace = nullptr;
  if (workspaces_) check_cuda(workspaces_->get(stream, &workspace), "allocating a workspace");
  return workspace;
}

cudaError_t LoadedKernel::launch(cudaStream_t stream, const LaunchArgs& args,
                                 std::uint32_t unchanged) const {
  void* workspace = nullptr;
  if (workspaces_) {
    if (const cudaError_t error = workspaces_->get(stream, &workspace); error != cudaSuccess)
      return error;
  }
  // Whether this launch goes into a CUDA graph: asked once, for the reusable preparing steps
  // and the verdict's read-back.
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (prepared_ || verdict_) {
    if (const cudaError_t error = cudaStreamIsCapturing(stream, &capture); error != cudaSuccess) {
      cudaGetLastError();  // returned here, not left for the caller's next check
      return error;
    }
  }
  const bool captured = capture != cudaStreamCaptureStatusNone;
  for (std::size_t i = 0; i < preparing_.size(); ++i) {
    const Entry& entry = preparing_[i];
    const std::optional<int> t = entry.prepares_tensor;
    const void* operand = t ? args.tensors[*t] : nullptr;
    if (t && !captured && (unchanged >> *t & 1u) && prepared_->still_prepared(stream, i, operand))
      continue;
    if (const cudaError_t error = launch_entry(entry, stream, args, workspace);
        error != cudaSuccess) {
      if (t) prepared_->forget(stream, i);
      return error;
    }
    if (t) prepared_->prepared(stream, i, operand, captured);
  }
  // A plan's main kernel may write into the workspace, for the finishing kernels to read.
  LaunchArgs main_args = args;
  if (main_output_offset_)
    main_args.out = reinterpret_cast<float*>(static_cast<char*>(workspace) + *main_output_offset_);
  if (const cudaError_t error = launch_entry(main_, stream, main_args, workspace);
      error != cudaSuccess)
    return error;
  for (const Entry& entry : finishing_)
    if (const cudaError_t error = launch_entry(entry, stream, args, workspace);
        error != cudaSuccess)
      return error;
  if (verdict_) verdict_->after_launch(stream, workspace, captured);
  return cudaSuccess;
}

}  // namespace fusetune
