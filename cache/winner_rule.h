// Which verified candidate wins, so that tuning twice on one machine picks the same kernel:
// the fastest, unless others are within its measured noise; then, of those, the first by name.
// Timings within noise do not order candidates, a fixed order of names does.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fusetune::cache {

struct TimedCandidate {
  std::string name;
  double time_ms = 0;
  // The spread of its timing rounds relative to their median ((slowest - fastest) / median);
  // empty or 0 when it was timed once.
  std::optional<double> spread;
};

// The index of the winner among `candidates` (every one verified and timed); empty when there
// are none. A candidate is within the fastest's noise when its time is at most the fastest's
// time times (1 + the fastest's spread).
std::optional<std::size_t> choose_winner(const std::vector<TimedCandidate>& candidates);

}  // namespace fusetune::cache
