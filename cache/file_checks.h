// What fusetune checks on an existing tuning database file before it opens it for use: that it is
// an SQLite file at all, that it is not another program's, that it is intact and that no newer
// fusetune wrote it; and the folder lock under which processes opening one read-write take turns.
// Every check throws fusetune::Error (database_error) and leaves the file as it was. Internal to
// cache/.
#pragma once

#include <filesystem>
#include <string>

#include "cache/schema.h"
#include "cache/sqlite.h"

namespace fusetune::cache {

enum class FileState { missing, empty, sqlite, other };

// Looks at `path` before SQLite does, without blocking or writing: whether it is missing, empty,
// an SQLite file or another regular file (SQLite would happily take a text file for a database it
// may write over). Throws when `path` is a folder, a FIFO, a device or a socket (SQLite would
// block on a FIFO and write a journal beside a device), a loop of symbolic links, or unreadable.
FileState inspect_file(const std::string& path);

// Runs every check that needs SQLite on a connection that cannot write, in the order the
// problems should be reported. Returns the schema state.
SchemaState check_existing(sqlite::Connection& connection);

// An exclusive flock on a folder, so that fusetune processes opening a database in it read-write
// take turns: two that find the file missing (or empty) must not both set it up in place.
class FolderLock {
 public:
  // Waits up to the SQLite busy timeout for the lock, then throws. Where the folder cannot be
  // opened or its file system has no locks, goes on without one.
  explicit FolderLock(const std::filesystem::path& folder);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace fusetune::cache
