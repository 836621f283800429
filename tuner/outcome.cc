#include "tuner/outcome.h"

#include <array>
#include <utility>

namespace fusetune {
namespace {

constexpr std::array<std::pair<Outcome, std::string_view>, 7> kNames = {{
    {Outcome::ok, "ok"},
    {Outcome::slower, "slower"},
    {Outcome::compile_error, "compile_error"},
    {Outcome::out_of_resources, "out_of_resources"},
    {Outcome::wrong_result, "wrong_result"},
    {Outcome::fault, "fault"},
    {Outcome::timeout, "timeout"},
}};

}  // namespace

std::string_view to_string(Outcome outcome) {
  for (const auto& [value, name] : kNames)
    if (value == outcome) return name;
  return "unknown";
}

std::optional<Outcome> outcome_from_string(std::string_view text) {
  for (const auto& [value, name] : kNames)
    if (name == text) return value;
  return std::nullopt;
}

}  // namespace fusetune
