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
  std::set<std::string> referenced;  // by candidates of the tunings that stay
  for (TuningRecord& tuning : db.tunings()) {
    if (std::string reason = stale_reason(tuning, build); !reason.empty()) {
      plan.tunings.push_back({std::move(tuning), std::move(reason)});
      continue;
    }
    for (const CandidateRecord& candidate : db.candidates(tuning.id))
      referenced.insert(candidate.binary_key);
  }
  for (StoredBinary& binary : db.binaries()) {
    std::string reason = binary.nvrtc_version != build.nvrtc_version
                             ? fmt::format("compiled by NVRTC {}, this build {}",
                                           binary.nvrtc_version, build.nvrtc_version)
                         : !referenced.contains(binary.key) ? "no candidate refers to it"
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
