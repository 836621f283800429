// Merging tuning results from elsewhere (another database, an export) into a database, best of
// both per device fingerprint: tunings match by their whole key; a tuning the target lacks is
// copied whole; for one in both, the candidate rows are united, and of two rows for the same
// candidate the better result stays (better_result). The winner is then recomputed from the rows.
// The binaries that copied rows refer to come along. Merging the same results again changes
// nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache {

struct MergeSummary {
  int tunings_added = 0;        // keys the target lacked, copied whole
  int tunings_merged = 0;       // keys in both whose candidate rows changed
  int tunings_unchanged = 0;    // keys in both where the target had each result as good already
  int candidates_added = 0;     // rows for candidates the target had not measured
  int candidates_replaced = 0;  // rows that replaced a worse result
  int binaries_copied = 0;
};

// Whether `incoming` is a better result than `stored` for the same candidate: "ok" beats every
// other outcome; of two "ok" rows, the faster (an unknown time counts as slowest). Anything else
// is no better, so the stored row stays.
bool better_result(const CandidateRecord& incoming, const CandidateRecord& stored);

// Merges tunings one at a time into `target`, through its write methods; the caller groups the
// calls into one transaction (Database::write_atomically).
class Merger {
 public:
  // Looks up a binary where the merged results come from: nullopt when it is not there (or its
  // checksum does not match), and the row then comes without it.
  using BinarySource = std::function<std::optional<BinaryRecord>(const std::string& key)>;

  Merger(Database& target, BinarySource binaries);

  // Merges `tuning` (of which id and candidate_count are ignored) and its candidate rows.
  void add(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates);
  const MergeSummary& summary() const { return summary_; }

 private:
  void copy_binary(const std::string& key);

  Database& target_;
  BinarySource binaries_;
  MergeSummary summary_;
};

// Merges the tunings of `source` (only read) into `target` in one transaction; only those of
// `signature` when it is not empty.
MergeSummary merge_database(Database& target, Database& source, const std::string& signature = "");

// Merges one tuning of `source` (only read), with its rows and their binaries, into `target` in
// one transaction: a shipped tuning adopted by the user's database to be re-verified there.
MergeSummary merge_tuning(Database& target, Database& source, const TuningRecord& tuning);

}  // namespace fusetune::cache
