// The rounds in which finalists are timed again: each round's time is the median of many
// launches; a finalist's rounds give its time (their median), their spread, and the noise of
// that time. From four rounds on the spread is the range of their middle half (one slow round,
// a clock dip of a GPU at its power limit, then widens it little), and the noise is the spread
// over the square root of the rounds: the median of n rounds is about that sure (the standard
// error of a median of normally spread rounds is 0.93 x their middle half's range / sqrt(n)),
// so that a finalist that was timed more is known more closely. With fewer rounds the noise is
// their whole range.
// Rounds go on, for the finalists whose time within its noise still meets the leader's, until
// the leader stands apart or the budget of rounds ends; within noise, cache/winner_rule.h
// decides.
#pragma once

#include <cstddef>
#include <vector>

namespace fusetune {

struct RoundSummary {
  double median_ms = 0;
  double spread = 0;  // the rounds' range, or their middle half's from four on, / the median
  double noise = 0;   // how far the median may be off, relative to it (see above)
};

// Precondition: `rounds` is not empty.
RoundSummary summarize_rounds(std::vector<double> rounds);

// The finalists to time again: the leader (the lowest median) and every finalist whose median
// less its noise is at most the leader's median plus its noise; empty when none is (or fewer
// than two have times). Finalists without times (failed) take no part.
std::vector<std::size_t> contenders(const std::vector<std::vector<double>>& times);

}  // namespace fusetune
