// fusetune device primitives: the statistics a reduction gathers over a group of values, all in
// fp32. Each can take values one at a time (add), absorb another gathered elsewhere (merge) in
// any grouping, and be exchanged between the lanes of a warp (shuffled), so that parts of a
// group may be gathered by different threads, blocks or kernels and combined in a fixed order.
#pragma once

namespace ft {

__device__ __forceinline__ float infinity() { return __int_as_float(0x7f800000); }
constexpr unsigned kFullWarp = 0xffffffffu;

// Σ a
struct SumStat {
  float sum = 0.f;

  __device__ __forceinline__ void add(float a) { sum += a; }
  __device__ __forceinline__ void merge(const SumStat& o) { sum += o.sum; }
  __device__ __forceinline__ SumStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, sum, lane_mask)};
  }
};

// Σ a and Σ b of pairs (a, b): a normalization's two backward sums in one pass.
struct SumPairStat {
  float a = 0.f;
  float b = 0.f;

  __device__ __forceinline__ void add(float2 v) {
    a += v.x;
    b += v.y;
  }
  __device__ __forceinline__ void merge(const SumPairStat& o) {
    a += o.a;
    b += o.b;
  }
  __device__ __forceinline__ SumPairStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, a, lane_mask), __shfl_xor_sync(kFullWarp, b, lane_mask)};
  }
};

// max a; NaN wins, as in torch.amax.
struct MaxStat {
  float max = -infinity();

  __device__ __forceinline__ void add(float a) {
    if (max == max && !(a <= max)) max = a;
  }
  __device__ __forceinline__ void merge(const MaxStat& o) { add(o.max); }
  __device__ __forceinline__ MaxStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, max, lane_mask)};
  }
};

// min a; NaN wins, as in torch.amin.
struct MinStat {
  float min = infinity();

  __device__ __forceinline__ void add(float a) {
    if (min == min && !(a >= min)) min = a;
  }
  __device__ __forceinline__ void merge(const MinStat& o) { add(o.min); }
  __device__ __forceinline__ MinStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, min, lane_mask)};
  }
};

// The count, mean and Σ(a - mean)² of a group: Welford's update for one value, Chan's for two
// groups, both stable where Σa² - (Σa)²/n would cancel.
struct MeanVarStat {
  float count = 0.f;
  float mean = 0.f;
  float m2 = 0.f;

  // A group known by its mean and (biased) variance: batch_norm's running statistics.
  static __device__ __forceinline__ MeanVarStat of(float mean, float variance) {
    return {1.f, mean, variance};
  }

  __device__ __forceinline__ float variance() const { return m2 / count; }

  __device__ __forceinline__ void add(float a) {
    count += 1.f;
    const float delta = a - mean;
    mean += delta / count;
    m2 += delta * (a - mean);
  }
  __device__ __forceinline__ void merge(const MeanVarStat& o) {
    if (o.count == 0.f) return;
    if (count == 0.f) {
      *this = o;
      return;
    }
    const float total = count + o.count;
    const float delta = o.mean - mean;
    const float share = o.count / total;
    mean += delta * share;
    m2 += o.m2 + delta * delta * count * share;
    count = total;
  }
  __device__ __forceinline__ MeanVarStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, count, lane_mask),
            __shfl_xor_sync(kFullWarp, mean, lane_mask),
            __shfl_xor_sync(kFullWarp, m2, lane_mask)};
  }
};

// The largest value m and Σ exp(a - m): softmax's and logsumexp's statistics in one pass, the
// sum rescaled whenever the maximum grows.
struct MaxSumExpStat {
  float max = -infinity();
  float sum = 0.f;

  __device__ __forceinline__ void add(float a) {
    if (a > max) {
      sum = sum * expf(max - a) + 1.f;
      max = a;
    } else if (max != -infinity()) {
      sum += expf(a - max);
    }
  }
  __device__ __forceinline__ void merge(const MaxSumExpStat& o) {
    if (o.max > max) {
      sum = sum * expf(max - o.max) + o.sum;
      max = o.max;
    } else if (o.sum != 0.f) {
      sum += o.sum * expf(o.max - max);
    }
  }
  __device__ __forceinline__ MaxSumExpStat shuffled(int lane_mask) const {
    return {__shfl_xor_sync(kFullWarp, max, lane_mask),
            __shfl_xor_sync(kFullWarp, sum, lane_mask)};
  }
};

// The statistics of a warp's 32 lanes, merged in a fixed butterfly order, in every lane.
template <class Stat>
__device__ __forceinline__ Stat warp_merged(Stat s) {
#pragma unroll
  for (int mask = 16; mask > 0; mask /= 2) s.merge(s.shuffled(mask));
  return s;
}

// The statistics of a block's THREADS threads, merged in a fixed order; valid in thread 0.
// `warps` is shared memory for one Stat per warp.
template <int THREADS, class Stat>
__device__ __forceinline__ Stat block_merged(Stat s, Stat* warps, int thread) {
  static_assert(THREADS % 32 == 0 && THREADS <= 1024, "a block is whole warps");
  s = warp_merged(s);
  if (thread % 32 == 0) warps[thread / 32] = s;
  __syncthreads();
  if (thread >= 32) return s;
  s = thread < THREADS / 32 ? warps[thread] : Stat{};
  return warp_merged(s);
}

// The statistics of a group of GROUP_THREADS threads (one thread, a warp, or the block of
// THREADS), merged in a fixed order and shared with every thread of the group. Every thread of
// the block calls it, active or not.
template <int THREADS, int GROUP_THREADS, class Stat>
__device__ __forceinline__ Stat group_merged(Stat s, int thread) {
  if constexpr (GROUP_THREADS == 32) {
    return warp_merged(s);
  } else if constexpr (GROUP_THREADS == THREADS && THREADS > 1) {
    __shared__ Stat warps[THREADS / 32];
    __shared__ Stat whole;
    s = block_merged<THREADS>(s, warps, thread);
    if (thread == 0) whole = s;
    __syncthreads();
    const Stat all = whole;
    __syncthreads();  // `warps` and `whole` are free for the next merge
    return all;
  } else {
    return s;
  }
}

// A Stat another block wrote, read from L2 (never a stale L1 line).
template <class Stat>
__device__ __forceinline__ Stat load_from_l2(const Stat* p) {
  Stat s;
  float* to = reinterpret_cast<float*>(&s);
  const float* from = reinterpret_cast<const float*>(p);
#pragma unroll
  for (int i = 0; i < static_cast<int>(sizeof(Stat) / sizeof(float)); ++i) to[i] = __ldcg(from + i);
  return s;
}

}  // namespace ft
