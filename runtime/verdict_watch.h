// The word a plan's guard leaves in its workspace (int8x's verdict: kVerdictFp32 where a launch's
// data spanned more than the int8 digits hold, so that the product computed in fp32), read back
// without waiting for the launch, and said once.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace fusetune {

// The verdict of a launch that computed in fp32 (templates/int8_slices.cuh's kVerdictFp32); 0
// and 2 computed on the digits.
inline constexpr int kVerdictFp32 = 1;

class VerdictWatch {
 public:
  // `offset`: the verdict's byte in the workspace; `kernel`: the name the warning gives.
  VerdictWatch(std::uint64_t offset, std::string kernel);
  ~VerdictWatch();
  VerdictWatch(const VerdictWatch&) = delete;
  VerdictWatch& operator=(const VerdictWatch&) = delete;

  // After a launch on `stream` with `workspace`: says so (once, on stderr) if an earlier launch's
  // verdict has come back as fp32, then, for the first launch and every kReadEvery-th, has this
  // launch's copied back behind it. Nothing where `captured` (the launch went into a CUDA graph),
  // nor while an earlier copy is still on its way; CUDA errors only skip the read-back: the
  // launch itself is not affected.
  void after_launch(cudaStream_t stream, const void* workspace, bool captured);

 private:
  std::mutex mutex_;
  std::uint64_t offset_;
  std::string kernel_;
  int* host_ = nullptr;  // pinned: where the copy lands
  cudaEvent_t copied_ = nullptr;
  bool pending_ = false;   // a copy was enqueued and not yet read
  bool reported_ = false;  // the warning was given
  std::uint64_t launches_ = 0;
  static constexpr std::uint64_t kReadEvery = 64;
};

}  // namespace fusetune
