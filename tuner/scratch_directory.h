// A private temporary folder (cubins for the worker, its log), removed with its contents.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "fusetune/status.h"

namespace fusetune {

class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fusetune-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw Error(StatusCode::internal, "cannot create a temporary folder in " +
                                            std::filesystem::temp_directory_path().string());
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace fusetune
