#include "runtime/load_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace fusetune {

LogSetting log_setting(std::string_view value) {
  std::string word(value);
  std::ranges::transform(word, word.begin(), [](unsigned char c) { return std::tolower(c); });
  if (word == "info") return {LogLevel::info, ""};
  if (word == "debug") return {LogLevel::debug, ""};
  if (word.empty() || word == "0" || word == "off" || word == "quiet" || word == "warning")
    return {LogLevel::quiet, ""};
  return {LogLevel::quiet,
          fmt::format("FUSETUNE_LOG={} names no level: use info (each load's choice) or debug "
                      "(with its cubin and resources); only warnings are shown",
                      value)};
}

LogSetting log_setting_from_environment() {
  const char* value = std::getenv("FUSETUNE_LOG");
  return value ? log_setting(value) : LogSetting{};
}

namespace {

std::string choice(const LoadReport& load) {
  switch (load.served_as) {
    case ServedAs::tuned:
      if (!load.bucket.empty())
        return fmt::format("tuned for the bucket '{}', {}, from {}", load.bucket, load.precision,
                           load.database);
      return fmt::format("tuned, {}, from {}", load.precision, load.database);
    case ServedAs::borrowed:
      return fmt::format("borrowed from the nearest tuned shape '{}', {}, from {}", load.neighbour,
                         load.precision, load.database);
    case ServedAs::untuned_default:
      break;
  }
  return fmt::format("default, untuned, {}", load.precision);
}

std::string cubin(const LoadReport& load) {
  if (load.module_reused) return "the bucket's kernel, already loaded for another row count";
  if (!load.compile_ms) return "cubin from the database";
  return fmt::format("compiled by NVRTC in {:.1f} ms, stored in {}", *load.compile_ms,
                     load.stored_in);
}

}  // namespace

std::string load_report_text(const LoadReport& load, LogLevel level) {
  if (level == LogLevel::quiet) return "";
  std::string text = fmt::format("fusetune: loaded '{}' -> {} ({}) in {:.1f} ms\n", load.spec,
                                 load.kernel, choice(load), load.load_ms);
  if (level != LogLevel::debug) return text;
  text +=
      fmt::format("fusetune:   {}; {} registers, {} bytes spilled, {} bytes of shared memory; {}\n",
                  cubin(load), load.registers, load.spill_bytes, load.shared_bytes, load.launch);
  text += fmt::format("fusetune:   on {}; precision asked: {}", load.device,
                      load.requested.empty() ? "the spec's native one" : load.requested);
  if (load.tuned_ms) text += fmt::format("; tuned at {:.4g} ms", *load.tuned_ms);
  if (load.tuned_rel_err) text += fmt::format(", rel err {:.2g}", *load.tuned_rel_err);
  return text + "\n";
}

}  // namespace fusetune
