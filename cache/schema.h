// The tuning database's schema: the application id that marks a file as fusetune's, the schema
// version kept in PRAGMA user_version, the checks of both, and the ordered migrations that bring
// an empty or older file up to this fusetune's version. Internal to cache/.
#pragma once

#include <cstdint>
#include <string>

#include "cache/sqlite.h"

namespace fusetune::cache {

// PRAGMA application_id of every fusetune database: "FTUD".
inline constexpr std::int64_t kApplicationId = 0x46545544;

// The schema version this fusetune writes: one per migration in schema.cc (checked there).
inline constexpr int kSchemaVersion = 5;

// What a file says about its schema.
struct SchemaState {
  std::int64_t application_id = 0;
  std::int64_t user_version = 0;
  std::int64_t schema_objects = 0;  // tables, indexes, views and triggers
};

SchemaState read_schema_state(sqlite::Connection& connection);

// Throws (database_error) when the schema in `state` belongs to another program.
void check_owner(const std::string& path, const SchemaState& state);

// Throws (database_error) when the schema in `state` is newer than kSchemaVersion.
void check_not_newer(const std::string& path, const SchemaState& state);

// Brings the schema of a read-write connection to kSchemaVersion in one transaction. Throws
// (database_error) when the file turns out to be another program's or a newer fusetune's.
void migrate(sqlite::Connection& connection);

}  // namespace fusetune::cache
