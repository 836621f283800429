// The short form of a search space (the order across families: gemm_wgmma_space_test.cc).
#include <gtest/gtest.h>

#include <set>

#include "generator/generator.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const DeviceLimits kH100 = *DeviceLimits::for_arch("sm_90");

TEST(BestPredictedTest, FamiliesTakeTurnsEachInItsOwnPredictedOrder) {
  const Spec spec = parse_spec("linear(m=1024, n=1024, k=1024) -> relu");
  const std::vector<Candidate> space = search_space(spec, kH100, Precision::tf32);
  std::vector<std::string> wgmma, mma;
  for (const Candidate& c : space)
    (std::holds_alternative<GemmWgmmaConfig>(c.config) ? wgmma : mma).push_back(c.name);
  ASSERT_GE(wgmma.size(), 3u);
  ASSERT_GE(mma.size(), 3u);

  const std::vector<Candidate> short_space = best_predicted(space, 5);
  ASSERT_EQ(short_space.size(), 5u);
  const std::vector<std::string> expected = {wgmma[0], mma[0], wgmma[1], mma[1], wgmma[2]};
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(short_space[i].name, expected[i]);
}

TEST(BestPredictedTest, ALimitOfZeroOrAboveTheSpaceKeepsEverythingInOrder) {
  const Spec spec = parse_spec("linear(m=64, n=64, k=64)");
  const std::vector<Candidate> space = search_space(spec, kH100, Precision::fp32);
  for (std::size_t limit : {std::size_t{0}, space.size(), space.size() + 7}) {
    const std::vector<Candidate> kept = best_predicted(space, limit);
    ASSERT_EQ(kept.size(), space.size());
    for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i].name, space[i].name);
  }
}

TEST(BestPredictedTest, OneFamilyIsCutToItsBestPredicted) {
  const Spec spec = parse_spec("linear(m=512, n=512, k=512)");
  const std::vector<Candidate> space = search_space(spec, kH100, Precision::fp32);
  ASSERT_GT(space.size(), 3u);
  const std::vector<Candidate> kept = best_predicted(space, 3);
  ASSERT_EQ(kept.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(kept[i].name, space[i].name);
}

}  // namespace
}  // namespace fusetune
