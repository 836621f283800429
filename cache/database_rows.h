// How tunings and candidates map to and from rows of the cache's SQLite tables: the columns a
// query selects and the reader of its rows are written side by side, so that they keep the same
// order.
#pragma once

#include <cstdint>
#include <vector>

#include "cache/database.h"
#include "cache/sqlite.h"

namespace fusetune::cache {

// UTC "YYYY-MM-DDTHH:MM:SSZ", evaluated by SQLite.
#define FT_NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

// A query of tunings (alias t), for read_tuning; WHERE and ORDER BY follow.
#define FT_SELECT_TUNING                                                               \
  "SELECT id, signature, precision, device_name, arch, sm_count, nvrtc_version,"       \
  " generator_version, spec, driver_version, winner, winner_time_ms, winner_rel_err,"  \
  " winner_config_json, (SELECT count(*) FROM candidates c WHERE c.tuning_id = t.id)," \
  " tuning_seconds, created_at, updated_at, device_state, incumbent FROM tunings t "

// A query of candidates, for read_candidate; WHERE and ORDER BY follow.
#define FT_SELECT_CANDIDATE                                                                  \
  "SELECT name, config_json, outcome, time_ms, rel_err, registers, smem_bytes, spill_bytes," \
  " message, binary_key, measured_at, time_spread FROM candidates "

// Binds the key to parameters ?1 to ?7.
void bind_key(sqlite::Statement& statement, const TuningKey& key);
// Binds the tuning id and the candidate's fields, measured_at aside, to parameters ?1 to ?12.
void bind_candidate(sqlite::Statement& s, std::int64_t tuning_id, const CandidateRecord& candidate);

// The current row of an FT_SELECT_TUNING query.
TuningRecord read_tuning(const sqlite::Statement& row);
// Every row of an FT_SELECT_TUNING query.
std::vector<TuningRecord> read_tunings(sqlite::Statement& statement);
// The current row of an FT_SELECT_CANDIDATE query.
CandidateRecord read_candidate(const sqlite::Statement& row);

}  // namespace fusetune::cache
