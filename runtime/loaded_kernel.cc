#include "runtime/loaded_kernel.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "fusetune/status.h"
#include "runtime/cuda_check.h"
#include "runtime/tensor_map.h"

namespace fusetune {

LoadedKernel::LoadedKernel(const std::vector<char>& cubin, const std::string& entry,
                           const LaunchGeometry& geometry)
    : geometry_(geometry) {
  check_cuda(cudaLibraryLoadData(&library_, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
             fmt::format("loading the cubin of {}", entry));
  try {
    check_cuda(cudaLibraryGetKernel(&kernel_, library_, entry.c_str()),
               fmt::format("finding kernel {} in its cubin", entry));
    const void* function = reinterpret_cast<const void*>(kernel_);
    check_cuda(cudaFuncSetAttribute(function, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(geometry.dynamic_smem_bytes)),
               fmt::format("allowing {} bytes of dynamic shared memory to {}",
                           geometry.dynamic_smem_bytes, entry));
    cudaFuncAttributes attributes{};
    check_cuda(cudaFuncGetAttributes(&attributes, function),
               fmt::format("reading the attributes of {}", entry));
    registers_ = attributes.numRegs;
    if (geometry.cluster > 1) trim_grid_to_active_clusters(entry);
    if (geometry.workspace_bytes > 0)
      workspaces_ = std::make_unique<StreamWorkspaces>(geometry.workspace_bytes);
  } catch (...) {
    cudaLibraryUnload(library_);
    throw;
  }
}

void LoadedKernel::trim_grid_to_active_clusters(const std::string& entry) {
  LaunchGeometry& g = geometry_;
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
  check_cuda(
      cudaOccupancyMaxActiveClusters(&clusters, reinterpret_cast<const void*>(kernel_), &config),
      fmt::format("counting the clusters of {} that fit the GPU at once", entry));
  if (clusters < 1)
    throw Error(
        StatusCode::cuda_error,
        fmt::format(
            "{}: no cluster of {} blocks with {} bytes of shared memory each fits this GPU; tune "
            "again to choose another kernel",
            entry, g.cluster, g.dynamic_smem_bytes));
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
      kernel_(std::exchange(other.kernel_, nullptr)),
      geometry_(other.geometry_),
      registers_(other.registers_),
      workspaces_(std::move(other.workspaces_)) {}

LoadedKernel& LoadedKernel::operator=(LoadedKernel&& other) noexcept {
  if (this != &other) {
    if (library_) cudaLibraryUnload(library_);
    library_ = std::exchange(other.library_, nullptr);
    kernel_ = std::exchange(other.kernel_, nullptr);
    geometry_ = other.geometry_;
    registers_ = other.registers_;
    workspaces_ = std::move(other.workspaces_);
  }
  return *this;
}

cudaError_t LoadedKernel::launch(cudaStream_t stream, const LaunchArgs& args) const {
  const LaunchGeometry& g = geometry_;
  // The arguments, then a TMA descriptor per tensor map, encoded for this launch's pointers,
  // then the workspace.
  constexpr std::size_t kMaxMaps = 4;
  if (g.tensor_maps.size() > kMaxMaps) return cudaErrorInvalidValue;
  EncodedTensorMap maps[kMaxMaps];
  void* params[2 + kMaxMaps] = {const_cast<LaunchArgs*>(&args)};
  std::size_t count = 1;
  for (std::size_t i = 0; i < g.tensor_maps.size(); ++i) {
    if (const cudaError_t error = encode_tensor_map(g.tensor_maps[i], args, maps[i]);
        error != cudaSuccess)
      return error;
    params[count++] = &maps[i];
  }
  void* workspace = nullptr;
  if (workspaces_) {
    if (const cudaError_t error = workspaces_->get(stream, &workspace); error != cudaSuccess)
      return error;
    params[count++] = &workspace;
  }
  return cudaLaunchKernel(
      reinterpret_cast<const void*>(kernel_), dim3(g.grid[0], g.grid[1], g.grid[2]),
      dim3(g.block[0], g.block[1], g.block[2]), params, g.dynamic_smem_bytes, stream);
}

}  // namespace fusetune
