#include "cache/staged_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fusetune/status.h"

namespace fusetune::cache {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& message) {
  throw Error(StatusCode::invalid_argument, message);
}

// What is at a path that is no regular file, for messages.
const char* kind_of(fs::file_type type) {
  switch (type) {
    case fs::file_type::symlink:
      return "a symbolic link";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::socket:
      return "a socket";
    default:
      return "something";
  }
}

}  // namespace

void check_output_path(const std::string& path, bool replace) {
  std::error_code error;
  const fs::file_type type = fs::symlink_status(path, error).type();  // the link, not its target
  if (type == fs::file_type::not_found) return;
  if (type == fs::file_type::directory)
    refuse(fmt::format("{}: a folder; name a file to export to", path));
  if (type != fs::file_type::regular) {
    refuse(fmt::format(
        "{}: {}, not a regular file; fusetune writes exports only to regular files or new paths, "
        "and replaces nothing else even with --force. Choose another name",
        path, kind_of(type)));
  }
  if (!replace) {
    refuse(
        fmt::format("{}: the file exists already; pass --force to replace it, or choose another "
                    "name",
                    path));
  }
}

StagedFile::StagedFile(const std::string& destination)
    : destination_(destination),
      path_(fmt::format("{}.partial-{}", destination, static_cast<long>(getpid()))) {
  remove_all();
}

StagedFile::~StagedFile() {
  if (!kept_) remove_all();
}

void StagedFile::keep(bool replace) {
  check_output_path(destination_, replace);  // it may have changed while the file was written
  std::error_code error;
  fs::rename(path_, destination_, error);  // rename replaces a link itself, never its target
  if (error) refuse(fmt::format("{}: cannot write the file: {}", destination_, error.message()));
  kept_ = true;
}

void StagedFile::remove_all() const {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ignored);
}

void write_new_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) refuse(fmt::format("{}: cannot write the file: {}", path, std::strerror(errno)));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int problem = errno;
      ::close(fd);
      refuse(fmt::format("{}: cannot write the file: {}", path, std::strerror(problem)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0)
    refuse(fmt::format("{}: cannot write the file: {}", path, std::strerror(errno)));
}

}  // namespace fusetune::cache
