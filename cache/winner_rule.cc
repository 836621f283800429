#include "cache/winner_rule.h"

#include <algorithm>

namespace fusetune::cache {

std::optional<std::size_t> choose_winner(const std::vector<TimedCandidate>& candidates) {
  if (candidates.empty()) return std::nullopt;
  std::size_t fastest = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    const TimedCandidate& c = candidates[i];
    const TimedCandidate& f = candidates[fastest];
    if (c.time_ms < f.time_ms || (c.time_ms == f.time_ms && c.name < f.name)) fastest = i;
  }
  const double noise_ms = candidates[fastest].time_ms *
                          (1 + std::max(candidates[fastest].spread.value_or(0), kNoiseFloor));
  std::size_t chosen = fastest;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].time_ms <= noise_ms && candidates[i].name < candidates[chosen].name)
      chosen = i;
  return chosen;
}

}  // namespace fusetune::cache
