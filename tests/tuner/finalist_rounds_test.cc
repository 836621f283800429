// Finalists are timed in rounds until the leader stands apart from the rest or the rounds run
// out: a finalist's time is its rounds' median, its noise their range (of the middle half, from
// four rounds on).
#include "tuner/finalist_rounds.h"

#include <gtest/gtest.h>

namespace fusetune {
namespace {

TEST(SummarizeRounds, GivesTheMedianTheRangeAndTheSpreadRelativeToTheMedian) {
  const RoundSummary s = summarize_rounds({1.2, 1.0, 1.1});
  EXPECT_DOUBLE_EQ(s.median_ms, 1.1);
  EXPECT_DOUBLE_EQ(s.low_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.high_ms, 1.2);
  EXPECT_NEAR(s.spread, 0.2 / 1.1, 1e-12);
  EXPECT_DOUBLE_EQ(summarize_rounds({2.0, 1.0}).median_ms, 1.5);
}

TEST(SummarizeRounds, FromFourRoundsTheNoiseIsTheMiddleHalfsRange) {
  // Quartiles interpolated between neighbours: of 1.0 .. 1.4, 1.1 and 1.3.
  const RoundSummary s = summarize_rounds({1.4, 1.0, 1.2, 1.1, 1.3});
  EXPECT_DOUBLE_EQ(s.median_ms, 1.2);
  EXPECT_NEAR(s.low_ms, 1.1, 1e-12);
  EXPECT_NEAR(s.high_ms, 1.3, 1e-12);
  EXPECT_NEAR(s.spread, 0.2 / 1.2, 1e-12);
  const RoundSummary four = summarize_rounds({1.0, 1.1, 1.2, 1.3});
  EXPECT_NEAR(four.low_ms, 1.075, 1e-12);
  EXPECT_NEAR(four.high_ms, 1.225, 1e-12);
}

TEST(SummarizeRounds, OneSlowRoundHardlyWidensTheNoise) {
  // A GPU at its power limit dips now and then: a round 20% slow among eight steady ones.
  const std::vector<double> steady = {1.00, 1.01, 1.00, 1.02, 1.01, 1.00, 1.01, 1.02};
  std::vector<double> with_dip = steady;
  with_dip.push_back(1.20);
  const RoundSummary s = summarize_rounds(with_dip);
  EXPECT_LT(s.spread, 0.02);
  EXPECT_NEAR(s.spread, summarize_rounds(steady).spread, 0.01);
  EXPECT_DOUBLE_EQ(s.median_ms, 1.01);
}

TEST(Contenders, TheLeaderAndThoseOverlappingItGoOn) {
  // 0 leads (1.00-1.04); 1 overlaps it (1.03-1.08); 2 is apart (1.20-1.25).
  const std::vector<std::size_t> next =
      contenders({{1.00, 1.02, 1.04}, {1.03, 1.05, 1.08}, {1.20, 1.22, 1.25}});
  EXPECT_EQ(next, (std::vector<std::size_t>{0, 1}));
}

TEST(Contenders, NoneWhenTheLeaderStandsApart) {
  EXPECT_TRUE(contenders({{1.00, 1.01}, {1.05, 1.06}, {2.0}}).empty());
}

TEST(Contenders, TheLeadersSlowRoundDoesNotKeepTheOthersGoing) {
  // Apart by their middle halves, though the leader's one slow round reaches the other's.
  EXPECT_TRUE(contenders({{1.00, 1.01, 1.00, 1.02, 1.25}, {1.10, 1.11, 1.12, 1.11}}).empty());
}

TEST(Contenders, FailedFinalistsTakeNoPart) {
  EXPECT_TRUE(contenders({{1.00, 1.01}, {}, {1.50}}).empty());
  EXPECT_EQ(contenders({{}, {1.00, 1.10}, {1.05}}), (std::vector<std::size_t>{1, 2}));
}

}  // namespace
}  // namespace fusetune
