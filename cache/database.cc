#include "cache/database.h"

#include <fmt/format.h>

#include <utility>

#include "cache/database_rows.h"
#include "cache/sha256.h"
#include "cache/sqlite.h"
#include "cache/sqlite_database.h"
#include "cache/winner_rule.h"
#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

[[noreturn]] void no_tuning(const std::string& path, std::int64_t id) {
  throw Error(StatusCode::not_found,
              fmt::format("{}: no tuning with id {} (another process may have forgotten it); "
                          "begin the tuning again",
                          path, id));
}

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(Connection connection) : connection_(std::move(connection)) {}

  const std::string& path() const override { return connection_.path(); }

  std::optional<TuningRecord> find_tuning(const TuningKey& key) override {
    bind_key(find_tuning_, key);
    if (!find_tuning_.step()) return std::nullopt;
    TuningRecord record = read_tuning(find_tuning_);
    find_tuning_.reset();
    return record;
  }

  std::vector<TuningRecord> find_tunings(const std::string& signature) override {
    find_tunings_.bind(1, signature);
    return read_tunings(find_tunings_);
  }

  std::vector<TuningRecord> tunings() override { return read_tunings(all_tunings_); }

  std::int64_t begin_tuning(const TuningKey& key, const std::string& spec,
                            const SoftKeys& soft_keys, const std::string& incumbent) override {
    Transaction transaction(connection_);
    bind_key(begin_tuning_, key);
    begin_tuning_.bind(8, spec);
    begin_tuning_.bind(9, soft_keys.driver_version);
    begin_tuning_.bind(10, device_state_json(soft_keys));
    begin_tuning_.bind(11, incumbent);
    if (!begin_tuning_.step()) {
      throw Error(StatusCode::internal, fmt::format("{}: the upsert returned no id", path()));
    }
    std::int64_t id = begin_tuning_.column_int64(0);
    begin_tuning_.reset();
    transaction.commit();
    return id;
  }

  void record_candidate(std::int64_t tuning_id, const CandidateRecord& candidate) override {
    Transaction transaction(connection_);
    touch_tuning_.bind(1, tuning_id);
    touch_tuning_.step();
    if (connection_.changes() == 0) no_tuning(path(), tuning_id);
    Statement& s = record_candidate_;
    bind_candidate(s, tuning_id, candidate);
    s.step();
    transaction.commit();
  }

  std::vector<std::string> candidate_names(std::int64_t tuning_id) override {
    candidate_names_.bind(1, tuning_id);
    std::vector<std::string> names;
    while (candidate_names_.step()) names.push_back(candidate_names_.column_text(0));
    return names;
  }

  std::vector<CandidateRecord> candidates(std::int64_t tuning_id) override {
    Statement& s = candidates_;
    s.bind(1, tuning_id);
    std::vector<CandidateRecord> records;
    while (s.step()) records.push_back(read_candidate(s));
    return records;
  }

  TuningRecord finish_tuning(std::int64_t tuning_id, double tuning_seconds) override {
    Transaction transaction(connection_);
    struct Row {
      std::optional<double> time_ms, rel_err;
      std::string config_json;
    };
    tuning_by_id_.bind(1, tuning_id);
    if (!tuning_by_id_.step()) no_tuning(path(), tuning_id);
    const std::string incumbent = read_tuning(tuning_by_id_).incumbent;
    tuning_by_id_.reset();
    std::vector<TimedCandidate> timed;
    std::vector<Row> rows;
    ok_candidates_.bind(1, tuning_id);
    while (ok_candidates_.step()) {
      timed.push_back({ok_candidates_.column_text(0), ok_candidates_.column_double(1),
                       ok_candidates_.column_optional_double(4)});
      rows.push_back({ok_candidates_.column_optional_double(1),
                      ok_candidates_.column_optional_double(2), ok_candidates_.column_text(3)});
    }
    Statement& s = finish_tuning_;
    s.bind(1, tuning_id);
    if (const std::optional<std::size_t> winner = choose_winner(timed, incumbent)) {
      s.bind(2, timed[*winner].name);
      s.bind(3, rows[*winner].time_ms);
      s.bind(4, rows[*winner].rel_err);
      s.bind(5, rows[*winner].config_json);
    } else {
      s.bind(2, "");
      s.bind(3, std::nullopt);
      s.bind(4, std::nullopt);
      s.bind(5, "");
    }
    s.bind(6, tuning_seconds);
    s.step();
    if (connection_.changes() == 0) no_tuning(path(), tuning_id);
    tuning_by_id_.bind(1, tuning_id);
    if (!tuning_by_id_.step()) no_tuning(path(), tuning_id);
    TuningRecord record = read_tuning(tuning_by_id_);
    tuning_by_id_.reset();
    transaction.commit();
    return record;
  }

  void forget_tuning(std::int64_t tuning_id) override {
    Transaction transaction(connection_);
    forget_tuning_.bind(1, tuning_id);
    forget_tuning_.step();
    transaction.commit();
  }

  std::optional<BinaryRecord> find_binary(const std::string& key) override {
    Statement& s = find_binary_;
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    BinaryRecord binary{.key = key,
                        .arch = s.column_text(0),
                        .nvrtc_version = s.column_text(1),
                        .cubin = s.column_blob(2),
                        .registers = s.column_int(4),
                        .smem_bytes = s.column_int(5),
                        .spill_bytes = s.column_int(6),
                        .log = s.column_text(7)};
    std::string stored_sha256 = s.column_text(3);
    s.reset();
    if (sha256_hex(binary.cubin) != stored_sha256) return std::nullopt;
    return binary;
  }

  void record_miss(const TuningKey& key, const std::string& spec,
                   const std::string& served) override {
    Transaction transaction(connection_);
    bind_key(record_miss_, key);
    record_miss_.bind(8, spec);
    record_miss_.bind(9, served);
    record_miss_.step();
    transaction.commit();
  }

  std::vector<MissRecord> misses() override {
    std::vector<MissRecord> misses;
    while (misses_.step()) {
      const Statement& row = misses_;
      misses.push_back(
          {.key = {row.column_text(0), row.column_text(1), row.column_text(2), row.column_text(3),
                   row.column_int(4), row.column_text(5), row.column_text(6)},
           .spec = row.column_text(7),
           .served = row.column_text(8),
           .count = row.column_int(9),
           .first_seen = row.column_text(10),
           .last_seen = row.column_text(11)});
    }
    misses_.reset();
    return misses;
  }

  void forget_miss(const TuningKey& key) override {
    Transaction transaction(connection_);
    bind_key(forget_miss_, key);
    forget_miss_.step();
    transaction.commit();
  }

  void store_binary(const BinaryRecord& binary) override {
    Transaction transaction(connection_);
    Statement& s = store_binary_;
    s.bind(1, binary.key);
    s.bind(2, binary.arch);
    s.bind(3, binary.nvrtc_version);
    s.bind(4, binary.cubin);
    s.bind(5, sha256_hex(binary.cubin));
    s.bind(6, binary.registers);
    s.bind(7, binary.smem_bytes);
    s.bind(8, binary.spill_bytes);
    s.bind(9, binary.log);
    s.step();
    transaction.commit();
  }

  std::int64_t binary_count() override {
    const std::int64_t count = binary_count_.step() ? binary_count_.column_int64(0) : 0;
    binary_count_.reset();
    return count;
  }

  Status check_integrity() override {
    // Ten problems say enough; the full report of a damaged file can run to thousands of lines.
    Statement check(connection_, "PRAGMA integrity_check(10)");
    std::string verdict;
    while (check.step()) verdict += (verdict.empty() ? "" : "; ") + check.column_text(0);
    if (verdict == "ok") return Status();
    return Status(StatusCode::database_error,
                  fmt::format("{}: the integrity check failed: {}", path(), verdict));
  }

  std::int64_t store_tuning(const TuningRecord& record) override {
    Transaction transaction(connection_);
    Statement& s = store_tuning_;
    bind_key(s, record.key);
    s.bind(8, record.spec);
    s.bind(9, record.soft_keys.driver_version);
    s.bind(10, record.tuning_seconds);
    s.bind(11, record.winner);
    s.bind(12, record.winner_time_ms);
    s.bind(13, record.winner_rel_err);
    s.bind(14, record.winner_config_json);
    s.bind(15, record.created_at);
    s.bind(16, record.updated_at);
    s.bind(17, device_state_json(record.soft_keys));
    if (!s.step()) {
      throw Error(StatusCode::internal, fmt::format("{}: the upsert returned no id", path()));
    }
    std::int64_t id = s.column_int64(0);
    s.reset();
    transaction.commit();
    return id;
  }

  void store_candidate(std::int64_t tuning_id, const CandidateRecord& candidate) override {
    Transaction transaction(connection_);
    Statement& s = store_candidate_;
    bind_candidate(s, tuning_id, candidate);
    s.bind(13, candidate.measured_at);
    s.step();
    transaction.commit();
  }

  std::vector<StoredBinary> binaries() override {
    std::vector<StoredBinary> binaries;
    while (all_binaries_.step()) {
      binaries.push_back({.key = all_binaries_.column_text(0),
                          .arch = all_binaries_.column_text(1),
                          .nvrtc_version = all_binaries_.column_text(2),
                          .cubin_bytes = all_binaries_.column_int64(3)});
    }
    return binaries;
  }

  void forget_binary(const std::string& key) override {
    Transaction transaction(connection_);
    forget_binary_.bind(1, key);
    forget_binary_.step();
    transaction.commit();
  }

  void write_atomically(const std::function<void()>& work) override {
    Transaction transaction(connection_);
    work();
    transaction.commit();
  }

 private:
  // Declared before the statements, so that they are finalized before it closes.
  Connection connection_;

  Statement find_tuning_{connection_, FT_SELECT_TUNING
                         "WHERE signature = ?1 AND precision = ?2 AND device_name = ?3"
                         " AND arch = ?4 AND sm_count = ?5 AND nvrtc_version = ?6"
                         " AND generator_version = ?7"};
  Statement find_tunings_{
      connection_, FT_SELECT_TUNING "WHERE signature = ?1 ORDER BY updated_at DESC, id DESC"};
  Statement all_tunings_{connection_, FT_SELECT_TUNING "ORDER BY updated_at DESC, id DESC"};
  Statement tuning_by_id_{connection_, FT_SELECT_TUNING "WHERE id = ?1"};
  Statement begin_tuning_{
      connection_,
      "INSERT INTO tunings (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version, spec, driver_version, device_state, incumbent, created_at,"
      " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, " FT_NOW ", " FT_NOW
      ")"
      " ON CONFLICT (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version) DO UPDATE SET spec = excluded.spec,"
      " driver_version = excluded.driver_version, device_state = excluded.device_state,"
      " incumbent = CASE excluded.incumbent WHEN '' THEN incumbent ELSE excluded.incumbent END,"
      " updated_at = excluded.updated_at"
      " RETURNING id"};
  Statement touch_tuning_{connection_, "UPDATE tunings SET updated_at = " FT_NOW " WHERE id = ?1"};
  Statement record_candidate_{
      connection_,
      "INSERT OR REPLACE INTO candidates (tuning_id, name, config_json, outcome, time_ms, rel_err,"
      " registers, smem_bytes, spill_bytes, message, binary_key, time_spread, measured_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, " FT_NOW ")"};
  Statement candidate_names_{connection_,
                             "SELECT name FROM candidates WHERE tuning_id = ?1 ORDER BY name"};
  // "ok", then "slower", each by time (unknown times last); then the rest by outcome and name.
  Statement candidates_{connection_, FT_SELECT_CANDIDATE
                        "WHERE tuning_id = ?1"
                        " ORDER BY CASE outcome WHEN 'ok' THEN 0 WHEN 'slower' THEN 1 ELSE 2 END,"
                        " CASE WHEN outcome IN ('ok', 'slower') THEN time_ms IS NULL END,"
                        " CASE WHEN outcome IN ('ok', 'slower') THEN time_ms END, outcome, name"};
  // The winner is chosen from every stored row, whichever process wrote it.
  Statement ok_candidates_{connection_,
                           "SELECT name, time_ms, rel_err, config_json, time_spread FROM candidates"
                           " WHERE tuning_id = ?1 AND outcome = 'ok' AND time_ms IS NOT NULL"
                           " ORDER BY time_ms, name"};
  Statement finish_tuning_{
      connection_,
      "UPDATE tunings SET winner = ?2, winner_time_ms = ?3, winner_rel_err = ?4,"
      " winner_config_json = ?5, tuning_seconds = tuning_seconds + ?6, updated_at = " FT_NOW
      " WHERE id = ?1"};
  Statement forget_tuning_{connection_, "DELETE FROM tunings WHERE id = ?1"};
  Statement record_miss_{
      connection_,
      "INSERT INTO misses (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version, spec, served, count, first_seen, last_seen)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, " FT_NOW ", " FT_NOW
      ")"
      " ON CONFLICT (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version) DO UPDATE SET spec = excluded.spec, served = excluded.served,"
      " count = count + 1, last_seen = excluded.last_seen"};
  Statement misses_{connection_,
                    "SELECT signature, precision, device_name, arch, sm_count, nvrtc_version,"
                    " generator_version, spec, served, count, first_seen, last_seen FROM misses"
                    " ORDER BY last_seen DESC, signature"};
  Statement forget_miss_{connection_,
                         "DELETE FROM misses WHERE signature = ?1 AND precision = ?2"
                         " AND device_name = ?3 AND arch = ?4 AND sm_count = ?5"
                         " AND nvrtc_version = ?6 AND generator_version = ?7"};
  Statement find_binary_{connection_,
                         "SELECT arch, nvrtc_version, cubin, cubin_sha256, registers, smem_bytes,"
                         " spill_bytes, log FROM binaries WHERE key = ?1"};
  Statement store_binary_{
      connection_,
      "INSERT OR REPLACE INTO binaries (key, arch, nvrtc_version, cubin, cubin_sha256, registers,"
      " smem_bytes, spill_bytes, log, created_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, " FT_NOW ")"};
  Statement binary_count_{connection_, "SELECT count(*) FROM binaries"};
  // The foreign key on candidates rules out INSERT OR REPLACE, which would delete their rows.
  Statement store_tuning_{
      connection_,
      "INSERT INTO tunings (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version, spec, driver_version, tuning_seconds, winner, winner_time_ms,"
      " winner_rel_err, winner_config_json, created_at, updated_at, device_state)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
      " ON CONFLICT (signature, precision, device_name, arch, sm_count, nvrtc_version,"
      " generator_version) DO UPDATE SET spec = excluded.spec,"
      " driver_version = excluded.driver_version, device_state = excluded.device_state,"
      " tuning_seconds = excluded.tuning_seconds,"
      " winner = excluded.winner, winner_time_ms = excluded.winner_time_ms,"
      " winner_rel_err = excluded.winner_rel_err,"
      " winner_config_json = excluded.winner_config_json, created_at = excluded.created_at,"
      " updated_at = excluded.updated_at"
      " RETURNING id"};
  Statement store_candidate_{
      connection_,
      "INSERT OR REPLACE INTO candidates (tuning_id, name, config_json, outcome, time_ms, rel_err,"
      " registers, smem_bytes, spill_bytes, message, binary_key, time_spread, measured_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"};
  Statement all_binaries_{
      connection_, "SELECT key, arch, nvrtc_version, length(cubin) FROM binaries ORDER BY key"};
  Statement forget_binary_{connection_, "DELETE FROM binaries WHERE key = ?1"};
};

#undef FT_SELECT_TUNING
#undef FT_NOW

}  // namespace

std::unique_ptr<Database> make_sqlite_database(sqlite::Connection connection) {
  return std::make_unique<SqliteDatabase>(std::move(connection));
}

}  // namespace fusetune::cache
