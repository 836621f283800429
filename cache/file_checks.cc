#include "cache/file_checks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include "cache/errors.h"

namespace fusetune::cache {
namespace {

using sqlite::Connection;
using sqlite::Statement;

void check_intact(Connection& connection) {
  // One problem is enough to tell; the report of one bad page can run to hundreds of lines.
  Statement statement(connection, "PRAGMA quick_check(1)");
  std::string verdict = statement.step() ? statement.column_text(0) : "no answer";
  statement.reset();
  if (verdict == "ok") return;
  std::replace(verdict.begin(), verdict.end(), '\n', ' ');
  if (verdict.size() > 200) verdict = verdict.substr(0, 200) + "...";
  fail(fmt::format(
      "{}: the tuning database is corrupt (quick_check: {}). fusetune left it as it was; move it "
      "away or restore a backup, then run again",
      connection.path(), verdict));
}

}  // namespace

FileState inspect_file(const std::string& path) {
  std::error_code error;
  auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) return FileState::missing;
  if (error) fail(fmt::format("{}: cannot look at the file: {}", path, error.message()));
  if (std::filesystem::is_directory(status)) {
    fail(fmt::format("{}: a folder, not a database file; pass --db with the path of a file", path));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(fmt::format("{}: cannot read the file: {}", path, std::strerror(errno)));
  std::array<char, 16> header{};
  file.read(header.data(), header.size());
  if (file.gcount() == 0 && file.eof()) return FileState::empty;
  static constexpr char kMagic[] = "SQLite format 3";  // with its '\0', 16 bytes
  static_assert(sizeof(kMagic) == 16);
  if (file.gcount() != 16 || std::memcmp(header.data(), kMagic, 16) != 0) {
    fail(fmt::format("{}: not an SQLite file. {}", path, kLeaveIt));
  }
  return FileState::sqlite;
}

SchemaState check_existing(Connection& connection) {
  SchemaState state = read_schema_state(connection);
  check_owner(connection.path(), state);
  check_intact(connection);
  check_not_newer(connection.path(), state);
  return state;
}

FolderLock::FolderLock(const std::filesystem::path& folder) {
  fd_ = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return;  // Without the lock only a simultaneous creation can go wrong.
  for (int waited_ms = 0; ::flock(fd_, LOCK_EX | LOCK_NB) != 0; waited_ms += 10) {
    if (errno != EWOULDBLOCK) return;  // a file system without locks
    if (waited_ms >= sqlite::kBusyTimeoutMs) {
      fail(fmt::format(
          "{}: another process kept the folder locked for {} s while opening a database in it; "
          "try again when it has finished",
          folder.string(), sqlite::kBusyTimeoutMs / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace fusetune::cache
