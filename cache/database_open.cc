// Opening the tuning database: where it lives by default, the checks on an existing file, and
// the connection settings of each mode.
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "cache/database.h"
#include "cache/errors.h"
#include "cache/file_checks.h"
#include "cache/schema.h"
#include "cache/sqlite.h"
#include "cache/sqlite_database.h"

namespace fusetune::cache {
namespace {

using sqlite::Connection;
using sqlite::Statement;

void configure(Connection& connection, OpenMode mode) {
  connection.execute("PRAGMA foreign_keys = ON");
  if (mode != OpenMode::read_write) return;
  Statement journal(connection, "PRAGMA journal_mode = WAL");
  std::string journal_mode = journal.step() ? journal.column_text(0) : "";
  journal.reset();
  if (journal_mode != "wal") {
    fail(fmt::format(
        "{}: cannot switch the database to write-ahead logging (journal mode stays \"{}\"); put "
        "it on a local file system",
        connection.path(), journal_mode));
  }
  // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last few results.
  connection.execute("PRAGMA synchronous = NORMAL");
}

// SQLite would take any file for a database it may write over.
void refuse_other(const std::string& path, FileState file) {
  if (file == FileState::other) fail(fmt::format("{}: not an SQLite file. {}", path, kLeaveIt));
}

std::unique_ptr<Database> open_read_only(const std::string& path, FileState file, OpenMode mode) {
  if (file == FileState::missing) {
    fail(fmt::format(
        "{}: no tuning database there (read-only mode creates none). Tune something first to "
        "create it, or pass --db with the path of an existing one",
        path));
  }
  if (file == FileState::empty) {
    fail(fmt::format(
        "{}: an empty file, not a tuning database yet, and read-only mode sets none up. Tune "
        "something into it first (`fusetune tune SPEC --db {}`), or pass --db with the path of "
        "an existing one",
        path, path));
  }
  refuse_other(path, file);
  Connection connection(path, SQLITE_OPEN_READONLY,
                        mode == OpenMode::immutable ? "immutable=1" : "");
  SchemaState state = check_existing(connection);
  if (state.user_version < kSchemaVersion) {
    fail(fmt::format(
        "{}: schema version {} is older than this fusetune's {}, and read-only mode does not "
        "migrate. Open it once in read-write mode (run `fusetune tune`, say) to bring it up to "
        "date",
        path, state.user_version, kSchemaVersion));
  }
  configure(connection, mode);
  return make_sqlite_database(std::move(connection));
}

[[noreturn]] void refuse_unwritable(const std::string& path) {
  fail(fmt::format(
      "{}: the file is not writable; fix its permissions, open it read-only, or pass --db with "
      "another path",
      path));
}

std::unique_ptr<Database> open_read_write(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) {
    fail(fmt::format("{}: cannot create the folder {}: {}; pass --db with another path", path,
                     folder.string(), error.message()));
  }
  FolderLock lock(folder);
  FileState file = inspect_file(path);
  refuse_other(path, file);
  // Asked before SQLite, which would otherwise open the file read-only and fail on a first write,
  // or on reading a write-ahead log it may not update.
  if (file != FileState::missing && access(path.c_str(), W_OK) != 0) refuse_unwritable(path);
  if (file != FileState::missing) {
    // Checked on a read-only connection, which cannot write the file even by accident (a hot
    // journal rollback, or a checkpoint on close).
    Connection checker(path, SQLITE_OPEN_READONLY);
    check_existing(checker);
  }
  Connection connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // SQLite quietly opens a file it may not write read-only.
  if (sqlite3_db_readonly(connection.handle(), "main") == 1) refuse_unwritable(path);
  configure(connection, OpenMode::read_write);
  migrate(connection);
  return make_sqlite_database(std::move(connection));
}

}  // namespace

std::unique_ptr<Database> Database::open(const std::string& path, OpenMode mode) {
  if (path.empty()) fail("the tuning database path is empty; pass --db with a file path");
  if (mode != OpenMode::read_write) return open_read_only(path, inspect_file(path), mode);
  return open_read_write(path);
}

bool Database::exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 || errno != ENOENT;
}

std::string Database::default_path() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  if (std::string db = env("FUSETUNE_DB"); !db.empty()) return db;
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  std::string cache_home = env("XDG_CACHE_HOME");
  if (cache_home.empty() || cache_home.front() != '/') {
    std::string home = env("HOME");
    if (home.empty()) {
      fail(
          "cannot place the tuning database: FUSETUNE_DB, XDG_CACHE_HOME and HOME are all unset; "
          "set FUSETUNE_DB or pass --db");
    }
    cache_home = home + "/.cache";
  }
  return cache_home + "/fusetune/tuning.db";
}

}  // namespace fusetune::cache
