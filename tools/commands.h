// The subcommands of the fusetune program. Each adds itself to the app; its callback stores
// the process's exit code. Failures are thrown as fusetune::Error and reported by main.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "fusetune/status.h"
#include "tuner/input_distribution.h"

namespace fusetune::cli {

enum ExitCode { kSuccess = 0, kFailure = 1, kUsage = 2, kNoDevice = 3 };

// A command line CLI11 accepted that asks for something the spec it names rules out (a precision
// of other inputs, a configuration that is no configuration): main prints it and exits kUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `read_options()`, whose fusetune::Error of invalid_argument (the generator refusing an option
// value the user typed) is thrown on as a UsageError; for the steps that read option values.
template <class ReadOptions>
decltype(auto) reading_options(ReadOptions&& read_options) {
  try {
    return read_options();
  } catch (const Error& e) {
    if (e.code() == StatusCode::invalid_argument) throw UsageError(e.what());
    throw;
  }
}

void add_tune_command(CLI::App& app, int& exit_code);
void add_gen_command(CLI::App& app, int& exit_code);
void add_cache_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_bench_shapes_command(CLI::App& app, int& exit_code);
void add_info_command(CLI::App& app, int& exit_code);

// Accept only the archs and precisions the generator knows (generator/device_limits.h,
// generator/precision.h).
CLI::Validator arch_names();
CLI::Validator precision_names();
CLI::Validator precision_names_or_auto();  // for commands that tune: the precisions and "auto"

// --db, shared by every command that reads or writes the tuning database.
void add_database_option(CLI::App& command, std::string& path);
// --inputs, for commands that time on drawn inputs: "uniform" (the tuner's) or "normal"
// (tuner/input_distribution.h).
void add_inputs_option(CLI::App& command, std::string& name);
// --inputs's value as the distribution it names (checked by the option).
InputDistribution input_distribution(const std::string& name);
// The option's value, or the default database path.
std::string database_path(const std::string& option);
// --system, for commands that read the read-only system database beneath --db (cache/layers.h).
void add_system_database_option(CLI::App& command, std::string& path);
// The option's value, else $FUSETUNE_SYSTEM_DB, else none.
std::optional<std::string> system_database_path(const std::string& option);

// What --version prints: the fusetune version, the generator's fingerprint (generator/version.h)
// and the NVRTC version, one a line.
std::string version_text();

// The exit code of a command that failed with `code`: kUsage for a spec that does not parse,
// kNoDevice without a GPU, else kFailure.
int exit_code_of(StatusCode code);

}  // namespace fusetune::cli
