// fusetune info: versions, the database paths, the tuner's worker and the GPU (or why there is
// none).
#include <fmt/format.h>

#include <memory>

#include "cache/database.h"
#include "cache/layers.h"
#include "fusetune/status.h"
#include "generator/version.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tools/commands.h"
#include "tuner/worker_lookup.h"

namespace fusetune::cli {
namespace {

struct InfoArgs {
  std::string database;
  std::string system;
  bool gpu_only = false;
};

int run(const InfoArgs& args) {
  const DeviceProbe probe = probe_device();
  if (args.gpu_only) {
    if (probe.device)
      fmt::print("{}\n", probe.device->description());
    else
      fmt::print(stderr, "{}\n", probe.problem);
    return probe.device ? kSuccess : kNoDevice;
  }
  fmt::print("fusetune {} (generator {})\nNVRTC {}\ndatabase {}\n", fusetune_version(),
             generator_version(), nvrtc_version(), database_path(args.database));
  const std::optional<std::string> system = system_database_path(args.system);
  fmt::print("system database {}\n", !system                            ? "none"
                                     : cache::Database::exists(*system) ? *system
                                                                        : *system + " (not there)");
  // Where tune will start its worker: an installation that lost it says so before a tune does.
  try {
    fmt::print("worker {}\n", find_worker());
  } catch (const Error& error) {
    fmt::print("worker none: {}\n", error.what());
  }
  if (probe.device)
    fmt::print("GPU {}, driver {}.{}\n", probe.device->description(),
               probe.device->driver_version / 1000, probe.device->driver_version % 1000 / 10);
  else
    fmt::print("GPU none: {}\n", probe.problem);
  return kSuccess;
}

}  // namespace

void add_info_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* command =
      app.add_subcommand("info", "Show versions, the database, the worker and the GPU");
  add_database_option(*command, args->database);
  add_system_database_option(*command, args->system);
  command->add_flag("--gpu", args->gpu_only,
                    "only check for a usable GPU: exit 0 if there is one, 3 if not");
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
