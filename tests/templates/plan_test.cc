// Plans against the fp64 reference, on the GPU: specs whose chains reduce or normalize (or pool
// twice), each run by the default kernel and the best predicted of every family at each
// precision that has one, twice on fresh random inputs with the output poisoned first. The
// shapes are awkward on purpose: N a multiple of no tile, one row, one group, groups of one
// channel, odd spatial sizes, keepdim on and off, groups split over many blocks in both layouts
// (a block per group and a thread per group), and batch_norm's running statistics, which the
// reference checks too.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"

namespace fusetune {
namespace {

struct PlanCase {
  const char* spec;
  std::vector<Precision> precisions;
};

class PlanTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanTest, DefaultAndBestPredictedMatchTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const Spec spec = parse_spec(GetParam().spec);
  for (Precision precision : GetParam().precisions) {
    SCOPED_TRACE(std::string(to_string(precision)));
    std::vector<Candidate> candidates =
        best_predicted(search_space(spec, device.limits, precision), 4);
    candidates.push_back(default_candidate(spec, device.limits, precision));
    expect_candidates_match_reference(spec, precision, candidates, device);
  }
}

// Direct convolutions whose threads hold every channel normalize them in the main kernel's
// epilogue (a softmax, then a relu), leaving only the pool to a finishing kernel.
TEST(PlanChannels, ConfigurationsHoldingEveryChannelMatchTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  for (const char* text :
       {"conv3d(n=2, c=3, d=6, h=7, w=9, k=5, kernel=3) -> bias -> softmax(dim=1) -> relu -> "
        "max_pool3d(2)",
        "conv_transpose2d(n=2, c=4, h=5, w=6, k=16, kernel=3, stride=2) -> bias -> "
        "log_softmax(dim=1) -> mul(channel)"}) {
    SCOPED_TRACE(text);
    const Spec spec = parse_spec(text);
    std::vector<Candidate> holding;
    for (const Candidate& c : search_space(spec, device.limits, Precision::fp32)) {
      const ConvSimtConfig& config = std::get<ConvSimtConfig>(c.config);
      if (config.co_block == config.co_thread && config.co_thread >= spec.main.conv.out_channels)
        holding.push_back(c);
    }
    ASSERT_FALSE(holding.empty());
    expect_candidates_match_reference(spec, Precision::fp32, covering_subset(holding), device);
  }
}

constexpr Precision kFp32 = Precision::fp32;
constexpr Precision k3xTf32 = Precision::tf32x3;
constexpr Precision kTf32 = Precision::tf32;

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, PlanTest,
    ::testing::Values(
        PlanCase{"linear(m=37, n=100, k=40) -> bias -> softmax(dim=1)", {kFp32, k3xTf32, kTf32}},
        // One row; the rows' logsumexp, then an op on it.
        PlanCase{"linear(m=1, n=300, k=64) -> bias -> logsumexp(dim=1) -> mul(0.5)",
                 {kFp32, k3xTf32}},
        PlanCase{"linear(m=50, n=96, k=33) -> bias -> layer_norm(96) -> gelu", {kFp32, k3xTf32}},
        PlanCase{"linear(m=45, n=64, k=48) -> bias -> group_norm(8) -> relu", {kFp32, k3xTf32}},
        // Groups of one channel: every output is the group's bias.
        PlanCase{"linear(m=9, n=24, k=8) -> bias -> group_norm(24)", {kFp32}},
        PlanCase{"linear(m=21, n=130, k=16) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid",
                 {kFp32, k3xTf32}},
        // batch_norm over the rows of a linear layer (BatchNorm1d), running statistics updated.
        PlanCase{"linear(m=70, n=48, k=24) -> bias -> batch_norm -> tanh", {kFp32}},
        PlanCase{"matmul(m=33, n=40, k=20, transpose_a=true) -> log_softmax(dim=0)", {kFp32}},
        PlanCase{"linear(m=16, n=2304, k=32) -> rms_norm(2304) -> amax(dim=1, keepdim=true) -> "
                 "add(tensor)",
                 {kFp32}},
        // Groups held in registers: a thread's (channels), a block's (4000 columns), and
        // batch_norm's 24 rows, whose running statistics the group's first thread updates.
        PlanCase{"conv2d(n=2, c=3, h=7, w=9, k=6, kernel=3) -> bias -> softmax(dim=1) -> relu",
                 {kFp32, k3xTf32}},
        PlanCase{"linear(m=5, n=4000, k=16) -> bias -> layer_norm -> gelu", {kFp32, k3xTf32}},
        PlanCase{"linear(m=24, n=40, k=8) -> batch_norm(momentum=0.2) -> relu", {kFp32}},
        // A block per group, the group split over many blocks; in place in the output.
        PlanCase{"linear(m=4, n=70000, k=8) -> softmax(dim=1)", {kFp32}},
        // A thread per group, each group split over many blocks.
        PlanCase{"linear(m=5000, n=3, k=8) -> softmax(dim=0)", {kFp32}},
        PlanCase{"linear(m=37, n=100, k=64, dtype=bf16) -> bias -> softmax(dim=1)",
                 {Precision::bf16}},
        PlanCase{"conv2d(n=2, c=3, h=9, w=11, k=8, kernel=3) -> bias -> group_norm(4) -> silu",
                 {kFp32, k3xTf32}},
        PlanCase{"conv2d(n=3, c=4, h=7, w=5, k=6, kernel=3, padding=1) -> bias -> group_norm(1)",
                 {kFp32}},
        PlanCase{"conv2d(n=2, c=4, h=6, w=5, k=6, kernel=3) -> bias -> group_norm(6)", {kFp32}},
        PlanCase{"conv_transpose3d(n=2, c=4, d=3, h=5, w=6, k=8, kernel=3, stride=2, padding=1, "
                 "output_padding=1) -> bias -> batch_norm -> leaky_relu(0.2) -> max_pool3d(2)",
                 {kFp32}},
        PlanCase{"conv3d(n=2, c=3, d=6, h=7, w=9, k=5, kernel=(1, 2, 3)) -> bias -> "
                 "softmax(dim=1) -> max_pool3d(2) -> max_pool3d(2)",
                 {kFp32, k3xTf32}},
        PlanCase{"conv2d(n=2, c=3, h=10, w=13, k=4, kernel=3) -> bias -> instance_norm -> "
                 "div(2.0)",
                 {kFp32, k3xTf32}},
        PlanCase{"conv_transpose2d(n=2, c=4, h=5, w=6, k=6, kernel=3, stride=2) -> bias -> "
                 "max_pool2d(2) -> hardtanh -> mean(dim=(2, 3), keepdim=true) -> tanh",
                 {kFp32}},
        PlanCase{"conv2d(n=2, c=4, h=9, w=9, k=8, kernel=3) -> bias -> batch_norm(training=false) "
                 "-> avg_pool2d(3, stride=2, padding=1) -> global_avg_pool -> logsumexp(dim=1)",
                 {kFp32, k3xTf32}},
        PlanCase{"conv2d(n=2, c=3, h=6, w=7, k=5, kernel=3) -> sum(dim=(1, 3)) -> amin(dim=1)",
                 {kFp32}},
        // batch_norm's groups split over blocks, a block per group.
        PlanCase{"conv2d(n=4, c=3, h=40, w=40, k=6, kernel=3) -> batch_norm(momentum=0.3) -> relu",
                 {kFp32, k3xTf32}},
        // Pools in a row with no reduction: a plan for every family but the direct one's first
        // pool.
        PlanCase{"conv2d(n=2, c=3, h=12, w=13, k=4, kernel=3) -> relu -> max_pool2d(2) -> "
                 "avg_pool2d(2, stride=1) -> mul(channel)",
                 {kFp32, k3xTf32}}),
    [](const ::testing::TestParamInfo<PlanCase>& info) {
      return "case" + std::to_string(info.index);
    });

}  // namespace
}  // namespace fusetune
