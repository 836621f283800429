// The implicit-GEMM tensor-core convolution template against the fp64 reference, on the GPU, at
// TF32 and 3xTF32: for each problem, a subset of its search space in which every value of every
// tunable appears, plus the default, each launched twice on fresh random inputs with the output
// poisoned first. The problems are odd on purpose: positions, channels and K = C/groups·taps that
// divide no tile, stride 2, padding, dilation 2, groups 2, 3-d, 1x1 kernels (a stage deeper than
// the taps), several channel tiles per group, and an odd K (weights copied 4 bytes at a time);
// then cells of several elements: transposed convolutions' output phases and pool windows.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"
#include "tests/templates/conv_wgmma_configs.h"

namespace fusetune {
namespace {

class ConvMmaTest : public ::testing::TestWithParam<std::tuple<const char*, Precision>> {};

TEST_P(ConvMmaTest, EveryTunableValueMatchesTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const auto& [text, precision] = GetParam();
  const Spec spec = parse_spec(text);
  const std::vector<Candidate> space = search_space(spec, device.limits, precision);
  ASSERT_FALSE(space.empty());
  std::vector<Candidate> candidates = covering_subset(space);
  candidates.push_back(default_candidate(spec, device.limits, precision));

  for (const Candidate& c : candidates)
    ASSERT_TRUE(std::holds_alternative<ConvMmaConfig>(c.config)) << c.name;
  expect_candidates_match_reference(spec, precision, candidates, device);
}

// Pool windows of four phases' worth along each axis.
constexpr const char* kPoolOfPhases =
    "conv_transpose2d(n=2, c=4, h=5, w=6, k=6, kernel=3, stride=2) -> relu -> max_pool2d(4)";

const char* const kOddShapes[] = {
    // Stride, padding, dilation 2 and groups 2 on sizes that divide no tile; K = 27.
    "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, dilation=2, "
    "groups=2) -> bias -> relu -> add(channel)",
    "conv2d(n=3, c=8, h=33, w=35, k=12, kernel=3) -> bias -> relu -> hardswish",
    // KernelBench's chain on a small image: K = 576 in many stages, 128 channels.
    "conv2d(n=2, c=64, h=30, w=31, k=128, kernel=3) -> bias -> relu -> add(channel)",
    // More channels than any tile: several channel tiles, the last partial.
    "conv2d(n=1, c=16, h=12, w=13, k=300, kernel=3, padding=1) -> relu",
    // 1x1 with stride 2: one tap, so a stage spans several input channels.
    "conv2d(n=2, c=20, h=13, w=14, k=36, kernel=1, stride=2) -> mul(channel)",
    // 3-d, a residual read at the output's index.
    "conv3d(n=2, c=4, d=7, h=9, w=11, k=6, kernel=(3, 3, 2), padding=1) -> add(tensor) "
    "-> sigmoid",
    "conv3d(n=2, c=6, d=5, h=9, w=11, k=10, kernel=(3, 3, 2), stride=(1, 2, 1), "
    "padding=1, dilation=(2, 1, 2), groups=2) -> add(tensor) -> gelu",
    // Cells of several elements. The seed's chain, small: a transposed convolution's
    // output phases (1 to 8 taps each), output_padding 1, pooled in the epilogue.
    "conv_transpose3d(n=2, c=5, d=5, h=7, w=9, k=6, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
    "max_pool3d(2)",
    // Every phase stored, the main op's value reused.
    "conv_transpose3d(n=2, c=4, d=4, h=5, w=6, k=8, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)",
    // Phases of 2 x 2 taps, groups 2; stride 1 (one phase, the kernel flipped).
    "conv_transpose2d(n=2, c=6, h=9, w=10, k=10, kernel=4, stride=2, padding=1, "
    "groups=2) -> sigmoid",
    "conv_transpose2d(n=2, c=3, h=11, w=13, k=5, kernel=4, padding=2) -> tanh", kPoolOfPhases,
    // Plain convolutions pooled: windows that do not divide the output, average pooling
    // with padding (count_include_pad) and ops after it, overlapping windows.
    "conv3d(n=2, c=4, d=7, h=9, w=11, k=6, kernel=(3, 3, 2), padding=1) -> add(tensor) -> "
    "max_pool3d(2)",
    "conv2d(n=2, c=3, h=17, w=15, k=5, kernel=3, padding=1) -> relu -> avg_pool2d(3, "
    "stride=2, padding=1) -> mul(2.0) -> add(tensor)",
    "conv2d(n=1, c=4, h=20, w=21, k=8, kernel=3) -> max_pool2d(3, stride=2, padding=1) -> "
    "sub(channel)"};

INSTANTIATE_TEST_SUITE_P(OddShapes, ConvMmaTest,
                         ::testing::Combine(::testing::ValuesIn(kOddShapes),
                                            ::testing::Values(Precision::tf32, Precision::tf32x3)));

// The warpgroup-MMA k-loop (WGMMA, sm_90a) beyond what the covering subsets above take of
// it: the widest, a middle and the narrowest of its configurations (conv_wgmma_configs.h),
// 8 to 128 channels, on the same shapes.
class ConvWgmmaTest : public ConvMmaTest {};

TEST_P(ConvWgmmaTest, WarpgroupConfigurationsMatchTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.limits.arch != "sm_90") GTEST_SKIP() << "warpgroup MMA runs on sm_90";
  const auto& [text, precision] = GetParam();
  const Spec spec = parse_spec(text);
  const std::vector<Candidate> all = conv_wgmma_candidates(spec, device.limits, precision);
  ASSERT_FALSE(all.empty());
  std::vector<Candidate> candidates = {all.front(), all[all.size() / 2], all.back()};
  if (all.size() < 3) candidates = all;
  expect_candidates_match_reference(spec, precision, candidates, device);
}

// The odd shapes, but kPoolOfPhases's 12 pooled positions take no warpgroup tile (64 rows at
// least, which the family refuses for fewer than 32): its pool windows on a larger image.
std::vector<const char*> wgmma_shapes() {
  std::vector<const char*> shapes;
  for (const char* text : kOddShapes)
    shapes.push_back(text != kPoolOfPhases
                         ? text
                         : "conv_transpose2d(n=2, c=4, h=17, w=18, k=6, kernel=3, "
                           "stride=2) -> relu -> max_pool2d(4)");
  return shapes;
}

INSTANTIATE_TEST_SUITE_P(OddShapes, ConvWgmmaTest,
                         ::testing::Combine(::testing::ValuesIn(wgmma_shapes()),
                                            ::testing::Values(Precision::tf32, Precision::tf32x3)));

}  // namespace
}  // namespace fusetune
