#include "cache/prune.h"

#include <fmt/format.h>

#include <set>

namespace fusetune::cache {

std::string stale_reason(const TuningRecord& tuning, const BuildVersions& build) {
  if (tuning.key.generator_version != build.generator_version) {
    return fmt::format("generator {}, this build {}", tuning.key.generator_version,
                       build.generator_version);
  }
  if (tuning.key.nvrtc_version != build.nvrtc_version) {
    return fmt::format("NVRTC {}, this build {}", tuning.key.nvrtc_version, build.nvrtc_version);
  }
  return "";
}

std::int64_t PrunePlan::binary_bytes() const {
  std::int64_t bytes = 0;
  for (const PrunedBinary& pruned : binaries) bytes += pruned.binary.cubin_bytes;
  return bytes;
}

PrunePlan plan_prune(Database& db, const BuildVersions& build) {
  PrunePlan plan;
  // A binary's key is its source's hash: one of this NVRTC serves whatever generator emits that
  // source, named by a tuning or not (a compile-only sweep's, a load's of an untuned spec). Only
  // those that nothing but pruned tunings named are taken to be another generator's.
  std::set<std::string> kept, pruned;  // named by candidates of the tunings that stay, and go
  for (TuningRecord& tuning : db.tunings()) {
    std::string reason = stale_reason(tuning, build);
    for (const CandidateRecord& candidate : db.candidates(tuning.id))
      (reason.empty() ? kept : pruned).insert(candidate.binary_key);
    if (!reason.empty()) plan.tunings.push_back({std::move(tuning), std::move(reason)});
  }
  for (StoredBinary& binary : db.binaries()) {
    const bool only_pruned = pruned.contains(binary.key) && !kept.contains(binary.key);
    std::string reason = binary.nvrtc_version != build.nvrtc_version
                             ? fmt::format("compiled by NVRTC {}, this build {}",
                                           binary.nvrtc_version, build.nvrtc_version)
                         : only_pruned ? "only pruned tunings referred to it"
                                       : "";
    if (!reason.empty()) plan.binaries.push_back({std::move(binary), std::move(reason)});
  }
  return plan;
}

PrunePlan prune(Database& db, const BuildVersions& build) {
  PrunePlan plan;
  db.write_atomically([&] {
    plan = plan_prune(db, build);
    for (const PrunedTuning& pruned : plan.tunings) db.forget_tuning(pruned.tuning.id);
    for (const PrunedBinary& pruned : plan.binaries) db.forget_binary(pruned.binary.key);
  });
  return plan;
}

}  // namespace fusetune::cache
