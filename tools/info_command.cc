// fusetune info: versions, the database paths, the tuner's worker and the GPU (or why there is
// none).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cache/database.h"
#include "cache/layers.h"
#include "fusetune/status.h"
#include "generator/version.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tuner/worker_lookup.h"

namespace fusetune::cli {
namespace {

struct InfoArgs {
  std::string database;
  std::string system;
  bool gpu_only = false;
  bool json = false;
};

nlohmann::json device_json(const DeviceInfo& device) {
  return {{"name", device.name},
          {"arch", device.arch()},
          {"sm_count", device.sm_count},
          {"memory_bytes", device.memory_bytes},
          {"driver_version", device.driver_version}};
}

int run(const InfoArgs& args) {
  const DeviceProbe probe = probe_device();
  if (args.gpu_only) {
    if (probe.device)
      fmt::print("{}\n", probe.device->description());
    else
      fmt::print(stderr, "{}\n", probe.problem);
    return probe.device ? kSuccess : kNoDevice;
  }
  const std::string database = database_path(args.database);
  const std::optional<std::string> system = system_database_path(args.system);
  const bool system_there = system && cache::Database::exists(*system);
  // Where tune will start its worker: an installation that lost it says so before a tune does.
  std::string worker;
  try {
    worker = find_worker();
  } catch (const Error& error) {
    worker = fmt::format("none: {}", error.what());
  }
  if (args.json) {
    print_json({{"fusetune_version", fusetune_version()},
                {"generator_version", generator_version()},
                {"nvrtc_version", nvrtc_version()},
                {"database", database},
                {"database_exists", cache::Database::exists(database)},
                {"system_database", system ? nlohmann::json(*system) : nlohmann::json()},
                {"system_database_exists", system_there},
                {"worker", worker},
                {"gpu", probe.device ? device_json(*probe.device) : nlohmann::json()},
                {"gpu_problem", probe.device ? nlohmann::json() : nlohmann::json(probe.problem)}});
    return kSuccess;
  }
  fmt::print("fusetune {} (generator {})\nNVRTC {}\ndatabase {}\n", fusetune_version(),
             generator_version(), nvrtc_version(), database);
  fmt::print("system database {}\n", !system        ? "none"
                                     : system_there ? *system
                                                    : *system + " (not there)");
  fmt::print("worker {}\n", worker);
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
  CLI::Option* gpu = command->add_flag(
      "--gpu", args->gpu_only, "only check for a usable GPU: exit 0 if there is one, 3 if not");
  command
      ->add_flag("--json", args->json,
                 "print JSON: the versions, the databases, and the GPU (null, with gpu_problem "
                 "saying why, where there is none)")
      ->excludes(gpu);
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
