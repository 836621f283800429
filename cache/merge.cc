#include "cache/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "cache/winner_rule.h"
#include "fusetune/status.h"

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

// What cache/ itself can tell is wrong with a tuning from elsewhere: what no sweep writes.
std::optional<std::string> problem_of(const TuningRecord& tuning,
                                      const std::vector<CandidateRecord>& candidates) {
  for (const CandidateRecord& c : candidates) {
    const bool timed = c.outcome == "ok" || c.outcome == "slower";
    if (timed && c.time_ms && !(*c.time_ms > 0))
      return fmt::format("its candidate \"{}\" has a time of {} ms", c.name, *c.time_ms);
  }
  if (tuning.winner.empty()) return std::nullopt;
  const auto winner = std::ranges::find_if(candidates, [&](const CandidateRecord& c) {
    return c.name == tuning.winner && c.outcome == "ok" && c.time_ms;
  });
  if (winner == candidates.end())
    return fmt::format(
        "its winner \"{}\" is none of its candidates that ran correctly and were "
        "timed",
        tuning.winner);
  if (winner->config_json != tuning.winner_config_json)
    return fmt::format("its winner's configuration is not that of its candidate \"{}\"",
                       tuning.winner);
  return std::nullopt;
}

}  // namespace

bool better_result(const CandidateRecord& incoming, const CandidateRecord& stored) {
  if (incoming.outcome != "ok") return false;
  if (stored.outcome != "ok") return true;
  return time_or_slowest(incoming) < time_or_slowest(stored);
}

void check_incoming(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates,
                    const MergeOptions& options, std::string_view source) {
  std::optional<std::string> problem = problem_of(tuning, candidates);
  if (!problem && options.check) problem = options.check(tuning, candidates);
  if (!problem) return;
  throw Error(
      StatusCode::invalid_argument,
      fmt::format("{}: the tuning of '{}' ({}, {}) is refused: {}. Nothing was merged; "
                  "take results only from files and databases fusetune wrote",
                  source, tuning.spec, tuning.key.precision, tuning.key.device_name, *problem));
}

std::optional<std::string> unconfirmed_challenger(const TuningRecord& tuning,
                                                  const std::vector<CandidateRecord>& candidates) {
  if (tuning.winner.empty()) return std::nullopt;
  std::vector<TimedCandidate> timed;
  for (const CandidateRecord& c : candidates)
    if (c.outcome == "ok" && c.time_ms) timed.push_back({c.name, *c.time_ms, c.time_noise});
  const std::optional<std::size_t> chosen = choose_winner(timed, tuning.winner);
  if (!chosen || timed[*chosen].name == tuning.winner) return std::nullopt;
  return timed[*chosen].name;
}

Merger::Merger(Database& target, BinarySource binaries, MergeOptions options, std::string source)
    : target_(target),
      binaries_(std::move(binaries)),
      options_(std::move(options)),
      source_(std::move(source)) {}

void Merger::add(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates) {
  check_incoming(tuning, candidates, options_, source_);
  const std::optional<TuningRecord> stored = target_.find_tuning(tuning.key);
  if (stored) return merge_rows(*stored, tuning, candidates);
  // Copied as it is, winner included: it was computed from these very rows.
  const std::int64_t id = target_.store_tuning(tuning);
  for (const CandidateRecord& candidate : candidates) {
    target_.store_candidate(id, candidate);
    copy_binary(candidate.binary_key);
  }
  ++summary_.tunings_added;
  summary_.candidates_added += static_cast<int>(candidates.size());
}

void Merger::merge_rows(const TuningRecord& stored, const TuningRecord& tuning,
                        const std::vector<CandidateRecord>& candidates) {
  std::map<std::string, CandidateRecord> rows;
  for (CandidateRecord& row : target_.candidates(stored.id)) rows[row.name] = std::move(row);
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
  const std::int64_t id = target_.store_tuning(merged_metadata(stored, tuning));
  for (const CandidateRecord* candidate : taken) {
    target_.store_candidate(id, *candidate);
    copy_binary(candidate->binary_key);
  }
  ++summary_.tunings_merged;
  if (stored.winner.empty()) {
    target_.finish_tuning(id, 0);  // no winner here to displace: the winner of the united rows
    return;
  }
  // A winner measured here stays until `fusetune tune` has timed what now ranks ahead of it.
  if (unconfirmed_challenger(stored, target_.candidates(id))) {
    target_.record_miss(stored.key, stored.spec, stored.winner);
    ++summary_.winners_to_reverify;
  }
}

// Copies the binary under `key`, when trusted, unless the target has an intact one already.
void Merger::copy_binary(const std::string& key) {
  if (key.empty() || target_.find_binary(key)) return;
  std::optional<BinaryRecord> binary = binaries_(key);
  if (!binary) return;
  if (!options_.trust_binaries) {
    if (left_out_.insert(key).second) ++summary_.binaries_left_out;
    return;
  }
  target_.store_binary(*binary);
  ++summary_.binaries_copied;
}

namespace {

MergeSummary merge_tunings(Database& target, Database& source,
                           const std::vector<TuningRecord>& tunings, const MergeOptions& options) {
  for (const TuningRecord& tuning : tunings)  // all of them, before anything is written
    check_incoming(tuning, source.candidates(tuning.id), options, source.path());
  Merger merger(
      target, [&source](const std::string& key) { return source.find_binary(key); }, options,
      source.path());
  target.write_atomically([&] {
    for (const TuningRecord& tuning : tunings) merger.add(tuning, source.candidates(tuning.id));
  });
  return merger.summary();
}

}  // namespace

MergeSummary merge_database(Database& target, Database& source, const std::string& signature,
                            const MergeOptions& options) {
  return merge_tunings(target, source,
                       signature.empty() ? source.tunings() : source.find_tunings(signature),
                       options);
}

MergeSummary merge_tuning(Database& target, Database& source, const TuningRecord& tuning,
                          const MergeOptions& options) {
  return merge_tunings(target, source, {tuning}, options);
}

}  // namespace fusetune::cache
