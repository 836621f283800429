// fusetune template: the finishing kernels of a plan. When no tile of the main kernel sees a whole
// reduction group (a softmax row of 8192 columns, a batch_norm channel over the whole batch),
// the main kernel writes the value the chain has reached, and generated kernels finish it:
//
//   gather_statistics  one launch per reduction: the statistics of every group, read through the
//                      chain (Step::input), each group in SPLITS parts merged by the last part
//                      to arrive; Step::finish stores them (and updates running statistics).
//   write_output       the output, one element per thread, each read through the whole rest of
//                      the chain (Step::value), the statistics gathered before standing in for
//                      the reductions.
//   normalize_held_groups   both at once, where the chain's one reduction is a normalization whose
//                      groups fit in the registers of a thread, a warp or a block.
//
// Tunables (Config of gather_statistics):
//   GROUPS, SIZE       groups, and values per group
//   THREADS            threads per block: 256
//   GROUP_THREADS      threads that share a group: 1 (a thread per group, where groups lie side
//                      by side in memory), 32 (a warp) or THREADS (a block), where a group's
//                      values do
//   SPLITS, CHUNK      blocks per group, and the values each takes (SIZE divided up)
// The workspace holds, per group, SPLITS partial statistics and, per block of groups, an arrival
// counter that is zero between launches.
#pragma once

namespace ft {

template <class Config, class Step>
__device__ __forceinline__ void gather_statistics(const Step& step,
                                                  typename Step::Stat* __restrict__ partials,
                                                  unsigned* __restrict__ counters) {
  using Stat = typename Step::Stat;
  constexpr int THREADS = Config::THREADS, GROUP_THREADS = Config::GROUP_THREADS;
  constexpr int GROUPS_PER_BLOCK = THREADS / GROUP_THREADS;
  constexpr long long GROUP_BLOCKS = (Config::GROUPS + GROUPS_PER_BLOCK - 1) / GROUPS_PER_BLOCK;
  static_assert(GROUP_THREADS == 1 || GROUP_THREADS == 32 || GROUP_THREADS == THREADS,
                "a group is a thread, a warp or the block");
  static_assert(THREADS % 32 == 0, "a block is whole warps");

  const int thread = threadIdx.x;
  const long long group_block = blockIdx.x % GROUP_BLOCKS;
  const int split = static_cast<int>(blockIdx.x / GROUP_BLOCKS);
  const long long group = group_block * GROUPS_PER_BLOCK + thread / GROUP_THREADS;
  const int lane = thread % GROUP_THREADS;
  const long long begin = split * Config::CHUNK;
  const long long end = begin + Config::CHUNK < Config::SIZE ? begin + Config::CHUNK : Config::SIZE;

  Stat s;
  if (group < Config::GROUPS)
    for (long long place = begin + lane; place < end; place += GROUP_THREADS)
      s.add(step.input(group, place));
  if constexpr (GROUP_THREADS == 32) {
    s = warp_merged(s);
  } else if constexpr (GROUP_THREADS == THREADS && THREADS > 1) {
    __shared__ Stat warps[THREADS / 32];
    s = block_merged<THREADS>(s, warps, thread);
  }
  const bool keeper = lane == 0 && group < Config::GROUPS;  // holds its group's part
  if constexpr (Config::SPLITS == 1) {
    if (keeper) step.finish(group, s);
    return;
  }
  if (keeper) partials[group * Config::SPLITS + split] = s;
  __threadfence();  // the part is visible before the counter says so
  __syncthreads();
  __shared__ unsigned arrived;
  if (thread == 0) arrived = atomicAdd(counters + group_block, 1u);
  __syncthreads();
  if (arrived != Config::SPLITS - 1) return;
  __threadfence();
  // The last part to arrive merges every part of the block's groups, in split order, so that
  // the result does not depend on who came last.
  for (int g = thread; g < GROUPS_PER_BLOCK; g += THREADS) {
    const long long merged = group_block * GROUPS_PER_BLOCK + g;
    if (merged >= Config::GROUPS) break;
    Stat total;
    for (int part = 0; part < Config::SPLITS; ++part)
      total.merge(load_from_l2(partials + merged * Config::SPLITS + part));
    step.finish(merged, total);
  }
  if (thread == 0) counters[group_block] = 0u;  // ready for the next launch
}

// A normalization whose groups fit in registers, in one launch: each group's values are read
// once (Step::value), its statistics merged across the group's threads and shared with them,
// and every element written through the rest of the chain (Step::output), in place if need be:
// a group's values are all read before any is written. Config: GROUPS, SIZE, THREADS,
// GROUP_THREADS as gather_statistics's, and HELD, the values a thread holds (SIZE divided up).
// `out` may be where Step::value reads (in place): it is not __restrict__.
// Where a thread is among the groups a kernel holds (Config as normalize_held_groups's).
template <class Config>
struct HeldPlace {
  static constexpr int GROUPS_PER_BLOCK = Config::THREADS / Config::GROUP_THREADS;
  static_assert(Config::GROUP_THREADS == 1 || Config::GROUP_THREADS == 32 ||
                    Config::GROUP_THREADS == Config::THREADS,
                "a group is a thread, a warp or the block");
  static_assert(static_cast<long long>(Config::HELD) * Config::GROUP_THREADS >= Config::SIZE,
                "the group's threads hold all its values");

  int thread;
  long long group;
  int lane;
  bool active;

  __device__ __forceinline__ HeldPlace()
      : thread(threadIdx.x),
        group(blockIdx.x * static_cast<long long>(GROUPS_PER_BLOCK) +
              threadIdx.x / Config::GROUP_THREADS),
        lane(threadIdx.x % Config::GROUP_THREADS),
        active(group < Config::GROUPS) {}

  // The group's place of this thread's value v.
  __device__ __forceinline__ long long place(int v) const {
    return lane + static_cast<long long>(v) * Config::GROUP_THREADS;
  }
};

// This thread's values of its group, x[v] at place(v) (Step::value), and the group's
// statistics of them (Step::input, Step::Stat), merged and shared with the group's threads.
template <class Config, class Step>
__device__ __forceinline__ typename Step::Stat hold_group(const Step& step,
                                                          const HeldPlace<Config>& at,
                                                          float (&x)[Config::HELD]) {
  typename Step::Stat s;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    if (at.active && at.place(v) < Config::SIZE) {
      x[v] = step.value(at.group, at.place(v));
      s.add(step.input(x[v]));
    }
  }
  return group_merged<Config::THREADS, Config::GROUP_THREADS>(s, at.thread);
}

template <class Config, class Step, class Out>
__device__ __forceinline__ void normalize_held_groups(const Step& step, Out* out) {
  const HeldPlace<Config> at;
  float x[Config::HELD];  // [HELD]: places lane, lane + GROUP_THREADS, ...
  const typename Step::Stat s = hold_group<Config>(step, at, x);
  if (!at.active) return;
  if (at.lane == 0) step.finish(at.group, s);
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    if (at.place(v) < Config::SIZE) {
      const long long i = step.index(at.group, at.place(v));
      out[i] = from_float<Out>(step.output(x[v], s, i));
    }
  }
}

// Element `blockIdx.x * THREADS + threadIdx.x` of the output, COUNT in all.
template <long long COUNT, int THREADS, class Step, class Out>
__device__ __forceinline__ void write_output(const Step& step, Out* out) {
  const long long i = blockIdx.x * static_cast<long long>(THREADS) + threadIdx.x;
  if (i < COUNT) out[i] = from_float<Out>(step.value(i));
}

}  // namespace ft
