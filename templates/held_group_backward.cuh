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
// share a group), HELD (values a thread holds: SIZE divided up), as normalize_held_groups's;
// the groups are held as it holds them (templates/finishing.cuh: HeldPlace, hold_group).
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

template <class Config, class Step>
__device__ __forceinline__ void backward_held_groups(const Step& step) {
  const HeldPlace<Config> at;
  float x[Config::HELD];   // [HELD]: places lane, lane + GROUP_THREADS, ...
  float gy[Config::HELD];  // d loss / d result at each held element
  const typename Step::Stat s = hold_group<Config>(step, at, x);
  typename Step::BackStat b;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    if (at.active && at.place(v) < Config::SIZE) {
      const float y = step.result(x[v], s);
      gy[v] = step.upstream(y, at.group, step.index(at.group, at.place(v)));
      b.add(step.back_input(x[v], y, gy[v]));
    }
  }
  b = group_merged<Config::THREADS, Config::GROUP_THREADS>(b, at.thread);
  if (!at.active) return;
#pragma unroll
  for (int v = 0; v < Config::HELD; ++v) {
    if (at.place(v) < Config::SIZE) {
      const long long i = step.index(at.group, at.place(v));
      const float y = step.result(x[v], s);
      step.finish(i, y, step.gradient(x[v], y, gy[v], s, b));
    }
  }
}

}  // namespace ft
