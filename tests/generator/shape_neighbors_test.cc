// Untuned shapes borrow the winner of the nearest tuned shape of their chain: what a chain is,
// how near two shapes are, and how a configuration is carried over to another shape.
#include "generator/shape_neighbors.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "generator/device_limits.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

Spec linear(int m, int n, int k, const char* chain = " -> bias -> mul(2.0) -> leaky_relu(0.1)") {
  return parse_spec(fmt::format("linear(m={}, n={}, k={}){}", m, n, k, chain));
}

MainOp main_of(int m, int n, int k) { return linear(m, n, k).main; }

GemmWgmmaConfig tile(int block_m, int block_n) {
  GemmWgmmaConfig c;
  c.block_m = block_m;
  c.block_n = block_n;
  return c;
}

TEST(ChainSignature, IsSharedByEveryShapeOfAChainAndItsScalars) {
  EXPECT_EQ(chain_signature(linear(1024, 8192, 8192)), chain_signature(linear(16, 64, 32)));
  EXPECT_EQ(chain_signature(linear(64, 64, 64, " -> mul(3.0)")),
            chain_signature(linear(32, 32, 32, " -> mul(2.0)")));
  EXPECT_NE(chain_signature(linear(64, 64, 64, " -> relu")),
            chain_signature(linear(64, 64, 64, " -> gelu")));
  EXPECT_NE(chain_signature(linear(64, 64, 64, " -> relu")),
            chain_signature(parse_spec("matmul(m=64, n=64, k=64) -> relu")));
  EXPECT_NE(chain_signature(linear(64, 64, 64, " -> relu")),
            chain_signature(parse_spec("linear(m=64, n=64, k=64, dtype=bf16) -> relu")));
}

TEST(ChainSignature, KeepsAConvolutionsGeometryButNotItsExtents) {
  const auto conv = [](int n, int c, int h, int k, int stride) {
    return parse_spec(
        fmt::format("conv2d(n={}, c={}, h={}, w={}, k={}, kernel=3, stride={}) -> relu", n, c, h, h,
                    k, stride));
  };
  EXPECT_EQ(chain_signature(conv(8, 16, 32, 32, 1)), chain_signature(conv(2, 64, 64, 8, 1)));
  EXPECT_NE(chain_signature(conv(8, 16, 32, 32, 1)), chain_signature(conv(8, 16, 32, 32, 2)));
}

TEST(ShapeDistance, IsZeroForTheSameShapeAndGrowsWithTheTileCount) {
  const KernelConfig c = tile(128, 128);
  EXPECT_EQ(shape_distance(main_of(1024, 8192, 8192), main_of(1024, 8192, 8192), c, 132), 0);
  const double double_m =
      shape_distance(main_of(1024, 8192, 8192), main_of(2048, 8192, 8192), c, 132);
  const double eighth_m =
      shape_distance(main_of(1024, 8192, 8192), main_of(128, 8192, 8192), c, 132);
  EXPECT_GT(double_m, 0);
  EXPECT_LT(double_m, eighth_m);
}

TEST(ShapeDistance, CountsDepthLessThanTheTiles) {
  const KernelConfig c = tile(128, 128);
  const double deeper =
      shape_distance(main_of(1024, 8192, 8192), main_of(1024, 8192, 16384), c, 132);
  const double wider =
      shape_distance(main_of(1024, 8192, 8192), main_of(1024, 16384, 8192), c, 132);
  EXPECT_GT(deeper, 0);
  EXPECT_LT(deeper, wider);
}

TEST(ShapeDistance, SeesTheLastWaveNotJustTheSize) {
  // 128x128 tiles on 132 SMs. The tuned shape is 12 x 11 = 132 tiles: one full wave. Twice its
  // rows is two full waves; one more column of tiles is barely larger but leaves a second wave
  // of 12 blocks on 132 SMs, which a kernel feels more.
  const KernelConfig c = tile(128, 128);
  const MainOp tuned = main_of(1536, 1408, 4096);
  const double two_full_waves = shape_distance(tuned, main_of(3072, 1408, 4096), c, 132);
  const double ragged_wave = shape_distance(tuned, main_of(1536, 1536, 4096), c, 132);
  EXPECT_LT(two_full_waves, ragged_wave);
}

TEST(ShapeDistance, SeesTilesThatOverhangTheEdge) {
  // One row more than 8 tiles' worth makes a ninth row of tiles, nearly empty.
  const KernelConfig c = tile(128, 128);
  const MainOp tuned = main_of(1024, 4096, 4096);
  const double overhang = shape_distance(tuned, main_of(1025, 4096, 4096), c, 132);
  const double whole_tiles = shape_distance(tuned, main_of(1152, 4096, 4096), c, 132);
  EXPECT_GT(overhang, 0);
  EXPECT_LT(whole_tiles, overhang);
}

TEST(BorrowConfig, KeepsAConfigurationThatRunsTheNewShape) {
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  const Spec tuned = linear(1024, 8192, 8192);
  const std::vector<Candidate> space = search_space(tuned, limits, Precision::tf32);
  ASSERT_GT(space.size(), 3u);
  const Candidate& winner = space[3];
  const std::optional<Candidate> same = borrow_config(tuned, limits, winner.config);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->name, winner.name);
}

TEST(BorrowConfig, CarriesSettingsOverWhereTheShapeChangesWhatIsAllowed) {
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  const Spec tuned = linear(1024, 8192, 8192);
  for (const Candidate& winner : search_space(tuned, limits, Precision::tf32)) {
    const Spec wanted = linear(2048, 4096, 8192);
    const std::optional<Candidate> borrowed = borrow_config(wanted, limits, winner.config);
    ASSERT_TRUE(borrowed.has_value()) << winner.name;
    // Whatever it is, it runs the new shape: it comes from that shape's own space.
    bool in_space = false;
    for (const Candidate& c : search_space(wanted, limits, Precision::tf32))
      in_space = in_space || c.name == borrowed->name;
    EXPECT_TRUE(in_space) << borrowed->name;
    const nlohmann::json a = nlohmann::json::parse(config_json(winner.config));
    const nlohmann::json b = nlohmann::json::parse(config_json(borrowed->config));
    EXPECT_EQ(a.value("block_m", 0), b.value("block_m", 0)) << winner.name;
    EXPECT_EQ(a.value("family", ""), b.value("family", "")) << winner.name;
  }
}

}  // namespace
}  // namespace fusetune
