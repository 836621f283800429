// The direct-convolution template against the fp64 reference, on the GPU: for each problem, a
// subset of its search space in which every value of every tunable appears, plus the default,
// each launched twice on fresh random inputs with the output poisoned first. The problems are
// odd on purpose: sizes that divide no tile, padding, stride, dilation 2, groups 2,
// output_padding 1, pooling windows that do not divide the output and windows that overlap.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"

namespace fusetune {
namespace {

class ConvTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ConvTest, EveryTunableValueMatchesTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const Spec spec = parse_spec(GetParam());
  std::vector<Candidate> candidates =
      covering_subset(search_space(spec, device.limits, Precision::fp32));
  candidates.push_back(default_candidate(spec, device.limits, Precision::fp32));

  expect_candidates_match_reference(spec, Precision::fp32, candidates, device);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, ConvTest,
    ::testing::Values(
        // Stride, padding, dilation 2 and groups 2 on sizes that divide no tile.
        "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, dilation=2, groups=2) "
        "-> bias -> relu -> add(channel)",
        "conv2d(n=3, c=8, h=33, w=35, k=12, kernel=3) -> bias -> relu -> hardswish",
        // Pooling windows that do not divide the output (7 -> 3 along d), a residual before it.
        "conv3d(n=2, c=4, d=7, h=9, w=11, k=6, kernel=(3, 3, 2), padding=1) -> add(tensor) -> "
        "max_pool3d(2)",
        // The seed problem's chain, small: output phases pooled, output_padding 1.
        "conv_transpose3d(n=2, c=5, d=5, h=7, w=9, k=6, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
        "max_pool3d(2)",
        // The main op's value reused, without pooling: every phase stored.
        "conv_transpose3d(n=2, c=4, d=4, h=5, w=6, k=8, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)",
        "conv_transpose2d(n=2, c=6, h=9, w=10, k=4, kernel=3, stride=2, padding=1, dilation=2, "
        "groups=2, output_padding=1) -> sigmoid",
        "conv_transpose2d(n=2, c=3, h=11, w=13, k=5, kernel=4, padding=2) -> tanh",
        // Average pooling with padding (count_include_pad), ops after the pool.
        "conv2d(n=2, c=3, h=17, w=15, k=5, kernel=3, padding=1) -> relu -> avg_pool2d(3, "
        "stride=2, padding=1) -> mul(2.0) -> add(tensor)",
        // Global average pooling: blocks add up through the workspace, ops after it.
        "conv2d(n=3, c=5, h=13, w=17, k=12, kernel=3, padding=1) -> relu -> global_avg_pool -> "
        "mul(2.0) -> add(channel)",
        "conv_transpose3d(n=2, c=4, d=3, h=5, w=6, k=8, kernel=3, stride=2) -> global_avg_pool "
        "-> sigmoid",
        // Overlapping windows with padding.
        "conv2d(n=1, c=4, h=20, w=21, k=8, kernel=3) -> max_pool2d(3, stride=2, padding=1) -> "
        "sub(channel)"));

}  // namespace
}  // namespace fusetune
