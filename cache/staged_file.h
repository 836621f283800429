// Files fusetune writes for the user (exports): written whole beside their destination and renamed
// into place, and only ever into a regular file or a new path, so that a --force never turns a
// device, a FIFO or a symbolic link (and what it points to) into an export. Internal to cache/.
#pragma once

#include <string>

namespace fusetune::cache {

// Refuses, with fusetune::Error (invalid_argument) saying what is there, a destination that is
// anything but a regular file or nothing; and an existing file unless `replace`.
void check_output_path(const std::string& path, bool replace);

// A file written beside its destination and renamed over it once complete, so that readers of
// the destination never see half of it; removed (with SQLite's side files) when not kept.
class StagedFile {
 public:
  explicit StagedFile(const std::string& destination);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  const std::string& path() const { return path_; }
  // Renames the staged file over the destination, checked again (check_output_path) first.
  void keep(bool replace);

 private:
  void remove_all() const;

  std::string destination_;
  std::string path_;
  bool kept_ = false;
};

// Writes `text` to a new file at `path`, which must not exist (not even as a link): O_EXCL.
void write_new_file(const std::string& path, const std::string& text);

}  // namespace fusetune::cache
