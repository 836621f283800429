// fusetune cache prune: removes what this build can no longer use from the tuning database.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "cache/database.h"
#include "cache/prune.h"
#include "fusetune/status.h"
#include "generator/version.h"
#include "runtime/nvrtc.h"
#include "tools/cache_commands.h"
#include "tools/commands.h"
#include "tools/terminal_text.h"

namespace fusetune::cli {
namespace {

struct PruneArgs {
  std::string database;
  bool dry_run = false;
};

void print_plan(const cache::PrunePlan& plan, const std::string& path, bool dry_run) {
  const char* verb = dry_run ? "would remove" : "removed";
  fmt::print("{}: {} {} tunings and {} binaries ({:.1f} KiB of cubins)\n", path, verb,
             plan.tunings.size(), plan.binaries.size(), plan.binary_bytes() / 1024.0);
  for (const cache::PrunedTuning& p : plan.tunings) {
    fmt::print("  tuning  {} [{}] on {} ({}): {}\n", printable(p.tuning.spec),
               printable(p.tuning.key.precision), printable(p.tuning.key.device_name),
               printable(p.tuning.key.arch), printable(p.reason));
  }
  for (const cache::PrunedBinary& p : plan.binaries)
    fmt::print("  binary  {}: {}\n", printable(p.binary.key), printable(p.reason));
}

int prune_command(const PruneArgs& args) {
  const std::string path = database_path(args.database);
  if (!cache::Database::exists(path)) {
    fmt::print("{}: no tuning database yet; nothing to prune\n", path);
    return kSuccess;
  }
  const cache::BuildVersions build{.generator_version = generator_version(),
                                   .nvrtc_version = nvrtc_version()};
  if (args.dry_run) {
    const auto db = cache::Database::open(path, cache::OpenMode::read_only);
    print_plan(cache::plan_prune(*db, build), path, true);
    return kSuccess;
  }
  // Refused before SQLite is asked, which would open such a file read-only without a word. (Other
  // reasons, a loop of links say, are Database::open's to tell.)
  if (access(path.c_str(), W_OK) != 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
    throw Error(StatusCode::database_error,
                fmt::format("{}: this user may not write the database, so nothing was pruned; "
                            "`fusetune cache prune --dry-run` lists what would go",
                            path));
  }
  const auto db = cache::Database::open(path, cache::OpenMode::read_write);
  print_plan(cache::prune(*db, build), path, false);
  return kSuccess;
}

}  // namespace

void add_cache_prune_command(CLI::App& cache, int& exit_code) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* prune = cache.add_subcommand(
      "prune",
      "Remove tunings of another generator or NVRTC version, and binaries nothing uses any more");
  add_database_option(*prune, args->database);
  prune->add_flag("--dry-run", args->dry_run, "only list what would be removed");
  prune->callback([args, &exit_code] { exit_code = prune_command(*args); });
}

}  // namespace fusetune::cli
