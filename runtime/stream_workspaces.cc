#include "runtime/stream_workspaces.h"

namespace fusetune {

StreamWorkspaces::~StreamWorkspaces() {
  for (const auto& [stream, block] : blocks_) cudaFree(block);
}

cudaError_t StreamWorkspaces::get(cudaStream_t stream, void** workspace) {
  std::lock_guard lock(mutex_);
  if (const auto it = blocks_.find(stream); it != blocks_.end()) {
    *workspace = it->second;
    return cudaSuccess;
  }
  // A capture would record the zeroing into the graph, to run at every replay, and cudaMalloc
  // during a capture invalidates it: refused before either happens.
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (const cudaError_t error = cudaStreamIsCapturing(stream, &capture); error != cudaSuccess)
    return error;
  if (capture != cudaStreamCaptureStatusNone) return cudaErrorStreamCaptureUnsupported;
  void* block = nullptr;
  if (const cudaError_t error = cudaMalloc(&block, bytes_); error != cudaSuccess) return error;
  if (const cudaError_t error = cudaMemsetAsync(block, 0, bytes_, stream); error != cudaSuccess) {
    cudaFree(block);
    return error;
  }
  blocks_.emplace(stream, block);
  *workspace = block;
  return cudaSuccess;
}

}  // namespace fusetune
