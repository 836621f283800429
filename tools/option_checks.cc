#include "tools/option_checks.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string_view>

#include "generator/precision_policy.h"

namespace fusetune::cli {
namespace {

// The whole of `text` as a number of type T; nullopt for anything else ("5s", "", "1e3" as an
// integer).
template <class T>
std::optional<T> number_from(const std::string& text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// `argument` quoted for a POSIX shell where it needs to be.
std::string shell_word(std::string_view argument) {
  const bool plain = !argument.empty() && argument.find_first_not_of(
                                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=,:+@%") == std::string_view::npos;
  if (plain) return std::string(argument);
  std::string quoted = "'";
  for (char c : argument) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// No option name holds '(' or '>', and every spec has one of them.
bool looks_like_dashed_spec(std::string_view argument) {
  return argument.starts_with('-') && argument.find_first_of("(>") != std::string_view::npos;
}

}  // namespace

CLI::Validator existing_path(const std::string& option, const std::string& remedy) {
  return CLI::Validator(
      [option, remedy](std::string& path) -> std::string {
        std::error_code error;
        if (std::filesystem::exists(path, error)) return "";
        return fmt::format("{} names no file: {} ({})", option, path, remedy);
      },
      "PATH");
}

CLI::Validator whole_number(const std::string& option, long long minimum, const std::string& what) {
  return CLI::Validator(
      [option, minimum, what](std::string& text) -> std::string {
        const std::optional<long long> value = number_from<long long>(text);
        if (value && *value >= minimum) return "";
        return fmt::format("{} takes {}, a whole number from {}; got '{}'", option, what, minimum,
                           text);
      },
      "N");
}

CLI::Validator candidate_count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::optional<long long> value = number_from<long long>(text);
        if (value && *value >= 0) return "";
        return fmt::format(
            "--max-candidates takes a number of candidates, 1 or more (0, or leaving it out, "
            "tries all); got '{}'",
            text);
      },
      "N");
}

CLI::Validator tolerance_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::optional<double> value = number_from<double>(text);
        if (!value)
          return fmt::format(
              "tolerance '{}' is not a number; give the largest relative error against fp64 a "
              "kernel may have, e.g. 1e-5",
              text);
        return tolerance_problem(*value).value_or("");
      },
      "ERROR");
}

CLI::Validator positive_seconds(const std::string& option) {
  return CLI::Validator(
      [option](std::string& text) -> std::string {
        const std::optional<double> seconds = number_from<double>(text);
        if (seconds && std::isfinite(*seconds) && *seconds > 0) return "";
        return fmt::format("{} takes a positive number of seconds; got '{}'", option, text);
      },
      "SECONDS");
}

std::string dashed_spec_hint(int argc, const char* const* argv) {
  std::string spec;
  std::string others;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--") return "";  // the spec, if any, was already passed after --
    if (spec.empty() && looks_like_dashed_spec(argument))
      spec = shell_word(argument);
    else
      others += " " + shell_word(argument);
  }
  if (spec.empty()) return "";
  return fmt::format(
      "{} starts with '-', so it was read as an option; if it is the spec, put -- before it: "
      "fusetune{} -- {}",
      spec, others, spec);
}

}  // namespace fusetune::cli
