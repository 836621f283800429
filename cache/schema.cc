#include "cache/schema.h"

#include <fmt/format.h>

#include <iterator>

#include "cache/errors.h"
#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

// One forward migration: the SQL that brings a database from the previous version to
// `to_version`. It ends by setting user_version (PRAGMAs cannot take bound values).
struct Migration {
  int to_version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE tunings (
  id INTEGER PRIMARY KEY,
  signature TEXT NOT NULL,
  precision TEXT NOT NULL,
  device_name TEXT NOT NULL,
  arch TEXT NOT NULL,
  sm_count INTEGER NOT NULL,
  nvrtc_version TEXT NOT NULL,
  generator_version TEXT NOT NULL,
  spec TEXT NOT NULL,
  driver_version INTEGER NOT NULL,
  tuning_seconds REAL NOT NULL DEFAULT 0,
  winner TEXT NOT NULL DEFAULT '',
  winner_time_ms REAL,
  winner_rel_err REAL,
  winner_config_json TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (signature, precision, device_name, arch, sm_count, nvrtc_version, generator_version)
);
CREATE TABLE candidates (
  tuning_id INTEGER NOT NULL REFERENCES tunings (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  config_json TEXT NOT NULL,
  outcome TEXT NOT NULL,
  time_ms REAL,
  rel_err REAL,
  registers INTEGER NOT NULL,
  smem_bytes INTEGER NOT NULL,
  spill_bytes INTEGER NOT NULL,
  message TEXT NOT NULL,
  binary_key TEXT NOT NULL,
  measured_at TEXT NOT NULL,
  PRIMARY KEY (tuning_id, name)
);
CREATE TABLE binaries (
  key TEXT PRIMARY KEY,
  arch TEXT NOT NULL,
  nvrtc_version TEXT NOT NULL,
  cubin BLOB NOT NULL,
  cubin_sha256 TEXT NOT NULL,
  registers INTEGER NOT NULL,
  smem_bytes INTEGER NOT NULL,
  spill_bytes INTEGER NOT NULL,
  log TEXT NOT NULL,
  created_at TEXT NOT NULL
);
PRAGMA application_id = 1179931972;
PRAGMA user_version = 1;
)sql"},
    // Loads of specs never tuned, kept so that `fusetune tune --misses` can tune them later.
    {2, R"sql(
CREATE TABLE misses (
  signature TEXT NOT NULL,
  precision TEXT NOT NULL,
  device_name TEXT NOT NULL,
  arch TEXT NOT NULL,
  sm_count INTEGER NOT NULL,
  nvrtc_version TEXT NOT NULL,
  generator_version TEXT NOT NULL,
  spec TEXT NOT NULL,
  served TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  PRIMARY KEY (signature, precision, device_name, arch, sm_count, nvrtc_version,
               generator_version)
);
PRAGMA user_version = 2;
)sql"},
    // How much a finalist's timing rounds spread: the winner is chosen within that noise.
    {3, R"sql(
ALTER TABLE candidates ADD COLUMN time_spread REAL;
PRAGMA user_version = 3;
)sql"},
    // The soft keys beside the driver (cache/soft_keys.h) as a JSON object; '' when unrecorded.
    {4, R"sql(
ALTER TABLE tunings ADD COLUMN device_state TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 4;
)sql"},
    // The winner a tuning replaces (tune --force, a re-verification): it keeps its place while
    // within noise (cache/winner_rule.h). '' when there was none.
    {5, R"sql(
ALTER TABLE tunings ADD COLUMN incumbent TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 5;
)sql"},
};

static_assert(static_cast<int>(std::size(kMigrations)) == kSchemaVersion,
              "kSchemaVersion must be the number of migrations");

consteval bool migrations_are_consecutive() {
  for (int i = 0; i < kSchemaVersion; ++i) {
    if (kMigrations[i].to_version != i + 1) return false;
  }
  return true;
}
static_assert(migrations_are_consecutive(), "migration i must lead to schema version i + 1");

std::int64_t pragma_int(Connection& connection, const char* sql) {
  Statement statement(connection, sql);
  if (!statement.step()) return 0;
  std::int64_t value = statement.column_int64(0);
  statement.reset();
  return value;
}

}  // namespace

SchemaState read_schema_state(Connection& connection) {
  return {pragma_int(connection, "PRAGMA application_id"),
          pragma_int(connection, "PRAGMA user_version"),
          pragma_int(connection, "SELECT count(*) FROM sqlite_master")};
}

// An SQLite file with no schema and no application id is empty: ours to fill. One with a
// different id, or with tables but no id, belongs to someone else.
void check_owner(const std::string& path, const SchemaState& state) {
  bool ours = state.application_id == kApplicationId;
  bool blank = state.application_id == 0 && state.schema_objects == 0;
  if (ours || blank) return;
  fail(fmt::format(
      "{}: an SQLite database of another program (application_id {:#x}, not fusetune's {:#x}; {} "
      "tables and indexes). {}",
      path, state.application_id, kApplicationId, state.schema_objects, kLeaveIt));
}

void check_not_newer(const std::string& path, const SchemaState& state) {
  if (state.user_version <= kSchemaVersion) return;
  fail(fmt::format(
      "{}: written by a newer fusetune (schema version {}; this fusetune knows versions up to "
      "{}). Upgrade fusetune, or pass --db with another path",
      path, state.user_version, kSchemaVersion));
}

// Brings the schema to kSchemaVersion in one transaction; the state is read again inside it, as
// another process may have created or migrated the file meanwhile.
void migrate(Connection& connection) {
  SchemaState state = read_schema_state(connection);
  if (state.application_id == kApplicationId && state.user_version == kSchemaVersion) return;
  Transaction transaction(connection);
  state = read_schema_state(connection);
  check_owner(connection.path(), state);
  check_not_newer(connection.path(), state);
  for (const Migration& migration : kMigrations) {
    if (migration.to_version > state.user_version) connection.execute(migration.sql);
  }
  state = read_schema_state(connection);
  if (state.application_id != kApplicationId || state.user_version != kSchemaVersion) {
    throw Error(
        StatusCode::internal,
        fmt::format("{}: migration ended at schema version {}, expected {} (a fusetune bug)",
                    connection.path(), state.user_version, kSchemaVersion));
  }
  transaction.commit();
}

}  // namespace fusetune::cache
