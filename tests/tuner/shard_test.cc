// How a list of specs is cut into shares for a job array: every spec in exactly one share, and
// the same shares whatever the order of the list or its duplicates.
#include "tuner/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace fusetune {
namespace {

const std::vector<std::string> kList = {"e", "b", "a", "d", "c", "b", "f", "g"};

TEST(ParseShard, TakesIndexSlashCountWithTheIndexBelowTheCount) {
  const std::optional<Shard> shard = parse_shard("2/5");
  ASSERT_TRUE(shard);
  EXPECT_EQ(shard->index, 2);
  EXPECT_EQ(shard->count, 5);
  EXPECT_TRUE(parse_shard("0/1"));
  for (const char* bad : {"", "1", "/", "5/5", "6/5", "0/0", "-1/4", "1/-4", " 1/4", "1/4 ",
                          "1 / 4", "a/4", "1/4/2", "+1/4", "1.0/4", "99999999999/99999999999"})
    EXPECT_FALSE(parse_shard(bad)) << "'" << bad << "'";
}

TEST(CanonicalOrder, SortsAndDropsDuplicates) {
  EXPECT_EQ(canonical_order(kList), (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));
}

TEST(TakeShard, SpecJOfTheCanonicalOrderBelongsToShareJModN) {
  EXPECT_EQ(take_shard(kList, {0, 3}), (std::vector<std::string>{"a", "d", "g"}));
  EXPECT_EQ(take_shard(kList, {1, 3}), (std::vector<std::string>{"b", "e"}));
  EXPECT_EQ(take_shard(kList, {2, 3}), (std::vector<std::string>{"c", "f"}));
  EXPECT_EQ(take_shard(kList, {}), canonical_order(kList)) << "the default is the whole list";
}

TEST(TakeShard, TheSharesPartitionTheListForEveryCount) {
  for (int count = 1; count <= 10; ++count) {
    std::multiset<std::string> all;
    for (int index = 0; index < count; ++index)
      for (const std::string& spec : take_shard(kList, {index, count})) all.insert(spec);
    const std::vector<std::string> expected = canonical_order(kList);
    EXPECT_EQ(std::vector<std::string>(all.begin(), all.end()), expected) << count << " shares";
  }
}

TEST(TakeShard, TheSharesDoNotDependOnTheOrderOfTheListOrItsDuplicates) {
  std::vector<std::string> shuffled = kList;
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back("a");
  shuffled.push_back("g");
  for (int index = 0; index < 3; ++index)
    EXPECT_EQ(take_shard(shuffled, {index, 3}), take_shard(kList, {index, 3})) << index;
}

TEST(TakeShard, MoreSharesThanSpecsLeavesTheLastSharesEmpty) {
  EXPECT_EQ(take_shard({"b", "a"}, {1, 4}), std::vector<std::string>{"b"});
  EXPECT_TRUE(take_shard({"b", "a"}, {3, 4}).empty());
}

}  // namespace
}  // namespace fusetune
