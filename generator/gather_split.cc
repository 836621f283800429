#include "generator/gather_split.h"

#include <algorithm>

namespace fusetune {
namespace {

// Statistics kernels split groups until about this many blocks run: four per SM of an H100.
constexpr std::int64_t kTargetBlocks = 528;

}  // namespace

int gather_group_threads(std::int64_t size, bool side_by_side) {
  if (side_by_side && size >= 2048) return kGatherThreads;
  if (side_by_side && size >= 64) return 32;
  return 1;
}

GatherSplit split_gather(std::int64_t groups, std::int64_t size, bool side_by_side) {
  GatherSplit split{.groups = groups, .size = size};
  split.group_threads = gather_group_threads(size, side_by_side);
  const int groups_per_block = kGatherThreads / split.group_threads;
  split.group_blocks = (groups + groups_per_block - 1) / groups_per_block;
  if (split.group_blocks < kTargetBlocks) {
    const std::int64_t wanted = (kTargetBlocks + split.group_blocks - 1) / split.group_blocks;
    const std::int64_t most = std::max<std::int64_t>(1, size / (16 * split.group_threads));
    split.splits = static_cast<int>(std::min<std::int64_t>({wanted, most, 1024}));
  }
  split.chunk = (size + split.splits - 1) / split.splits;
  return split;
}

}  // namespace fusetune
