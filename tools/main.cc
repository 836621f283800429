// fusetune: tune fused CUDA kernels, inspect the tuning database, generate and benchmark.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cache/database.h"
#include "cache/layers.h"
#include "fusetune/status.h"
#include "generator/device_limits.h"
#include "generator/precision.h"
#include "generator/version.h"
#include "runtime/nvrtc.h"
#include "tools/commands.h"
#include "tools/option_checks.h"
#include "tools/terminal_text.h"

namespace fusetune::cli {

void add_database_option(CLI::App& command, std::string& path) {
  command.add_option("--db", path,
                     "tuning database (default: $FUSETUNE_DB, else "
                     "${XDG_CACHE_HOME:-~/.cache}/fusetune/tuning.db)");
}

void add_inputs_option(CLI::App& command, std::string& name) {
  command
      .add_option("--inputs", name,
                  "how the inputs are drawn: uniform in [-1, 1] (the tuner's), or normal, whose "
                  "rows' largest values lie several times above their typical ones (the weight "
                  "scaled by 1/sqrt(K) either way)")
      ->check(CLI::IsMember({"uniform", "normal"}))
      ->capture_default_str();
}

InputDistribution input_distribution(const std::string& name) {
  return input_distribution_from_string(name).value_or(InputDistribution::uniform);
}

CLI::Validator arch_names() {
  return CLI::IsMember(
      std::vector<std::string>(std::begin(kSupportedArchs), std::end(kSupportedArchs)));
}

CLI::Validator precision_names() {
  std::vector<std::string> names;
  for (Precision p : kPrecisions) names.emplace_back(to_string(p));
  return CLI::IsMember(names);
}

CLI::Validator precision_names_or_auto() {
  std::vector<std::string> names{"auto"};
  for (Precision p : kPrecisions) names.emplace_back(to_string(p));
  return CLI::IsMember(names);
}

std::string database_path(const std::string& option) {
  return option.empty() ? cache::Database::default_path() : option;
}

void add_system_database_option(CLI::App& command, std::string& path) {
  // A path typed on the command line that names nothing is a mistake, not "no system layer"
  // (the environment's default stays lenient: a file not there yet is no layer).
  command
      .add_option("--system", path,
                  "read-only system tuning database beneath --db, read second and never "
                  "written (default: $FUSETUNE_SYSTEM_DB, else none)")
      ->check(existing_path("--system", "to go without a system database, leave --system out"));
}

std::optional<std::string> system_database_path(const std::string& option) {
  return option.empty() ? cache::Layers::default_system_path() : option;
}

std::string version_text() {
  // The generator's fingerprint and NVRTC key every tuning: they say which results this build
  // reuses (cache prune removes the others).
  return fmt::format("fusetune {}\ngenerator {}\nNVRTC {}", fusetune_version(), generator_version(),
                     nvrtc_version());
}

int exit_code_of(StatusCode code) {
  switch (code) {
    case StatusCode::no_device:
      return kNoDevice;
    case StatusCode::invalid_spec:  // the spec is what the user typed (or listed in --specs)
      return kUsage;
    default:
      return kFailure;
  }
}

}  // namespace fusetune::cli

int main(int argc, char** argv) {
  using namespace fusetune::cli;
  CLI::App app("fusetune: fused CUDA kernels, generated, tuned per shape and GPU, and cached");
  app.set_version_flag("--version", [] { return version_text(); });
  app.require_subcommand(1);
  int exit_code = kSuccess;
  add_tune_command(app, exit_code);
  add_gen_command(app, exit_code);
  add_cache_command(app, exit_code);
  add_bench_command(app, exit_code);
  add_bench_shapes_command(app, exit_code);
  add_info_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; every other parse error is a usage error.
    if (app.exit(e) == 0) return kSuccess;
    if (const std::string hint = dashed_spec_hint(argc, argv); !hint.empty())
      fmt::print(stderr, "{}\n", printable(hint));
    return kUsage;
  } catch (const UsageError& e) {
    fmt::print(stderr, "fusetune: {}\n", printable(e.what(), true));
    return kUsage;
  } catch (const fusetune::Error& e) {
    fmt::print(stderr, "fusetune: {}\n", printable(e.what(), true));
    return exit_code_of(e.code());
  } catch (const std::exception& e) {
    fmt::print(stderr, "fusetune: unexpected error: {}\n", printable(e.what(), true));
    return kFailure;
  }
  return exit_code;
}
