#include "cache/merge.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

namespace fusetune::cache {
namespace {

double time_or_slowest(const CandidateRecord& candidate) {
  return candidate.time_ms.value_or(std::numeric_limits<double>::infinity());
}

// The metadata of a tuning in both: the spec and driver as last seen on either side, the earlier
// start, and the longer tuning time (a sum would grow each time results travel back and forth).
TuningRecord merged_metadata(const TuningRecord& stored, const TuningRecord& incoming) {
  TuningRecord merged = stored;
  if (incoming.updated_at > stored.updated_at) {
    merged.spec = incoming.spec;
    merged.soft_keys = incoming.soft_keys;
  }
  merged.created_at = std::min(stored.created_at, incoming.created_at);
  merged.tuning_seconds = std::max(stored.tuning_seconds, incoming.tuning_seconds);
  return merged;
}

}  // namespace

bool better_result(const CandidateRecord& incoming, const CandidateRecord& stored) {
  if (incoming.outcome != "ok") return false;
  if (stored.outcome != "ok") return true;
  return time_or_slowest(incoming) < time_or_slowest(stored);
}

Merger::Merger(Database& target, BinarySource binaries)
    : target_(target), binaries_(std::move(binaries)) {}

void Merger::add(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates) {
  const std::optional<TuningRecord> stored = target_.find_tuning(tuning.key);
  if (!stored) {
    // Copied as it is, winner included: it was computed from these very rows.
    const std::int64_t id = target_.store_tuning(tuning);
    for (const CandidateRecord& candidate : candidates) {
      target_.store_candidate(id, candidate);
      copy_binary(candidate.binary_key);
    }
    ++summary_.tunings_added;
    summary_.candidates_added += static_cast<int>(candidates.size());
    return;
  }
  std::map<std::string, CandidateRecord> rows;
  for (CandidateRecord& row : target_.candidates(stored->id)) rows[row.name] = std::move(row);
  std::vector<const CandidateRecord*> taken;
  for (const CandidateRecord& candidate : candidates) {
    auto row = rows.find(candidate.name);
    if (row == rows.end()) {
      ++summary_.candidates_added;
    } else if (better_result(candidate, row->second)) {
      ++summary_.candidates_replaced;
    } else {
      continue;
    }
    taken.push_back(&candidate);
  }
  if (taken.empty()) {
    ++summary_.tunings_unchanged;
    return;
  }
  const std::int64_t id = target_.store_tuning(merged_metadata(*stored, tuning));
  for (const CandidateRecord* candidate : taken) {
    target_.store_candidate(id, *candidate);
    copy_binary(candidate->binary_key);
  }
  target_.finish_tuning(id, 0);  // the winner from the united rows
  ++summary_.tunings_merged;
}

// Copies the binary under `key` unless the target has an intact one already.
void Merger::copy_binary(const std::string& key) {
  if (key.empty() || target_.find_binary(key)) return;
  std::optional<BinaryRecord> binary = binaries_(key);
  if (!binary) return;
  target_.store_binary(*binary);
  ++summary_.binaries_copied;
}

namespace {

MergeSummary merge_tunings(Database& target, Database& source,
                           const std::vector<TuningRecord>& tunings) {
  Merger merger(target, [&source](const std::string& key) { return source.find_binary(key); });
  target.write_atomically([&] {
    for (const TuningRecord& tuning : tunings) merger.add(tuning, source.candidates(tuning.id));
  });
  return merger.summary();
}

}  // namespace

MergeSummary merge_database(Database& target, Database& source, const std::string& signature) {
  return merge_tunings(target, source,
                       signature.empty() ? source.tunings() : source.find_tunings(signature));
}

MergeSummary merge_tuning(Database& target, Database& source, const TuningRecord& tuning) {
  return merge_tunings(target, source, {tuning});
}

}  // namespace fusetune::cache
