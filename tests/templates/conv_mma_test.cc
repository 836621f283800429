// The implicit-GEMM tensor-core convolution template against the fp64 reference, on the GPU, at
// TF32 and 3xTF32: for each problem, a subset of its search space in which every value of every
// tunable appears, plus the default, each launched twice on fresh random inputs with the output
// poisoned first. The problems are odd on purpose: positions, channels and K = C/groups·taps that
// divide no tile, stride 2, padding, dilation 2, groups 2, 3-d, 1x1 kernels (a stage deeper than
// the taps), several channel tiles per group, and an odd K (weights copied 4 bytes at a time).
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"

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

INSTANTIATE_TEST_SUITE_P(
    OddShapes, ConvMmaTest,
    ::testing::Combine(
        ::testing::Values(
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
            "padding=1, dilation=(2, 1, 2), groups=2) -> add(tensor) -> gelu"),
        ::testing::Values(Precision::tf32, Precision::tf32x3)));

}  // namespace
}  // namespace fusetune
