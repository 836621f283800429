// Runs the fusetune program built beside a test, as a user runs it from a shell.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace fusetune::testing {

struct ProgramRun {
  int exit_code;
  std::string output;  // standard output and standard error
};

inline std::filesystem::path fusetune_program() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "fusetune";
}

// `arguments` are shell-quoted by the caller; `environment` ("NAME=value ...", quoted likewise)
// is set for this run only.
inline ProgramRun run_fusetune(const std::string& arguments, const std::string& environment = "") {
  const std::string command = (environment.empty() ? "" : "env " + environment + " ") +
                              fusetune_program().string() + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> chunk;
  while (std::size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace fusetune::testing
