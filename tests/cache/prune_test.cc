// Pruning as a specification: exactly the tunings of another generator or NVRTC version go, with
// the binaries of another NVRTC and those only the pruned tunings referred to; a binary of this
// NVRTC that no tuning names (a compile-only sweep's, a load's of an untuned spec) stays, since
// its key is its source's hash; a dry run lists the same and removes nothing.
#include "cache/prune.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/cache/cache_fixtures.h"

namespace fusetune::cache {
namespace {

using fixtures::key_on;
using fixtures::ok_row;
using fixtures::store;
using fixtures::tuning_record;

const BuildVersions kBuild{.generator_version = "0.1.0+abc123", .nvrtc_version = "13.0"};

class PruneTest : public fixtures::CacheFolderTest {
 protected:
  void SetUp() override {
    CacheFolderTest::SetUp();
    auto db = open("tuning.db");
    TuningKey old_generator = key_on("H100");
    old_generator.generator_version = "0.0.9+000000";
    TuningKey old_nvrtc = key_on("A100");
    old_nvrtc.nvrtc_version = "12.8";
    store(*db, tuning_record(key_on("H100"), "k", 1.0),
          {ok_row("k", 1.0, "bin-kept"), ok_row("s", 2.0, "bin-shared"),
           ok_row("o", 3.0, "bin-old-nvrtc")});
    store(*db, tuning_record(old_generator, "g", 1.0),
          {ok_row("g", 1.0, "bin-of-stale"), ok_row("s", 2.0, "bin-shared")});
    store(*db, tuning_record(old_nvrtc, "n", 1.0), {ok_row("n", 1.0, "bin-of-stale-2")});
    for (const char* key :
         {"bin-kept", "bin-shared", "bin-of-stale", "bin-of-stale-2", "bin-orphan"})
      db->store_binary(fixtures::binary_record(key));
    db->store_binary(fixtures::binary_record("bin-old-nvrtc", "12.8"));
  }

  static std::vector<std::string> tuning_devices(const PrunePlan& plan) {
    std::vector<std::string> devices;
    for (const PrunedTuning& p : plan.tunings) devices.push_back(p.tuning.key.device_name);
    std::sort(devices.begin(), devices.end());
    return devices;
  }
  static std::vector<std::string> binary_keys(const PrunePlan& plan) {
    std::vector<std::string> keys;
    for (const PrunedBinary& p : plan.binaries) keys.push_back(p.binary.key);
    return keys;  // by key, as Database::binaries lists them
  }
};

TEST_F(PruneTest, ExactlyTheStaleTuningsAndUnusableBinariesGo) {
  const PrunePlan plan = prune(*open("tuning.db"), kBuild);
  EXPECT_EQ(tuning_devices(plan), (std::vector<std::string>{"A100", "H100"}));
  ASSERT_EQ(binary_keys(plan),
            (std::vector<std::string>{"bin-of-stale", "bin-of-stale-2", "bin-old-nvrtc"}));
  for (const PrunedTuning& p : plan.tunings) {
    const std::string expected = p.tuning.key.device_name == "A100"
                                     ? "NVRTC 12.8, this build 13.0"
                                     : "generator 0.0.9+000000, this build 0.1.0+abc123";
    EXPECT_EQ(p.reason, expected);
  }
  EXPECT_EQ(plan.binaries[0].reason, "only pruned tunings referred to it");
  EXPECT_EQ(plan.binaries[2].reason, "compiled by NVRTC 12.8, this build 13.0");

  auto db = open("tuning.db");
  ASSERT_EQ(db->tunings().size(), 1u);
  EXPECT_EQ(db->tunings()[0].key, key_on("H100"));
  EXPECT_EQ(db->candidates(db->tunings()[0].id).size(), 3u);
  std::vector<std::string> left;
  for (const StoredBinary& b : db->binaries()) left.push_back(b.key);
  EXPECT_EQ(left, (std::vector<std::string>{"bin-kept", "bin-orphan", "bin-shared"}));
  EXPECT_TRUE(prune(*db, kBuild).empty()) << "a second prune finds nothing";
}

TEST_F(PruneTest, ADryRunListsTheSameAndRemovesNothing) {
  const std::string before = fixtures::contents(*open("tuning.db"));
  const std::vector<char> bytes = fixtures::read_bytes(path("tuning.db"));
  const PrunePlan plan = plan_prune(*open("tuning.db", OpenMode::read_only), kBuild);
  EXPECT_EQ(tuning_devices(plan).size(), 2u);
  EXPECT_EQ(binary_keys(plan).size(), 3u);
  EXPECT_EQ(plan.binary_bytes(),
            static_cast<std::int64_t>(fixtures::binary_record("bin-of-stale").cubin.size() +
                                      fixtures::binary_record("bin-of-stale-2").cubin.size() +
                                      fixtures::binary_record("bin-old-nvrtc").cubin.size()));
  EXPECT_EQ(fixtures::read_bytes(path("tuning.db")), bytes);
  EXPECT_EQ(fixtures::contents(*open("tuning.db")), before);
}

TEST_F(PruneTest, ADatabaseWithNothingStaleLosesNothing) {
  auto db = open("current.db");
  store(*db, tuning_record(key_on("H100"), "k", 1.0), {ok_row("k", 1.0, "bin-kept")});
  db->store_binary(fixtures::binary_record("bin-kept"));
  const std::string before = fixtures::contents(*db);
  EXPECT_TRUE(prune(*db, kBuild).empty());
  EXPECT_EQ(fixtures::contents(*db), before);
}

// A compile-only sweep stores cubins and no tuning: they are what the next sweep or load of this
// build compiles, so they stay (issue 20: a prune removed all 520 of one).
TEST_F(PruneTest, ACompileOnlySweepsCubinsStayAndOnlyAnotherNvrtcsGo) {
  auto db = open("compile_only.db");
  for (const char* key : {"bin-1", "bin-2", "bin-3"})
    db->store_binary(fixtures::binary_record(key));
  db->store_binary(fixtures::binary_record("bin-12.8", "12.8"));
  const PrunePlan plan = prune(*db, kBuild);
  EXPECT_TRUE(plan.tunings.empty());
  EXPECT_EQ(binary_keys(plan), (std::vector<std::string>{"bin-12.8"}));
  EXPECT_EQ(db->binaries().size(), 3u);
}

}  // namespace
}  // namespace fusetune::cache
