#include "runtime/nvrtc.h"

#include <fmt/format.h>
#include <nvrtc.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include "fusetune/status.h"
#include "runtime/cubin_info.h"

namespace fusetune {
namespace {

std::atomic<std::uint64_t> compile_count{0};

struct ProgramDeleter {
  void operator()(nvrtcProgram program) const { nvrtcDestroyProgram(&program); }
};
using Program = std::unique_ptr<_nvrtcProgram, ProgramDeleter>;

void check(nvrtcResult result, const char* what) {
  if (result != NVRTC_SUCCESS)
    throw Error(StatusCode::compile_error,
                fmt::format("NVRTC {} failed: {}", what, nvrtcGetErrorString(result)));
}

std::string program_log(nvrtcProgram program) {
  std::size_t size = 0;
  if (nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  nvrtcGetProgramLog(program, log.data());
  log.resize(size - 1);
  return log;
}

// Follows each "name(LINE): error" line of the log with the source line it points at.
std::string with_source_context(const std::string& log, const std::string& source) {
  std::vector<std::string> lines;
  std::istringstream in(source);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  static const std::regex location(R"(^[^\s(]+\((\d+)\): (error|warning))");
  std::string out;
  std::istringstream log_in(log);
  for (std::string line; std::getline(log_in, line);) {
    out += line + '\n';
    std::smatch match;
    if (std::regex_search(line, match, location)) {
      const std::size_t number = std::stoul(match[1].str());
      if (number >= 1 && number <= lines.size())
        out += fmt::format("    {:>5} | {}\n", number, lines[number - 1]);
    }
  }
  return out;
}

// Says on standard error, once per folder, that $FUSETUNE_DUMP cannot be written. The dump is a
// debugging aid, so compiling goes on; but whoever asked for it must not be left to find an
// empty folder without a word.
void warn_dump_failed(const std::string& folder, const std::string& problem) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  const std::lock_guard lock(mutex);
  if (!warned.insert(folder).second) return;
  fmt::print(stderr,
             "fusetune: warning: FUSETUNE_DUMP={}: cannot write {}; compiled sources are not "
             "dumped\n",
             folder, problem);
}

// Writes the source and log of one compile into $FUSETUNE_DUMP, when it is set.
void dump(const std::string& entry, const std::string& arch, const std::string& source,
          const std::string& log) {
  const char* folder = std::getenv("FUSETUNE_DUMP");
  if (!folder || !*folder) return;
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return warn_dump_failed(folder, fmt::format("{}: {}", folder, error.message()));
  const std::string stem = (std::filesystem::path(folder) / (entry + "." + arch)).string();
  for (const auto& [path, text] : {std::pair{stem + ".cu", &source}, {stem + ".log", &log}}) {
    std::ofstream file(path);
    file << *text;
    file.close();
    if (!file) return warn_dump_failed(folder, fmt::format("{}: {}", path, std::strerror(errno)));
  }
}

int log_number(const std::string& log, const std::regex& pattern) {
  std::smatch match;
  return std::regex_search(log, match, pattern) ? std::stoi(match[1].str()) : 0;
}

}  // namespace

CompiledBinary compile_to_cubin(const std::string& source, const std::string& entry,
                                const std::string& arch) {
  const auto start = std::chrono::steady_clock::now();
  ++compile_count;
  nvrtcProgram raw = nullptr;
  const std::string file_name = entry + ".cu";
  check(nvrtcCreateProgram(&raw, source.c_str(), file_name.c_str(), 0, nullptr, nullptr),
        "program creation");
  const Program program(raw);
  const std::string arch_option = "--gpu-architecture=" + arch;
  // IEEE fp32 throughout (no fast-math): results are checked against fp64 at 1e-5.
  const char* options[] = {arch_option.c_str(), "-std=c++17", "--ptxas-options=-v"};
  const nvrtcResult result = nvrtcCompileProgram(raw, std::size(options), options);

  CompiledBinary binary;
  binary.arch = arch;
  binary.log = program_log(raw);
  dump(entry, arch, source, binary.log);
  if (result != NVRTC_SUCCESS)
    throw Error(StatusCode::compile_error,
                fmt::format("NVRTC could not compile {} for {} ({}):\n{}", entry, arch,
                            nvrtcGetErrorString(result), with_source_context(binary.log, source)));
  std::size_t size = 0;
  check(nvrtcGetCUBINSize(raw, &size), "cubin size query");
  binary.cubin.resize(size);
  check(nvrtcGetCUBIN(raw, binary.cubin.data()), "cubin retrieval");

  static const std::regex registers(R"(Used (\d+) registers)");
  static const std::regex spills(R"((\d+) bytes spill stores)");
  static const std::regex smem(R"((\d+) bytes smem)");
  // From the cubin where it records them: the log lacks ptxas' lines on some machines.
  const std::optional<int> cubin_registers = cubin_register_count(binary.cubin, entry);
  binary.registers = cubin_registers ? *cubin_registers : log_number(binary.log, registers);
  binary.spill_bytes = log_number(binary.log, spills);
  binary.static_smem_bytes = log_number(binary.log, smem);
  binary.compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return binary;
}

std::uint64_t nvrtc_compile_count() { return compile_count.load(); }

const std::string& nvrtc_version() {
  static const std::string version = [] {
    int major = 0, minor = 0;
    nvrtcVersion(&major, &minor);
    return fmt::format("{}.{}", major, minor);
  }();
  return version;
}

}  // namespace fusetune
