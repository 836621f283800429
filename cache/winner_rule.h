// Which verified candidate wins, so that tuning twice on one machine picks the same kernel:
// the winner the tuning replaces (its incumbent) while it stays within twice the noise of the
// fastest; else the fastest, unless others are within its noise; then, of those, the first by
// name. Timings within noise do not order candidates: the incumbent, then a fixed order of
// names, does.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fusetune::cache {

struct TimedCandidate {
  std::string name;
  double time_ms = 0;
  // How far time_ms may be off, relative to it (tuner/finalist_rounds.h: the range of its
  // timing rounds, or from four rounds on their middle half's range over the square root of
  // their count); empty or 0 when it was timed once.
  std::optional<double> noise;
};

// Differences below this fraction of a time are noise even when the rounds agree more closely:
// rounds interleaved within one sweep share its machine state, so their noise misses what
// changes between sweeps (on the H100, fp32 seed finalists 0.5% apart swapped places from one
// sweep to the next while each sweep's rounds spread less than that).
inline constexpr double kNoiseFloor = 0.01;

// An incumbent keeps its place within this many times the noise: a band wider to stay in than
// to enter, as a thermostat's, so that a winner chosen near the edge of the fastest's noise is
// not dropped when the next sweep's fastest runs a little faster (on the H100 a second-by-name
// fp32 finalist sat 0.93% from the fastest in one sweep and 1.05% in the next).
inline constexpr double kIncumbentBand = 2.0;

// Why a candidate won.
enum class WinnerReason {
  fastest,         // no other candidate within its noise sorts before it by name
  first_by_name,   // within the fastest's noise, the first by name
  kept_incumbent,  // the winner the tuning replaced, within twice the noise of the fastest
};

struct WinnerChoice {
  std::size_t index = 0;
  WinnerReason reason = WinnerReason::fastest;
};

// A sentence for `reason`, for explanations ("the fastest", ...).
const char* describe(WinnerReason reason);

// The index of the winner among `candidates` (every one verified and timed); empty when there
// are none. A candidate is within the fastest's noise when its time is at most the fastest's
// time times (1 + the larger of the fastest's noise and kNoiseFloor). `incumbent` names the
// winner of the tuning being replaced (tune --force, a re-verification), or is empty: it wins
// while among `candidates` with a time at most the fastest's times (1 + kIncumbentBand x the
// larger of both noises and kNoiseFloor).
std::optional<std::size_t> choose_winner(const std::vector<TimedCandidate>& candidates,
                                         std::string_view incumbent = {});
// As choose_winner, with the reason.
std::optional<WinnerChoice> choose_winner_with_reason(const std::vector<TimedCandidate>& candidates,
                                                      std::string_view incumbent = {});

}  // namespace fusetune::cache
