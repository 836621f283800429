// The one timing function of fusetune, used by the tuner, the benchmarks and the tests: CUDA
// events around each launch, a warm-up first, the L2 cache flushed before every timed launch,
// and the median of at least `min_launches` launches and `min_total_ms` of kernel time.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <optional>

namespace fusetune {

struct TimingOptions {
  int warmup_launches = 2;
  int min_launches = 20;      // at least this many timed launches ...
  double min_total_ms = 100;  // ... and at least this much timed kernel time
  int max_launches = 2000;    // whichever minimum is met last, stop here regardless
  bool flush_l2 = true;
  // Give up once the median of the first `abandon_check` launches is above this: a candidate
  // that far behind the best so far cannot win, and its full timing would waste the sweep.
  std::optional<double> abandon_above_ms;
  int abandon_check = 3;
};

struct Timing {
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  int launches = 0;
  bool abandoned = false;  // stopped by abandon_above_ms; median_ms is of the launches made
};

// Owns a buffer twice the size of the L2 cache and overwrites it to evict the cache.
class L2Flusher {
 public:
  explicit L2Flusher(std::size_t l2_bytes);  // throws Error(cuda_error)
  ~L2Flusher();
  L2Flusher(const L2Flusher&) = delete;
  L2Flusher& operator=(const L2Flusher&) = delete;
  void flush(cudaStream_t stream);

 private:
  void* buffer_ = nullptr;
  std::size_t bytes_ = 0;
  int value_ = 0;
};

using LaunchFunction = std::function<cudaError_t(cudaStream_t)>;

// Times `launch` on `stream`. `flusher` may be null when options.flush_l2 is false. Throws
// Error(cuda_error) when a launch or the stream fails.
Timing measure(const LaunchFunction& launch, cudaStream_t stream, const TimingOptions& options,
               L2Flusher* flusher);

}  // namespace fusetune
