// How a statistics kernel (templates/finishing.cuh, gather_statistics) covers its groups: how
// many threads share a group and how many blocks split one, so that a launch fills the GPU
// whatever the groups' count and size. Shared by a plan's finishing kernels and the backward
// pass's operand gradients.
#pragma once

#include <cstdint>

namespace fusetune {

constexpr int kGatherThreads = 256;  // threads per block of every statistics kernel

struct GatherSplit {
  std::int64_t groups = 0;
  std::int64_t size = 0;          // values per group
  int group_threads = 1;          // threads that share a group: 1, 32 or kGatherThreads
  std::int64_t group_blocks = 0;  // blocks across the groups
  int splits = 1;                 // blocks per group
  std::int64_t chunk = 0;         // values of a group each split takes
};

// Threads that share a group: a block or a warp where the group's values lie side by side in
// memory (and are many enough), else one thread per group, its neighbours taking the
// neighbouring groups.
int gather_group_threads(std::int64_t size, bool side_by_side);

// `groups` groups of `size` values each, split until about four blocks per SM of an H100 run.
GatherSplit split_gather(std::int64_t groups, std::int64_t size, bool side_by_side);

}  // namespace fusetune
