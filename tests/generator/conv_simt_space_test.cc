// The direct-convolution family's search space: what it holds, what it rules out and why, and
// that names and JSON read back to the same configuration.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>

#include "fusetune/status.h"
#include "generator/conv_mma.h"
#include "generator/conv_simt.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const std::string kSeed =
    "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
    "max_pool3d(2)";

DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }

TEST(ConvSimtSpace, TheSeedsSpaceRunsEveryBlockWidthAndReadsBack) {
  const Spec spec = parse_spec(kSeed);
  const std::vector<Candidate> space = search_space(spec, sm90(), Precision::fp32);
  ASSERT_FALSE(space.empty());
  EXPECT_LE(space.size(), kConvSimtSpaceSize);
  std::set<int> widths;
  std::set<std::string> names;
  for (const Candidate& c : space) {
    const auto& config = std::get<ConvSimtConfig>(c.config);
    EXPECT_EQ(conv_simt_rejection(spec, sm90(), config), std::nullopt) << c.name;
    widths.insert(config.co_block);
    EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
    EXPECT_EQ(candidate_from_name(spec, sm90(), c.name).config, c.config);
    EXPECT_EQ(config_from_json(config_json(c.config)), c.config);
    EXPECT_EQ(precision_of(c.config), Precision::fp32);
  }
  EXPECT_EQ(widths, (std::set<int>{8, 16, 32}));  // 64 is twice the 32 channels
}

TEST(ConvSimtSpace, ConvolutionsAndGemmsKeepToTheirOwnFamilies) {
  const Spec conv = parse_spec(kSeed);
  const Spec gemm = parse_spec("linear(m=64, n=64, k=64) -> relu");
  for (const Candidate& c : search_space(conv, sm90(), Precision::tf32))
    EXPECT_TRUE(std::holds_alternative<ConvMmaConfig>(c.config)) << c.name;
  for (const Candidate& c : search_space(gemm, sm90(), Precision::fp32))
    EXPECT_FALSE(std::holds_alternative<ConvSimtConfig>(c.config)) << c.name;
  try {
    candidate_from_name(conv, sm90(), "ft_gemm_simt_64x64x16_w2x2_t8x4_s3_n_spread");
    ADD_FAILURE() << "a GEMM configuration was accepted for a convolution";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a GEMM kernel cannot run a convolution"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConvSimtSpace, RejectionsSayWhy) {
  const Spec spec = parse_spec(kSeed);
  const ConvSimtConfig good{16, 8, {1, 4, 32}, {1, 2, 1}, 16};
  EXPECT_EQ(conv_simt_rejection(spec, sm90(), good), std::nullopt);
  auto reason = [&](const Spec& s, ConvSimtConfig c) {
    return conv_simt_rejection(s, sm90(), c).value_or("(accepted)");
  };
  ConvSimtConfig c = good;
  c.co_thread = 6;
  EXPECT_EQ(reason(spec, c), "CO_THREAD is 4, 8 or 16");
  c = good;
  c.threads = {1, 1, 16};
  EXPECT_EQ(reason(spec, c),
            "the spatial threads are a multiple of 32: a warp's lanes share their channels");
  c = good;
  c.ci_chunk = 5;
  EXPECT_EQ(reason(spec, c), "CI_CHUNK 5 does not divide the 16 input channels of a group");
  c = good;
  c.cells = {2, 4, 1};
  c.co_thread = 16;
  EXPECT_EQ(reason(spec, c), "128 accumulators per thread spill registers");
  c = good;
  c.threads = {1, 1, 32};
  c.cells = {1, 1, 2};
  c.co_block = 64;
  c.co_thread = 16;
  EXPECT_EQ(reason(spec, c), "a block of 64 output channels leaves most idle in a group of 32");

  const Spec phases = parse_spec(
      "conv_transpose2d(n=1, c=16, h=16, w=16, k=32, kernel=3, stride=2) -> max_pool2d(3)");
  EXPECT_EQ(reason(phases, ConvSimtConfig{16, 8, {1, 1, 32}, {1, 1, 1}, 16}),
            "the pool stride along h (3) is not a multiple of the convolution's stride (2): "
            "pooling windows would start on different output phases");
}

TEST(ConvSimtSpace, DefaultSaysWhyNothingRuns) {
  const Spec phases = parse_spec(
      "conv_transpose2d(n=1, c=16, h=16, w=16, k=32, kernel=3, stride=2) -> max_pool2d(3)");
  try {
    default_candidate(phases, sm90(), Precision::fp32);
    ADD_FAILURE() << "a kernel was offered for windows across output phases";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), StatusCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("not a multiple of the convolution's stride"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConvSimtSpace, GlobalAveragePoolingAddsBlocksUpInAWorkspace) {
  const Spec global =
      parse_spec("conv2d(n=2, c=3, h=16, w=16, k=32, kernel=3) -> relu -> global_avg_pool");
  const Spec plain = parse_spec("conv2d(n=2, c=3, h=16, w=16, k=32, kernel=3) -> relu");
  const ConvSimtConfig c{16, 8, {1, 2, 16}, {1, 1, 1}, 3};
  ASSERT_EQ(conv_simt_rejection(global, sm90(), c), std::nullopt);
  // 14x14 outputs in boxes of 2x16: 7 boxes per (image, channel block), 2 x 2 such tiles.
  EXPECT_EQ(conv_simt_workspace_bytes(global, c),
            2u * 2 * 7 * static_cast<unsigned>(c.block_threads()) * 16 + 2 * 2 * 4);
  EXPECT_EQ(conv_simt_workspace_bytes(plain, c), 0u);
  EXPECT_FALSE(search_space(global, sm90(), Precision::fp32).empty());
}

TEST(ConvCells, CellsArePoolingWindowsPhasesOrElements) {
  const std::array<CellAxis, 3> pooled = conv_cells(parse_spec(kSeed));
  EXPECT_EQ(pooled[1].extent, 2);
  EXPECT_EQ(pooled[1].stride, 2);
  EXPECT_EQ(pooled[1].count, 32);
  const std::array<CellAxis, 3> phases = conv_cells(parse_spec(
      "conv_transpose2d(n=1, c=4, h=5, w=6, k=4, kernel=3, stride=(2, 3), output_padding=1)"));
  EXPECT_EQ(phases[0].count, 1);  // d, in 2-d
  EXPECT_EQ(phases[1].extent, 2);
  EXPECT_EQ(phases[1].count, 6);  // 12 outputs along h in cells of 2
  EXPECT_EQ(phases[2].extent, 3);
  EXPECT_EQ(phases[2].count, 7);  // 19 outputs along w in cells of 3, the last partial
  const std::array<CellAxis, 3> windows = conv_cells(parse_spec(
      "conv2d(n=1, c=4, h=20, w=21, k=8, kernel=3) -> max_pool2d(3, stride=2, padding=1)"));
  EXPECT_EQ(windows[2].extent, 3);
  EXPECT_EQ(windows[2].stride, 2);
  EXPECT_EQ(windows[2].offset, 1);
  EXPECT_EQ(windows[2].count, 10);
}

}  // namespace
}  // namespace fusetune
