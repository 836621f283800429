// What $FUSETUNE_LOG reports of each load on standard error, so that a running program says which
// kernel it chose and why. info: the spec, the kernel, whether it is tuned, borrowed from the
// nearest tuned shape or the untuned default, from which database, at which precision, and how
// long the load took; debug adds where the cubin came from (the database, or NVRTC and its time),
// the kernel's resources and launch shape, and what was asked for. Quiet by default: warnings
// alone, as ever. A load answered from the kernels a Library already holds is not reported.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fusetune {

enum class LogLevel { quiet, info, debug };

struct LogSetting {
  LogLevel level = LogLevel::quiet;
  std::string problem;  // for a value that names no level: what to write instead; else ""
};

// The level $FUSETUNE_LOG's `value` names: "info" or "debug" (any case); quiet for "", "0",
// "off", "quiet" and "warning", and for anything else with a problem to report.
LogSetting log_setting(std::string_view value);
// log_setting of $FUSETUNE_LOG, quiet when unset.
LogSetting log_setting_from_environment();

// How a load chose its configuration.
enum class ServedAs { tuned, borrowed, untuned_default };

struct LoadReport {
  std::string spec{};    // canonical
  std::string kernel{};  // the configuration's procedural name
  ServedAs served_as = ServedAs::untuned_default;
  std::string bucket{};     // tuned for a bucket of row counts: its canonical spec; else ""
  std::string database{};   // tuned or borrowed: the database holding that tuning; else ""
  std::string neighbour{};  // borrowed: the tuned spec whose winner it is; else ""
  std::string precision{};  // the kernel's: "tf32"
  std::string requested{};  // the precision asked for, "auto (tolerance 1e-05)" or "" (native)
  std::optional<double> tuned_ms{};       // tuned: the winner's measured time
  std::optional<double> tuned_rel_err{};  // tuned: its measured error against fp64
  std::optional<double> compile_ms{};  // compiled by this load: NVRTC's time; else a stored cubin
  std::string stored_in{};             // compiled: the database its cubin was stored in
  bool module_reused = false;          // a bucket's kernel another row count already loaded
  int registers = -1;                  // per thread
  int spill_bytes = 0;
  int shared_bytes = 0;  // static and dynamic, per block
  std::string launch{};  // "grid 64x8x1, block 256x1x1", then ", a plan of 3 kernels"
  std::string device{};  // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
  double load_ms = 0;
};

// The report of `load` at `level`, one line per fact group, each starting "fusetune: "; "" when
// quiet.
std::string load_report_text(const LoadReport& load, LogLevel level);

}  // namespace fusetune
