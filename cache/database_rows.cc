#include "cache/database_rows.h"

#include "cache/soft_keys.h"

namespace fusetune::cache {

void bind_key(sqlite::Statement& statement, const TuningKey& key) {
  statement.bind(1, key.signature);
  statement.bind(2, key.precision);
  statement.bind(3, key.device_name);
  statement.bind(4, key.arch);
  statement.bind(5, key.sm_count);
  statement.bind(6, key.nvrtc_version);
  statement.bind(7, key.generator_version);
}

void bind_candidate(sqlite::Statement& s, std::int64_t tuning_id,
                    const CandidateRecord& candidate) {
  s.bind(1, tuning_id);
  s.bind(2, candidate.name);
  s.bind(3, candidate.config_json);
  s.bind(4, candidate.outcome);
  s.bind(5, candidate.time_ms);
  s.bind(6, candidate.rel_err);
  s.bind(7, candidate.registers);
  s.bind(8, candidate.smem_bytes);
  s.bind(9, candidate.spill_bytes);
  s.bind(10, candidate.message);
  s.bind(11, candidate.binary_key);
  s.bind(12, candidate.time_noise);
}

TuningRecord read_tuning(const sqlite::Statement& row) {
  TuningRecord record;
  record.id = row.column_int64(0);
  record.key = {row.column_text(1), row.column_text(2), row.column_text(3), row.column_text(4),
                row.column_int(5),  row.column_text(6), row.column_text(7)};
  record.spec = row.column_text(8);
  record.soft_keys.driver_version = row.column_int(9);
  record.winner = row.column_text(10);
  record.winner_time_ms = row.column_optional_double(11);
  record.winner_rel_err = row.column_optional_double(12);
  record.winner_config_json = row.column_text(13);
  record.candidate_count = row.column_int(14);
  record.tuning_seconds = row.column_double(15);
  record.created_at = row.column_text(16);
  record.updated_at = row.column_text(17);
  read_device_state(row.column_text(18), record.soft_keys);
  record.incumbent = row.column_text(19);
  return record;
}

std::vector<TuningRecord> read_tunings(sqlite::Statement& statement) {
  std::vector<TuningRecord> records;
  while (statement.step()) records.push_back(read_tuning(statement));
  return records;
}

CandidateRecord read_candidate(const sqlite::Statement& row) {
  return {.name = row.column_text(0),
          .config_json = row.column_text(1),
          .outcome = row.column_text(2),
          .time_ms = row.column_optional_double(3),
          .rel_err = row.column_optional_double(4),
          .time_noise = row.column_optional_double(11),
          .registers = row.column_int(5),
          .smem_bytes = row.column_int(6),
          .spill_bytes = row.column_int(7),
          .message = row.column_text(8),
          .binary_key = row.column_text(9),
          .measured_at = row.column_text(10)};
}

}  // namespace fusetune::cache
