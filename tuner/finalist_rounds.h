// The rounds in which finalists are timed again: each round's time is the median of many
// launches; a finalist's rounds give its time (their median) and its noise (the range of their
// middle half, once there are four: one slow round, a clock dip of a GPU at its power limit,
// then widens it little).
// Rounds go on, for the finalists whose range still overlaps the leader's, until the leader
// stands apart or the budget of rounds ends; within noise, cache/winner_rule.h decides.
#pragma once

#include <cstddef>
#include <vector>

namespace fusetune {

struct RoundSummary {
  double median_ms = 0;
  double low_ms = 0;   // the first quartile of the rounds; with fewer than four, the fastest
  double high_ms = 0;  // the third quartile; with fewer than four, the slowest
  double spread = 0;   // (high - low) / median
};

// Precondition: `rounds` is not empty.
RoundSummary summarize_rounds(std::vector<double> rounds);

// The finalists to time again: the leader (the lowest median) and every finalist whose range
// overlaps its range; empty when none overlaps (or fewer than two have times). Finalists
// without times (failed) take no part.
std::vector<std::size_t> contenders(const std::vector<std::vector<double>>& times);

}  // namespace fusetune
