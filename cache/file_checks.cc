#include "cache/file_checks.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
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

// What a file that is not a regular one is, for messages.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

void refuse_irregular(const std::string& path, mode_t mode) {
  if (S_ISREG(mode)) return;
  if (S_ISDIR(mode)) fail(fmt::format("{}: a folder, not a file; pass the path of a file", path));
  fail(fmt::format(
      "{}: {}, not a regular file. fusetune reads and writes its tuning data only in regular "
      "files; pass the path of one",
      path, kind_of(mode)));
}

// Closes its descriptor when it goes.
struct FileDescriptor {
  explicit FileDescriptor(int fd) : fd(fd) {}
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int fd;
};

}  // namespace

FileState inspect_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return FileState::missing;
    if (errno == ELOOP) {
      fail(fmt::format(
          "{}: a loop of symbolic links (or a chain too long to follow); fix the link, or pass "
          "another path",
          path));
    }
    fail(fmt::format("{}: cannot look at the file: {}", path, std::strerror(errno)));
  }
  refuse_irregular(path, info.st_mode);
  // Non-blocking, so that a FIFO put there since stat() cannot hang us either.
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (file.fd < 0) fail(fmt::format("{}: cannot read the file: {}", path, std::strerror(errno)));
  if (::fstat(file.fd, &info) != 0) fail(fmt::format("{}: cannot look at the file", path));
  refuse_irregular(path, info.st_mode);
  std::array<char, 16> header{};
  std::size_t got = 0;
  while (got < header.size()) {
    const ssize_t n = ::read(file.fd, header.data() + got, header.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(fmt::format("{}: cannot read the file: {}", path, std::strerror(errno)));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == 0) return FileState::empty;
  static constexpr char kMagic[] = "SQLite format 3";  // with its '\0', 16 bytes
  static_assert(sizeof(kMagic) == 16);
  const bool sqlite = got == 16 && std::memcmp(header.data(), kMagic, 16) == 0;
  return sqlite ? FileState::sqlite : FileState::other;
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
