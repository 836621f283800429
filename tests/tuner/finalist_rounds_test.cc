// Finalists are timed in rounds until the leader stands apart from the rest or the rounds run
// out: a finalist's time is its rounds' median, its noise their range.
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

TEST(Contenders, TheLeaderAndThoseOverlappingItGoOn) {
  // 0 leads (1.00-1.04); 1 overlaps it (1.03-1.08); 2 is apart (1.20-1.25).
  const std::vector<std::size_t> next =
      contenders({{1.00, 1.02, 1.04}, {1.03, 1.05, 1.08}, {1.20, 1.22, 1.25}});
  EXPECT_EQ(next, (std::vector<std::size_t>{0, 1}));
}

TEST(Contenders, NoneWhenTheLeaderStandsApart) {
  EXPECT_TRUE(contenders({{1.00, 1.01}, {1.05, 1.06}, {2.0}}).empty());
}

TEST(Contenders, FailedFinalistsTakeNoPart) {
  EXPECT_TRUE(contenders({{1.00, 1.01}, {}, {1.50}}).empty());
  EXPECT_EQ(contenders({{}, {1.00, 1.10}, {1.05}}), (std::vector<std::size_t>{1, 2}));
}

}  // namespace
}  // namespace fusetune
