// fusetune template: the backward of a chain through a reduction or normalization whose groups
// fit in registers (generator/chain_derivative.h), one launch for every group: each group's
// values are recomputed from the saved result and held (Step::value), its forward statistics
// merged across the group's threads (Step::Stat, as the forward gathered them), each element's
// upstream gradient taken (Step::upstream: d loss / d the op's result there), the op's
// backward statistic merged in turn (Step::BackStat, e.g. softmax's Σ g·y), and each element's
// input gradient handed to Step::finish, which takes it back through the ops before the
// reduction and writes g'.
//
// Config: GROUPS, SIZE (values per group), THREADS, GROUP_THREADS (1, 32 or THREADS threads
// share a group), HELD (values a thread holds: SIZE divided up), as normalize_held_groups's
// (templates/finishing.cuh).
// Step:
//   using Stat, BackStat                      statistics of templates/statistics.cuh
//   float value(long long g, long long p)     the reduction's input at place p of group g
//   long long index(long long g, long long p) that element's index in the main op's result
//   float input(float x)                      what x adds to Stat
//   float result(float x, const Stat& s)      the op's result at x (a reducing op: the group's)
//   float upstream(float y, long long g, long long i)   d loss / d result at element i of
//                                             group g (a reducing op: of the group's value)
//   float back_input(float x, float y, float gy)   what an element adds to BackStat
//   float gradient(float x, float y, float gy, const Stat& s, const BackStat& b)   d loss / d x
//   void finish(long long i, float y, float gx)   g' at element i from d loss / d x (and, for
//                                             an affine normalization, its weight's and bias's
//                                             terms there, from y)
#pragma once

namespace ft {

// A statistic merged over the group's threads and shared with all of them.
template <class Config, class Stat>
__device__ __forceinline__ Stat merged_in_group(Stat s, int thread) {
  if constexpr (Config::GROUP_THREADS == 32) {
    return warp_merged(s);
  } else if constexpr (Config::GROUP_THREADS == Config::THREADS && Config::THREADS > 1) {
    __shared__ Stat warps[Config::THREADS / 32];
    __shared__ Stat whole;
    s = block_merged<Config::THREADS>(s, warps, thread);
    if (thread == 0) whole = s;
    __syncthreads();
    const Stat all = whole;
    __syncthreads();  // `warps` and `whole` are free for the next merge
    return all;
  } else {
    return s;
  }
}

template <class Config, class Step>
__device__ __forceinline__ void backward_held_groups(const Step& step) {
  using Stat = typename Step::Stat;
  using BackStat = typename Step::BackStat;
  constexpr int THREADS = Config::THREADS, GROUP_THREADS = Config::GROUP_THREADS;
  constexpr int GROUPS_PER_BLOCK = THREADS / GROUP_THREADS;
  static_assert(GROUP_THREADS == 1 || GROUP_THREADS == 32 || GROUP_THREADS == THREADS,
                "a group is a thread, a warp or the block");
  static_assert(static_cast<long long>(Config::HELD) * GROUP_THREADS >= Config::SIZE,
                "the group's threads hold all its values");

  const int thread = threadIdx.x;
  const long long group =
      blockIdx.x * static_cast<long long>(GROUPS_PER_BLOCK) + thread / GROUP_THREADS;
  const int lane = thread % GROUP_THREADS;
  const bool active = group < Config::GROUPS;
  float x[Config::HELD];   // [HELD]: places lane, lane + GROUP_THREADS, ...
  float gy[Config::HELD];  // d loss / d result at each held element
  Stat s;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    const long long place = lane + static_cast<long long>(v) * GROUP_THREADS;
    if (active && place < Config::SIZE) {
      x[v] = step.value(group, place);
      s.add(step.input(x[v]));
    }
  }
  s = merged_in_group<Config>(s, thread);
  BackStat b;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    const long long place = lane + static_cast<long long>(v) * GROUP_THREADS;
    if (active && place < Config::SIZE) {
      const float y = step.result(x[v], s);
      gy[v] = step.upstream(y, group, step.index(group, place));
      b.add(step.back_input(x[v], y, gy[v]));
    }
  }
  b = merged_in_group<Config>(b, thread);
  if (!active) return;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    const long long place = lane + static_cast<long long>(v) * GROUP_THREADS;
    if (place < Config::SIZE) {
      const long long i = step.index(group, place);
      const float y = step.result(x[v], s);
      step.finish(i, y, step.gradient(x[v], y, gy[v], s, b));
    }
  }
}

}  // namespace ft
