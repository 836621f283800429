// The Database that database.cc implements over an SQLite connection, for database_open.cc, which
// opens and checks the file first. Internal to cache/.
#pragma once

#include <memory>

#include "cache/database.h"
#include "cache/sqlite.h"

namespace fusetune::cache {

// Takes a connection to a checked database at this fusetune's schema version.
std::unique_ptr<Database> make_sqlite_database(sqlite::Connection connection);

}  // namespace fusetune::cache
