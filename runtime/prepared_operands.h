// What a plan's reusable preparing steps (KernelStep::prepares_tensor: int8x's digits of a
// weight) last left in each stream's workspace, so that a launch whose caller says an operand
// is unchanged can skip preparing it again. Per stream and step: the address of the operand the
// step last read, as launched directly. A stream on which such a step was captured into a CUDA
// graph never skips it again: the graph's replays rewrite the workspace from whatever operand
// was captured, at times this class does not see. Thread safe.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>

namespace fusetune {

class PreparedOperands {
 public:
  // Whether `step` may be skipped on `stream` for the operand at `address`, which the caller
  // says is unchanged since the stream's last launch that passed it.
  bool still_prepared(cudaStream_t stream, std::size_t step, const void* address);
  // Notes that `step` was enqueued on `stream` for the operand at `address`; `captured`: into a
  // CUDA graph, after which the stream never skips the step.
  void prepared(cudaStream_t stream, std::size_t step, const void* address, bool captured);
  // Notes that `step` may not have run on `stream` (its launch failed).
  void forget(cudaStream_t stream, std::size_t step);

 private:
  struct Record {
    const void* address = nullptr;
    bool captured = false;
  };
  std::mutex mutex_;
  std::map<std::pair<cudaStream_t, std::size_t>, Record> records_;
};

}  // namespace fusetune
