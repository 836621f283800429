// Zeroed device scratch memory for a kernel, one block per CUDA stream: launches on one stream
// run in order and may share it, launches on two streams may overlap and must not. Allocated on
// a stream's first use (Kernel::prepare or a first launch), freed with the pool; never while the
// stream is being captured into a CUDA graph, which an allocation would break. Thread safe.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace fusetune {

class StreamWorkspaces {
 public:
  explicit StreamWorkspaces(std::uint64_t bytes) : bytes_(bytes) {}
  ~StreamWorkspaces();
  StreamWorkspaces(const StreamWorkspaces&) = delete;
  StreamWorkspaces& operator=(const StreamWorkspaces&) = delete;

  // Sets `*workspace` to the stream's block, allocating it and enqueueing its zeroing on
  // `stream` the first time; returns the CUDA error when that fails, and
  // cudaErrorStreamCaptureUnsupported, allocating nothing, when it would allocate while `stream`
  // is being captured.
  cudaError_t get(cudaStream_t stream, void** workspace);

 private:
  std::uint64_t bytes_;
  std::mutex mutex_;
  std::unordered_map<cudaStream_t, void*> blocks_;
};

}  // namespace fusetune
