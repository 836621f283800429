// Running the fusetune program built beside a test, as a user runs it, in a folder of its own.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace fusetune::testing {

struct ProgramRun {
  int exit_code;       // 124 when it ran past its time limit
  std::string output;  // standard output and standard error
};

inline std::filesystem::path program() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "fusetune";
}

// Runs fusetune with `arguments` (shell-quoted by the caller), killed after `limit_s` seconds so
// that a command that hangs fails the test instead of stopping it.
inline ProgramRun fusetune(const std::string& arguments, int limit_s = 120) {
  const std::string command =
      "timeout " + std::to_string(limit_s) + " " + program().string() + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> chunk;
  while (std::size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A test with a folder of its own, removed afterwards, and `db_`, the --db option of a database
// in it.
class ProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::path(::testing::TempDir()) /
              ("program_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(folder_);
    db_ = "--db " + path("tuning.db");
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  std::string path(const std::string& name) const { return (folder_ / name).string(); }
  // Writes `text` to the file `name` in the test's folder; returns its path.
  std::string write_file(const std::string& name, const std::string& text) {
    std::ofstream(folder_ / name, std::ios::binary) << text;
    return path(name);
  }

  std::filesystem::path folder_;
  std::string db_;
};

}  // namespace fusetune::testing
