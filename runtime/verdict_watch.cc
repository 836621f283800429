#include "runtime/verdict_watch.h"

#include <iostream>
#include <utility>

namespace fusetune {

VerdictWatch::VerdictWatch(std::uint64_t offset, std::string kernel)
    : offset_(offset), kernel_(std::move(kernel)) {}

VerdictWatch::~VerdictWatch() {
  if (copied_) {
    cudaEventSynchronize(copied_);  // a copy may still be writing host_
    cudaEventDestroy(copied_);
  }
  if (host_) cudaFreeHost(host_);
}

void VerdictWatch::after_launch(cudaStream_t stream, const void* workspace, bool captured) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (reported_ || workspace == nullptr || captured) return;
  if (pending_) {
    if (const cudaError_t state = cudaEventQuery(copied_); state != cudaSuccess) {
      // Still on its way: not an error, and left as none for the caller's error checks.
      if (state == cudaErrorNotReady && cudaPeekAtLastError() == cudaErrorNotReady)
        cudaGetLastError();
      return;
    }
    pending_ = false;
    if (*host_ == kVerdictFp32) {
      reported_ = true;
      std::cerr << "fusetune: warning: " << kernel_
                << " computed a launch in fp32: its data spanned more than its int8 digits per "
                   "value hold to 1e-5 (or held infinities or NaN). Correct, but slower than "
                   "int8x; for such data tune at --precision 3xtf32\n";
      return;
    }
  }
  // The first launch, then every kReadEvery-th: a copy behind every launch would cost each a
  // few microseconds.
  if (launches_++ % kReadEvery != 0) return;
  if (!host_ && cudaMallocHost(reinterpret_cast<void**>(&host_), sizeof(int)) != cudaSuccess) {
    host_ = nullptr;
    cudaGetLastError();
    return;
  }
  if (!copied_ && cudaEventCreateWithFlags(&copied_, cudaEventDisableTiming) != cudaSuccess) {
    copied_ = nullptr;
    cudaGetLastError();
    return;
  }
  if (cudaMemcpyAsync(host_, static_cast<const char*>(workspace) + offset_, sizeof(int),
                      cudaMemcpyDeviceToHost, stream) != cudaSuccess ||
      cudaEventRecord(copied_, stream) != cudaSuccess) {
    cudaGetLastError();  // the read-back's own failure, not the launch's
    return;
  }
  pending_ = true;
}

}  // namespace fusetune
