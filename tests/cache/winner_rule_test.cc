// The winner of a sweep: the fastest, unless others are within its noise; then the first of
// them by name, so that tuning again on the same machine picks the same kernel.
#include "cache/winner_rule.h"

#include <gtest/gtest.h>

namespace fusetune::cache {
namespace {

TEST(ChooseWinner, NothingTimedHasNoWinner) { EXPECT_EQ(choose_winner({}), std::nullopt); }

TEST(ChooseWinner, TheFastestWinsWhenTheOthersAreOutsideItsNoise) {
  EXPECT_EQ(choose_winner({{"b", 2.0, 0.01}, {"c", 1.0, 0.01}, {"a", 1.5, 0.01}}), 1u);
}

TEST(ChooseWinner, WithinTheFastestsNoiseTheFirstByNameWins) {
  // c is fastest, but its rounds spread 10%: a (5% slower) is within that, b is not.
  EXPECT_EQ(choose_winner({{"c", 1.00, 0.10}, {"b", 1.20, 0.0}, {"a", 1.05, 0.0}}), 2u);
}

TEST(ChooseWinner, TheSameTimingsInAnotherOrderGiveTheSameWinner) {
  const std::vector<TimedCandidate> one{{"x", 1.00, 0.05}, {"w", 1.04, 0.0}, {"v", 1.50, 0.0}};
  const std::vector<TimedCandidate> two{one[2], one[0], one[1]};
  EXPECT_EQ(one[*choose_winner(one)].name, "w");
  EXPECT_EQ(two[*choose_winner(two)].name, "w");
}

TEST(ChooseWinner, BelowTheNoiseFloorTheNameDecidesEvenWhenTheRoundsAgreeClosely) {
  // b's rounds spread 0.1%, but a is within kNoiseFloor of it.
  const double close = 1 + kNoiseFloor * 0.9;
  EXPECT_EQ(choose_winner({{"b", 1.0, 0.001}, {"a", close, 0.001}}), 1u);
  EXPECT_EQ(choose_winner({{"b", 1.0, std::nullopt}, {"a", close, std::nullopt}}), 1u);
}

TEST(ChooseWinner, AboveTheNoiseFloorAndTheSpreadTheFastestWins) {
  const double apart = 1 + kNoiseFloor * 1.5;
  EXPECT_EQ(choose_winner({{"b", 1.0, 0.001}, {"a", apart, 0.001}}), 0u);
  EXPECT_EQ(choose_winner({{"b", 1.0, std::nullopt}, {"a", apart, std::nullopt}}), 0u);
}

}  // namespace
}  // namespace fusetune::cache
