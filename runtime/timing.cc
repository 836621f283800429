#include "runtime/timing.h"

#include <algorithm>
#include <vector>

#include "runtime/cuda_check.h"

namespace fusetune {
namespace {

double median(std::vector<float> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  return n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
}

class EventPair {
 public:
  EventPair() {
    check_cuda(cudaEventCreate(&start_), "creating a timing event");
    check_cuda(cudaEventCreate(&end_), "creating a timing event");
  }
  ~EventPair() {
    cudaEventDestroy(start_);
    cudaEventDestroy(end_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  cudaEvent_t start() const { return start_; }
  cudaEvent_t end() const { return end_; }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t end_ = nullptr;
};

}  // namespace

L2Flusher::L2Flusher(std::size_t l2_bytes) : bytes_(2 * l2_bytes) {
  check_cuda(cudaMalloc(&buffer_, bytes_), "allocating the L2 flush buffer");
}

L2Flusher::~L2Flusher() { cudaFree(buffer_); }

void L2Flusher::flush(cudaStream_t stream) {
  check_cuda(cudaMemsetAsync(buffer_, ++value_ & 0xff, bytes_, stream), "flushing the L2 cache");
}

Timing measure(const LaunchFunction& launch, cudaStream_t stream, const TimingOptions& options,
               L2Flusher* flusher) {
  for (int i = 0; i < options.warmup_launches; ++i) check_cuda(launch(stream), "warm-up launch");
  check_cuda(cudaStreamSynchronize(stream), "warm-up");

  const EventPair events;
  std::vector<float> samples;
  double total_ms = 0;
  Timing timing;
  const int max_launches = std::max(1, options.max_launches);
  while (static_cast<int>(samples.size()) < max_launches) {
    if (static_cast<int>(samples.size()) >= options.min_launches &&
        total_ms >= options.min_total_ms)
      break;
    if (options.flush_l2 && flusher) flusher->flush(stream);
    check_cuda(cudaEventRecord(events.start(), stream), "recording a timing event");
    check_cuda(launch(stream), "timed launch");
    check_cuda(cudaEventRecord(events.end(), stream), "recording a timing event");
    check_cuda(cudaEventSynchronize(events.end()), "timed launch");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, events.start(), events.end()), "reading a timing event");
    samples.push_back(ms);
    total_ms += ms;
    if (options.abandon_above_ms && static_cast<int>(samples.size()) == options.abandon_check &&
        median(samples) > *options.abandon_above_ms) {
      timing.abandoned = true;
      break;
    }
  }
  timing.launches = static_cast<int>(samples.size());
  timing.median_ms = median(samples);
  timing.min_ms = *std::min_element(samples.begin(), samples.end());
  timing.max_ms = *std::max_element(samples.begin(), samples.end());
  return timing;
}

}  // namespace fusetune
