// Pruning a tuning database of what this build can no longer use: tunings keyed by another
// generator or NVRTC version (their kernels are not the ones this build would make or compile),
// binaries compiled by another NVRTC, and binaries that only those tunings referred to. A binary
// of this NVRTC that no tuning names (a compile-only sweep's) stays: it is keyed by its source.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache {

// The hard keys of this build: generator/version.h and runtime/nvrtc.h.
struct BuildVersions {
  std::string generator_version;
  std::string nvrtc_version;
};

// Why `tuning` is of no use to this build (a hard key differs: "generator 0.1.0+abc, this build
// 0.1.0+def"); "" when it is usable.
std::string stale_reason(const TuningRecord& tuning, const BuildVersions& build);

struct PrunedTuning {
  TuningRecord tuning;
  std::string reason;  // "generator 0.1.0+abc, this build 0.1.0+def"
};

struct PrunedBinary {
  StoredBinary binary;
  std::string reason;  // "compiled by NVRTC 12.8, this build 13.0", "only pruned tunings ..."
};

struct PrunePlan {
  std::vector<PrunedTuning> tunings;
  std::vector<PrunedBinary> binaries;

  bool empty() const { return tunings.empty() && binaries.empty(); }
  std::int64_t binary_bytes() const;
};

// What pruning would remove from `db`; only reads.
PrunePlan plan_prune(Database& db, const BuildVersions& build);

// Plans and removes in one transaction (no other process's write falls in between), and returns
// what was removed. Needs a database opened read-write.
PrunePlan prune(Database& db, const BuildVersions& build);

}  // namespace fusetune::cache
