// Merging tuning results from elsewhere (another database, an export, a system database's tuning)
// into a database, best of both per device fingerprint: tunings match by their whole key; a tuning
// the target lacks is copied whole; for one in both, the candidate rows are united, and of two rows
// for the same candidate the better result stays (better_result).
//
// What comes from elsewhere is input, not fact (README, "Sharing results"): every tuning is checked
// before anything is written (check_incoming); a winner measured here is never displaced by a
// result from elsewhere, which waits for `fusetune tune` to time it here (unconfirmed_challenger);
// and cubins come along only from a source the user trusts, else they are compiled from source on
// first use. Merging the same results again changes nothing.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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
  int binaries_left_out = 0;  // untrusted cubins of copied rows: compiled from source when used
  // Tunings whose winner stays, with a result from elsewhere now ranked ahead of it: noted as
  // misses for `fusetune tune --misses` to re-verify both here.
  int winners_to_reverify = 0;
};

// Why a tuning from elsewhere, with its candidate rows, must not be taken; nullopt to take it.
using TuningCheck = std::function<std::optional<std::string>(
    const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates)>;

struct MergeOptions {
  // Copy the cubins that copied rows refer to (a team's own shards). Default: leave them out; the
  // kernels are compiled from source, deterministically, when first used.
  bool trust_binaries = false;
  // The caller's checks, beyond cache/'s own (check_incoming): what needs the generator, such as
  // whether it accepts the configurations and whether the times are within the GPU's peak.
  TuningCheck check = nullptr;
};

// Whether `incoming` is a better result than `stored` for the same candidate: "ok" beats every
// other outcome; of two "ok" rows, the faster (an unknown time counts as slowest). Anything else
// is no better, so the stored row stays.
bool better_result(const CandidateRecord& incoming, const CandidateRecord& stored);

// Refuses, with fusetune::Error (invalid_argument) whose message starts with `source`, names the
// tuning and says that nothing was merged, a tuning from elsewhere that is not one fusetune could
// have written: a winner that is none of its "ok" candidates or has another configuration, a
// timed candidate without a positive time; then whatever options.check refuses.
void check_incoming(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates,
                    const MergeOptions& options, std::string_view source);

// The candidate that the "ok" rows among `candidates` (the tuning's stored rows) rank ahead of the
// winner of `tuning` by the winner rule (cache/winner_rule.h, with the winner as incumbent): a
// result merged in from elsewhere, not yet timed here. nullopt when the winner holds, or there is
// none.
std::optional<std::string> unconfirmed_challenger(const TuningRecord& tuning,
                                                  const std::vector<CandidateRecord>& candidates);

// Merges tunings one at a time into `target`, through its write methods; the caller groups the
// calls into one transaction (Database::write_atomically).
class Merger {
 public:
  // Looks up a binary where the merged results come from: nullopt when it is not there (or its
  // checksum does not match), and the row then comes without it.
  using BinarySource = std::function<std::optional<BinaryRecord>(const std::string& key)>;

  // `source` names where the results come from, in messages.
  Merger(Database& target, BinarySource binaries, MergeOptions options, std::string source);

  // Checks (check_incoming) and merges `tuning` (of which id and candidate_count are ignored) and
  // its candidate rows.
  void add(const TuningRecord& tuning, const std::vector<CandidateRecord>& candidates);
  const MergeSummary& summary() const { return summary_; }

 private:
  void copy_binary(const std::string& key);
  void merge_rows(const TuningRecord& stored, const TuningRecord& tuning,
                  const std::vector<CandidateRecord>& candidates);

  Database& target_;
  BinarySource binaries_;
  MergeOptions options_;
  std::string source_;
  std::set<std::string> left_out_;  // untrusted binaries not copied, counted once each
  MergeSummary summary_;
};

// Merges the tunings of `source` (only read) into `target` in one transaction; only those of
// `signature` when it is not empty. Every tuning is checked before anything is written.
MergeSummary merge_database(Database& target, Database& source, const std::string& signature = "",
                            const MergeOptions& options = {});

// Merges one tuning of `source` (only read), with its rows and their binaries, into `target` in
// one transaction: a shipped tuning adopted by the user's database to be re-verified there.
MergeSummary merge_tuning(Database& target, Database& source, const TuningRecord& tuning,
                          const MergeOptions& options = {});

}  // namespace fusetune::cache
