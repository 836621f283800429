#include "tuner/worker_lookup.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>

#include "fusetune/status.h"

namespace fusetune {
namespace {

constexpr const char* kWorkerName = "fusetune-worker";

std::filesystem::path running_program() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path() : self;
}

// The executable or shared library this function was linked into.
std::filesystem::path this_code_object() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&this_code_object), &info) == 0 || !info.dli_fname ||
      !*info.dli_fname)
    return {};
  std::error_code error;
  const std::filesystem::path path = std::filesystem::absolute(info.dli_fname, error);
  return error ? std::filesystem::path() : path;
}

}  // namespace

InstalledWorker installed_worker() {
  return {FUSETUNE_WORKER_FROM_PROGRAMS, FUSETUNE_WORKER_FROM_LIBRARIES};
}

std::vector<std::filesystem::path> worker_places(const std::filesystem::path& program,
                                                 const std::filesystem::path& code_object,
                                                 const InstalledWorker& installed) {
  std::vector<std::filesystem::path> places;
  auto add = [&](const std::filesystem::path& folder) {
    const std::filesystem::path place = (folder / kWorkerName).lexically_normal();
    if (std::ranges::find(places, place) == places.end()) places.push_back(place);
  };
  if (!program.empty()) {
    add(program.parent_path());
    add(program.parent_path() / installed.from_programs);
  }
  if (!code_object.empty()) {
    add(code_object.parent_path());
    add(code_object.parent_path() / ".." / "bin");
    add(code_object.parent_path() / installed.from_libraries);
  }
  return places;
}

std::string find_worker() {
  if (const char* path = std::getenv("FUSETUNE_WORKER"); path && *path) return path;
  const std::vector<std::filesystem::path> places =
      worker_places(running_program(), this_code_object(), installed_worker());
  for (const std::filesystem::path& place : places) {
    std::error_code error;
    if (std::filesystem::exists(place, error)) return place.string();
  }
  std::vector<std::string> looked;
  for (const std::filesystem::path& place : places) looked.push_back(place.string());
  throw Error(StatusCode::internal,
              fmt::format("cannot find {} (looked for {}); set FUSETUNE_WORKER to its path",
                          kWorkerName, fmt::join(looked, ", ")));
}

}  // namespace fusetune
