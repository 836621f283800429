// The winner of a sweep: the winner it replaces while that stays within twice the noise; else
// the fastest, unless others are within its noise; then the first of them by name, so that
// tuning again on the same machine picks the same kernel.
#include "cache/winner_rule.h"

#include <gtest/gtest.h>

namespace fusetune::cache {
namespace {

TEST(ChooseWinner, NothingTimedHasNoWinner) { EXPECT_EQ(choose_winner({}), std::nullopt); }

TEST(ChooseWinner, TheFastestWinsWhenTheOthersAreOutsideItsNoise) {
  EXPECT_EQ(choose_winner({{"b", 2.0, 0.01}, {"c", 1.0, 0.01}, {"a", 1.5, 0.01}}), 1u);
}

TEST(ChooseWinner, WithinTheFastestsNoiseTheFirstByNameWins) {
  // c is fastest, but its time is 10% unsure: a (5% slower) is within that, b is not.
  EXPECT_EQ(choose_winner({{"c", 1.00, 0.10}, {"b", 1.20, 0.0}, {"a", 1.05, 0.0}}), 2u);
}

TEST(ChooseWinner, TheSameTimingsInAnotherOrderGiveTheSameWinner) {
  const std::vector<TimedCandidate> one{{"x", 1.00, 0.05}, {"w", 1.04, 0.0}, {"v", 1.50, 0.0}};
  const std::vector<TimedCandidate> two{one[2], one[0], one[1]};
  EXPECT_EQ(one[*choose_winner(one)].name, "w");
  EXPECT_EQ(two[*choose_winner(two)].name, "w");
}

TEST(ChooseWinner, BelowTheNoiseFloorTheNameDecidesEvenWhenTheRoundsAgreeClosely) {
  // b's time is sure to 0.1%, but a is within kNoiseFloor of it.
  const double close = 1 + kNoiseFloor * 0.9;
  EXPECT_EQ(choose_winner({{"b", 1.0, 0.001}, {"a", close, 0.001}}), 1u);
  EXPECT_EQ(choose_winner({{"b", 1.0, std::nullopt}, {"a", close, std::nullopt}}), 1u);
}

TEST(ChooseWinner, AboveTheNoiseFloorAndItsNoiseTheFastestWins) {
  const double apart = 1 + kNoiseFloor * 1.5;
  EXPECT_EQ(choose_winner({{"b", 1.0, 0.001}, {"a", apart, 0.001}}), 0u);
  EXPECT_EQ(choose_winner({{"b", 1.0, std::nullopt}, {"a", apart, std::nullopt}}), 0u);
}

TEST(ChooseWinner, TheIncumbentStaysWithinTwiceTheNoiseWhereTheNameWouldNotKeepIt) {
  // The H100's fp32 seed: "w1x4" sorts first, 0.93% from the fastest in one sweep (it won) and
  // 1.05% in the next (it would lose by name alone).
  const std::vector<TimedCandidate> next{
      {"w2x2_n", 2.8500, 0.0004}, {"w1x4_n", 2.8798, 0.0003}, {"w2x2_m", 2.8756, 0.0004}};
  EXPECT_EQ(choose_winner(next), 2u);
  EXPECT_EQ(choose_winner(next, "w1x4_n"), 1u);
}

TEST(ChooseWinner, TheIncumbentsOwnNoiseWidensItsBand) {
  // 3xTF32: the incumbent's noise was 2.75% and it came out 3.3% behind.
  const std::vector<TimedCandidate> timed{{"s4", 1.2810, 0.017}, {"s3", 1.3235, 0.0275}};
  EXPECT_EQ(choose_winner(timed, "s3"), 1u);
  EXPECT_EQ(choose_winner(timed), 0u);
}

TEST(ChooseWinner, AnIncumbentBeyondTwiceTheNoiseGivesWay) {
  const double beyond = 1 + kIncumbentBand * kNoiseFloor * 1.1;
  EXPECT_EQ(choose_winner({{"b", 1.0, 0.001}, {"a", beyond, 0.001}}, "a"), 0u);
}

TEST(ChooseWinner, AnIncumbentNotAmongTheCandidatesChangesNothing) {
  const std::vector<TimedCandidate> timed{{"b", 1.0, 0.001}, {"c", 1.5, 0.001}};
  EXPECT_EQ(choose_winner(timed, "gone"), 0u);
  EXPECT_EQ(choose_winner(timed, ""), 0u);
}

TEST(ChooseWinner, SaysWhyItsWinnerWon) {
  const std::vector<TimedCandidate> timed{
      {"b", 1.0, 0.001}, {"a", 1.005, 0.001}, {"c", 1.015, 0.001}};
  EXPECT_EQ(choose_winner_with_reason(timed)->reason, WinnerReason::first_by_name);
  EXPECT_EQ(choose_winner_with_reason(timed, "c")->reason, WinnerReason::kept_incumbent);
  EXPECT_EQ(choose_winner_with_reason(timed, "b")->reason, WinnerReason::fastest)
      << "an incumbent that is the fastest wins as the fastest";
  EXPECT_EQ(choose_winner_with_reason({{"b", 1.0, 0.001}, {"a", 1.5, 0.001}})->reason,
            WinnerReason::fastest);
}

}  // namespace
}  // namespace fusetune::cache
