// Comparing two tuning databases as a specification: every key of either appears once, as only
// in A, only in B, the same winner (with both times) or different winners; neither is written.
#include "cache/diff.h"

#include <gtest/gtest.h>

#include "tests/cache/cache_fixtures.h"

namespace fusetune::cache {
namespace {

using fixtures::failed_row;
using fixtures::key_on;
using fixtures::ok_row;
using fixtures::store;
using fixtures::tuning_record;

class DiffTest : public fixtures::CacheFolderTest {};

TEST_F(DiffTest, EveryKeyFallsIntoOneCategory) {
  {
    auto a = open("a.db");
    store(*a, tuning_record(key_on("A100"), "x", 2.0), {ok_row("x", 2.0)});
    store(*a, tuning_record(key_on("H100"), "same", 1.0), {ok_row("same", 1.0)});
    store(*a, tuning_record(key_on("L40S"), "fast_here", 4.0), {ok_row("fast_here", 4.0)});
    store(*a, tuning_record(key_on("V100")), {failed_row("v", "fault")});
    auto b = open("b.db");
    store(*b, tuning_record(key_on("H100"), "same", 1.5), {ok_row("same", 1.5)});
    store(*b, tuning_record(key_on("L40S"), "fast_there", 3.0), {ok_row("fast_there", 3.0)});
    store(*b, tuning_record(key_on("RTX"), "r", 0.5), {ok_row("r", 0.5)});
    store(*b, tuning_record(key_on("V100")), {failed_row("v", "timeout")});
  }
  const std::vector<char> a_bytes = fixtures::read_bytes(path("a.db"));
  const std::vector<char> b_bytes = fixtures::read_bytes(path("b.db"));
  auto a = open("a.db", OpenMode::read_only);
  auto b = open("b.db", OpenMode::read_only);
  const std::vector<TuningDiff> diffs = diff_databases(*a, *b);

  ASSERT_EQ(diffs.size(), 5u);  // in key order: A100, H100, L40S, RTX, V100
  using Kind = TuningDiff::Kind;
  EXPECT_EQ(diffs[0].kind, Kind::only_in_a);
  EXPECT_EQ(diffs[0].key, key_on("A100"));
  EXPECT_EQ(diffs[0].a_winner, "x");
  EXPECT_EQ(diffs[0].a_time_ms, 2.0);
  EXPECT_FALSE(diffs[0].ratio().has_value());

  EXPECT_EQ(diffs[1].kind, Kind::same_winner);
  EXPECT_EQ(diffs[1].a_winner, "same");
  EXPECT_EQ(diffs[1].b_winner, "same");
  EXPECT_EQ(diffs[1].a_time_ms, 1.0);
  EXPECT_EQ(diffs[1].b_time_ms, 1.5);
  EXPECT_EQ(diffs[1].ratio(), 1.5);

  EXPECT_EQ(diffs[2].kind, Kind::different_winners);
  EXPECT_EQ(diffs[2].a_winner, "fast_here");
  EXPECT_EQ(diffs[2].b_winner, "fast_there");
  EXPECT_EQ(diffs[2].ratio(), 0.75);

  EXPECT_EQ(diffs[3].kind, Kind::only_in_b);
  EXPECT_EQ(diffs[3].key, key_on("RTX"));
  EXPECT_EQ(diffs[3].b_winner, "r");
  EXPECT_EQ(diffs[3].spec, tuning_record(key_on("RTX")).spec);

  EXPECT_EQ(diffs[4].kind, Kind::same_winner) << "neither has a winner";
  EXPECT_EQ(diffs[4].a_winner, "");
  EXPECT_FALSE(diffs[4].ratio().has_value());

  a.reset();
  b.reset();
  EXPECT_EQ(fixtures::read_bytes(path("a.db")), a_bytes);
  EXPECT_EQ(fixtures::read_bytes(path("b.db")), b_bytes);
}

TEST_F(DiffTest, KeysDifferingOnlyInAVersionAreDifferentKeys) {
  TuningKey newer = key_on("H100");
  newer.generator_version = "0.2.0+def456";
  {
    store(*open("a.db"), tuning_record(key_on("H100"), "w", 1.0), {ok_row("w", 1.0)});
    store(*open("b.db"), tuning_record(newer, "w", 1.0), {ok_row("w", 1.0)});
  }
  const std::vector<TuningDiff> diffs = diff_databases(*open("a.db"), *open("b.db"));
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0].kind, TuningDiff::Kind::only_in_a);
  EXPECT_EQ(diffs[1].kind, TuningDiff::Kind::only_in_b);
  EXPECT_EQ(diffs[1].key, newer);
}

}  // namespace
}  // namespace fusetune::cache
