// Finalists are timed in rounds until the leader stands apart from the rest or the rounds run
// out: a finalist's time is its rounds' median, its noise their range, or from four rounds on
// their middle half's range over the square root of their count.
#include "tuner/finalist_rounds.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fusetune {
namespace {

TEST(SummarizeRounds, BelowFourRoundsTheNoiseIsTheirWholeRange) {
  const RoundSummary s = summarize_rounds({1.2, 1.0, 1.1});
  EXPECT_DOUBLE_EQ(s.median_ms, 1.1);
  EXPECT_NEAR(s.spread, 0.2 / 1.1, 1e-12);
  EXPECT_NEAR(s.noise, 0.2 / 1.1, 1e-12);
  EXPECT_DOUBLE_EQ(summarize_rounds({2.0, 1.0}).median_ms, 1.5);
  EXPECT_DOUBLE_EQ(summarize_rounds({1.0}).noise, 0);
}

TEST(SummarizeRounds, FromFourRoundsTheSpreadIsTheMiddleHalfsRangeAndTheNoiseThatOverRootN) {
  // Quartiles interpolated between neighbours: of 1.0 .. 1.4, 1.1 and 1.3.
  const RoundSummary s = summarize_rounds({1.4, 1.0, 1.2, 1.1, 1.3});
  EXPECT_DOUBLE_EQ(s.median_ms, 1.2);
  EXPECT_NEAR(s.spread, 0.2 / 1.2, 1e-12);
  EXPECT_NEAR(s.noise, 0.2 / 1.2 / std::sqrt(5.0), 1e-12);
  // Of 1.0 .. 1.3: 1.075 and 1.225.
  const RoundSummary four = summarize_rounds({1.0, 1.1, 1.2, 1.3});
  EXPECT_NEAR(four.spread, 0.15 / 1.15, 1e-12);
  EXPECT_NEAR(four.noise, 0.15 / 1.15 / 2, 1e-12);
}

TEST(SummarizeRounds, MoreRoundsOfTheSameSpreadGiveLessNoise) {
  // A kernel whose rounds come out 10% apart, fast and slow in turn: timed 12 times rather
  // than 4, its median is known about sqrt(3) times more closely.
  const std::vector<double> four = {1.0, 1.1, 1.0, 1.1};
  std::vector<double> twelve;
  for (int i = 0; i < 3; ++i) twelve.insert(twelve.end(), four.begin(), four.end());
  const RoundSummary few = summarize_rounds(four), many = summarize_rounds(twelve);
  EXPECT_NEAR(many.spread, few.spread, 1e-12);
  EXPECT_NEAR(few.noise / many.noise, std::sqrt(3.0), 1e-9);
}

TEST(SummarizeRounds, OneSlowRoundHardlyWidensTheNoise) {
  // A GPU at its power limit dips now and then: a round 20% slow among eight steady ones.
  const std::vector<double> steady = {1.00, 1.01, 1.00, 1.02, 1.01, 1.00, 1.01, 1.02};
  std::vector<double> with_dip = steady;
  with_dip.push_back(1.20);
  const RoundSummary s = summarize_rounds(with_dip);
  EXPECT_LT(s.spread, 0.02);
  EXPECT_NEAR(s.spread, summarize_rounds(steady).spread, 0.01);
  EXPECT_LT(s.noise, 0.01);
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

TEST(Contenders, ALeaderTimedOftenStandsApartThoughItsRoundsSpreadWide) {
  // The bf16 seed on the H100: the fastest finalist's rounds spread 10% (fast and slow in
  // turn), the next ran 4.6% slower. Over 12 rounds its median is known to about 3%.
  std::vector<double> leader, next;
  for (int i = 0; i < 6; ++i) {
    leader.insert(leader.end(), {0.187, 0.206});
    next.insert(next.end(), {0.2058, 0.2060});
  }
  EXPECT_TRUE(contenders({leader, next}).empty());
  // Timed only four times, it cannot yet be told from the other.
  EXPECT_EQ(contenders({{0.187, 0.206, 0.187, 0.206}, {0.2058, 0.2060, 0.2058, 0.2060}}),
            (std::vector<std::size_t>{0, 1}));
}

TEST(Contenders, FailedFinalistsTakeNoPart) {
  EXPECT_TRUE(contenders({{1.00, 1.01}, {}, {1.50}}).empty());
  EXPECT_EQ(contenders({{}, {1.00, 1.10}, {1.05}}), (std::vector<std::size_t>{1, 2}));
}

}  // namespace
}  // namespace fusetune
