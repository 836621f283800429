// The tuning database: every candidate measured for a problem on a device, the winner, and the
// compiled cubins. SQLite in WAL mode; the schema version lives in PRAGMA user_version and
// older files are migrated forward. A file that is not a fusetune database, or is corrupt, is
// reported and never modified.
//
// Thread safety: a Database is used by one thread at a time. Several processes may use one file
// at once; each write is its own short transaction, so no process loses another's results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/soft_keys.h"
#include "fusetune/status.h"

namespace fusetune::cache {

// What makes a tuning result reusable: the problem, the precision, the device and the code that
// generated and compiled the kernels. A lookup must match all of it.
struct TuningKey {
  std::string signature;    // Spec::signature(): the spec with scalar values elided
  std::string precision;    // "fp32"
  std::string device_name;  // "NVIDIA H100 80GB HBM3"
  std::string arch;         // "sm_90"
  int sm_count = 0;
  std::string nvrtc_version;      // "13.0"
  std::string generator_version;  // generator/version.h: fusetune version + template hash

  friend bool operator==(const TuningKey&, const TuningKey&) = default;
};

// One candidate's measured outcome.
struct CandidateRecord {
  std::string name;         // procedural config name: "ft_gemm_simt_128x128x16_..."
  std::string config_json;  // {"family": "gemm_simt", "warps_m": 2, ...}
  std::string outcome;      // "ok", "compile_error", "out_of_resources", "wrong_result",
                            // "fault", "timeout", "slower" (abandoned: far slower than the best)
  std::optional<double> time_ms;  // median, for "ok" (and the partial median for "slower")
  std::optional<double> rel_err;  // relative Frobenius error against fp64, when it ran
  // For finalists timed in several rounds: how far time_ms may be off, relative to it
  // (tuner/finalist_rounds.h). Stored as `time_spread`, its name from when it held the rounds'
  // spread, which is never less: rows written then stay on the side of caution.
  std::optional<double> time_noise;
  int registers = -1;       // per thread, from the compiler; -1 when unknown
  int smem_bytes = -1;      // static + dynamic shared memory per block
  int spill_bytes = -1;     // spill stores, from the compiler
  std::string message;      // why it failed, for failures
  std::string binary_key;   // BinaryRecord::key of its cubin, when it compiled
  std::string measured_at;  // UTC "YYYY-MM-DDTHH:MM:SSZ", set by the database on write
};

// One tuned problem on one device.
struct TuningRecord {
  std::int64_t id = 0;
  TuningKey key;
  std::string spec;    // the canonical spec as last tuned, with its scalar values
  SoftKeys soft_keys;  // as last tuned or re-verified; recorded, not part of the key
  std::string winner;  // name of the winning "ok" candidate; empty while there is none
  // The winner this tuning replaced (tune --force, a re-verification); empty if none.
  std::string incumbent;
  std::optional<double> winner_time_ms;
  std::optional<double> winner_rel_err;
  std::string winner_config_json;
  int candidate_count = 0;  // candidate rows stored
  double tuning_seconds = 0;
  std::string created_at;  // UTC, as in CandidateRecord
  std::string updated_at;
};

// A compiled kernel. `key` is chosen by the caller (source hash + arch + NVRTC version).
struct BinaryRecord {
  std::string key;
  std::string arch;
  std::string nvrtc_version;
  std::vector<char> cubin;
  int registers = -1;
  int smem_bytes = -1;
  int spill_bytes = -1;
  std::string log;  // the compiler's log
};

// A load of a spec never tuned on a device: what was asked, and what served it.
struct MissRecord {
  TuningKey key;
  std::string spec;    // the canonical spec as last asked for
  std::string served;  // the configuration that ran: a neighbour's winner or the default
  int count = 0;       // loads recorded (one per process that loaded it)
  std::string first_seen;
  std::string last_seen;
};

// A stored binary as listed, without its bytes.
struct StoredBinary {
  std::string key;
  std::string arch;
  std::string nvrtc_version;
  std::int64_t cubin_bytes = 0;
};

enum class OpenMode {
  read_write,
  read_only,
  // Read-only, and trusted not to change while open (SQLite's immutable=1): no locks, and no
  // -wal or -shm file is created beside it, so it may live in a folder the user cannot write. For
  // a published system database, replaced by renaming a new file into place, never in place.
  immutable,
};

class Database {
 public:
  // Opens the database at `path`, creating it (and its parent folders) if absent in read_write
  // mode. Throws fusetune::Error (database_error) saying what is wrong with the file and what to
  // do when it is not an SQLite file, belongs to another program, is corrupt, or comes from a
  // newer fusetune; in each case the file is left untouched.
  static std::unique_ptr<Database> open(const std::string& path,
                                        OpenMode mode = OpenMode::read_write);

  // $FUSETUNE_DB if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/fusetune/tuning.db.
  static std::string default_path();

  // Whether anything is at `path` for open to use or to refuse: a file of any kind, or a link
  // that leads to one or loops (open then says what is wrong). A link to nothing is nothing.
  // Never throws, never blocks.
  static bool exists(const std::string& path);

  virtual ~Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  virtual const std::string& path() const = 0;

  // The tuning stored under exactly this key, if any.
  virtual std::optional<TuningRecord> find_tuning(const TuningKey& key) = 0;
  // Every tuning whose signature matches, on any device, most recently updated first.
  virtual std::vector<TuningRecord> find_tunings(const std::string& signature) = 0;
  // Every tuning, most recently updated first.
  virtual std::vector<TuningRecord> tunings() = 0;

  // Returns the id of the tuning under `key`, creating it if absent; stores `spec` and
  // `soft_keys` as the latest seen, and `incumbent` (the winner being replaced) unless empty,
  // so that resuming keeps the one named when the tuning began.
  virtual std::int64_t begin_tuning(const TuningKey& key, const std::string& spec,
                                    const SoftKeys& soft_keys,
                                    const std::string& incumbent = {}) = 0;
  // Inserts the candidate, or replaces the row of the same name in that tuning.
  virtual void record_candidate(std::int64_t tuning_id, const CandidateRecord& candidate) = 0;
  // Names of the candidates already stored for the tuning (to resume a sweep).
  virtual std::vector<std::string> candidate_names(std::int64_t tuning_id) = 0;
  // All candidates of the tuning: "ok" ones fastest first, then "slower" ones by time, then
  // failures by name.
  virtual std::vector<CandidateRecord> candidates(std::int64_t tuning_id) = 0;
  // Recomputes the winner from the stored candidate rows ("ok" ones, by cache/winner_rule.h:
  // the incumbent while within twice the noise, else the fastest, or within its noise the
  // first by name), adds
  // `tuning_seconds`, and returns the updated record. Rows written by other processes count.
  virtual TuningRecord finish_tuning(std::int64_t tuning_id, double tuning_seconds) = 0;
  // Deletes the tuning and its candidates (tune --force starts from nothing).
  virtual void forget_tuning(std::int64_t tuning_id) = 0;

  // Notes a load of a spec never tuned (counting it again if already noted), so that it can be
  // tuned later; `served` names the configuration that ran instead.
  virtual void record_miss(const TuningKey& key, const std::string& spec,
                           const std::string& served) = 0;
  // Every miss noted, most recent first.
  virtual std::vector<MissRecord> misses() = 0;
  // Forgets the miss under `key` (once it is tuned); nothing when there is none.
  virtual void forget_miss(const TuningKey& key) = 0;

  // The binary under `key` if present and intact: a stored cubin whose checksum does not match
  // is treated as absent (and replaced by the next store_binary).
  virtual std::optional<BinaryRecord> find_binary(const std::string& key) = 0;
  virtual void store_binary(const BinaryRecord& binary) = 0;
  // How many binaries are stored, intact or not. Rows committed by other connections count.
  virtual std::int64_t binary_count() = 0;

  // SQLite's full check of the file (PRAGMA integrity_check: every page, index and constraint):
  // ok, or database_error naming the first problems. Reads the whole file, so it is for tests
  // and diagnosis, not for every open (which runs the quicker quick_check).
  virtual Status check_integrity() = 0;

  // For import, merge and prune, which keep what another database recorded.

  // Stores `record` under `record.key` exactly as given (spec, driver version, tuning seconds,
  // winner fields, created_at and updated_at; id and candidate_count are ignored), creating the
  // tuning or overwriting the one there, whose candidates stay. Returns its id.
  virtual std::int64_t store_tuning(const TuningRecord& record) = 0;
  // As record_candidate, but keeps `candidate.measured_at` and leaves the tuning's updated_at.
  virtual void store_candidate(std::int64_t tuning_id, const CandidateRecord& candidate) = 0;
  // Every stored binary, by key.
  virtual std::vector<StoredBinary> binaries() = 0;
  // Deletes the binary under `key`, if any. Candidates naming it then compile again on use.
  virtual void forget_binary(const std::string& key) = 0;
  // Runs `work` as one write transaction: the writes it makes through this Database are all kept
  // when it returns, and none when it throws (the exception goes on). Other processes see none
  // of them before it returns, and wait for their own writes. Calls may nest.
  virtual void write_atomically(const std::function<void()>& work) = 0;

 protected:
  Database() = default;
};

}  // namespace fusetune::cache
