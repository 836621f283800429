#include "cache/winner_rule.h"

#include <algorithm>

namespace fusetune::cache {
namespace {

std::optional<std::size_t> find_named(const std::vector<TimedCandidate>& candidates,
                                      std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].name == name) return i;
  return std::nullopt;
}

}  // namespace

const char* describe(WinnerReason reason) {
  switch (reason) {
    case WinnerReason::fastest:
      return "the fastest";
    case WinnerReason::first_by_name:
      return "within the fastest's noise, the first by name";
    case WinnerReason::kept_incumbent:
      return "the previous winner, kept within twice the noise of the fastest";
  }
  return "";
}

std::optional<std::size_t> choose_winner(const std::vector<TimedCandidate>& candidates,
                                         std::string_view incumbent) {
  const std::optional<WinnerChoice> choice = choose_winner_with_reason(candidates, incumbent);
  if (!choice) return std::nullopt;
  return choice->index;
}

std::optional<WinnerChoice> choose_winner_with_reason(const std::vector<TimedCandidate>& candidates,
                                                      std::string_view incumbent) {
  if (candidates.empty()) return std::nullopt;
  std::size_t fastest = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    const TimedCandidate& c = candidates[i];
    const TimedCandidate& f = candidates[fastest];
    if (c.time_ms < f.time_ms || (c.time_ms == f.time_ms && c.name < f.name)) fastest = i;
  }
  const TimedCandidate& f = candidates[fastest];
  if (const std::optional<std::size_t> kept = find_named(candidates, incumbent)) {
    const TimedCandidate& k = candidates[*kept];
    const double noise = std::max({kNoiseFloor, f.noise.value_or(0), k.noise.value_or(0)});
    if (k.time_ms <= f.time_ms * (1 + kIncumbentBand * noise))
      return WinnerChoice{*kept,
                          *kept == fastest ? WinnerReason::fastest : WinnerReason::kept_incumbent};
  }
  const double noise_ms = f.time_ms * (1 + std::max(f.noise.value_or(0), kNoiseFloor));
  std::size_t chosen = fastest;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].time_ms <= noise_ms && candidates[i].name < candidates[chosen].name)
      chosen = i;
  return WinnerChoice{chosen,
                      chosen == fastest ? WinnerReason::fastest : WinnerReason::first_by_name};
}

}  // namespace fusetune::cache
