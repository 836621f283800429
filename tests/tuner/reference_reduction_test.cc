// The fp64 reference of reductions and normalizations on values worked out by hand: which
// elements each op combines, PyTorch's formulas (biased variance in the output, unbiased in
// batch_norm's running variance), the weight and bias, the ops after a reduction, and the order
// in which the reference reads operand tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "generator/spec_parser.h"
#include "tests/expect_error.h"
#include "tuner/reference_epilogue.h"

namespace fusetune {
namespace {

// Operand tensors by their Spec::tensors() index, and the order in which they were read.
struct Operands {
  std::map<std::size_t, std::vector<float>> tensors;
  std::vector<std::size_t> read;

  TensorValues reader() {
    return [this](std::size_t i) {
      read.push_back(i);
      return tensors.at(i);
    };
  }
};

using Values = std::vector<double>;
using Reads = std::vector<std::size_t>;

// Equal to within 4 ulps: the reference and the test's formulas may round differently.
void expect_values(const Values& actual, const Values& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_DOUBLE_EQ(actual[i], expected[i]) << i;
}

// Equal to within `tolerance`, for results that go through exp and log of large arguments.
void expect_near(const Values& actual, const Values& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], tolerance) << i;
}

Values output(const std::string& text, const Values& main, Operands operands = {}) {
  return reference_epilogue(parse_spec(text), main, operands.reader());
}

// A GEMM's [2, 3] value:  3 -1  2
//                         -5  4  0
const std::string kGemm = "linear(m=2, n=3, k=1)";
const Values kGemmValue{3, -1, 2, -5, 4, 0};

TEST(ReferenceReduction, SumAndMeanAlongRowsColumnsOrBoth) {
  EXPECT_EQ(output(kGemm + " -> sum(dim=1)", kGemmValue), (Values{4, -1}));
  EXPECT_EQ(output(kGemm + " -> sum(dim=0)", kGemmValue), (Values{-2, 3, 2}));
  EXPECT_EQ(output(kGemm + " -> sum(dim=(0, 1))", kGemmValue), (Values{3}));
  EXPECT_EQ(output(kGemm + " -> sum(dim=-1, keepdim=true)", kGemmValue), (Values{4, -1}));
  expect_values(output(kGemm + " -> mean(dim=1)", kGemmValue), {4.0 / 3, -1.0 / 3});
  EXPECT_EQ(output(kGemm + " -> mean(dim=0, keepdim=true)", kGemmValue), (Values{-1, 1.5, 1}));
}

TEST(ReferenceReduction, AmaxAndAminAlongRowsOrColumns) {
  EXPECT_EQ(output(kGemm + " -> amax(dim=1)", kGemmValue), (Values{3, 4}));
  EXPECT_EQ(output(kGemm + " -> max(dim=0)", kGemmValue), (Values{3, 4, 2}));
  EXPECT_EQ(output(kGemm + " -> amin(dim=1, keepdim=true)", kGemmValue), (Values{-1, -5}));
  EXPECT_EQ(output(kGemm + " -> min(dim=0)", kGemmValue), (Values{-5, -1, 0}));
  EXPECT_EQ(output(kGemm + " -> amax(dim=(0, 1))", kGemmValue), (Values{4}));
}

TEST(ReferenceReduction, AmaxAndAminPropagateNaNAsTorchDoes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Values value{1, nan, 3, -5, 4, 0};
  const Values max = output(kGemm + " -> amax(dim=1)", value);
  ASSERT_EQ(max.size(), 2u);
  EXPECT_TRUE(std::isnan(max[0]));
  EXPECT_EQ(max[1], 4);
  const Values min = output(kGemm + " -> amin(dim=0)", value);
  ASSERT_EQ(min.size(), 3u);
  EXPECT_EQ(min[0], -5);
  EXPECT_TRUE(std::isnan(min[1]));
  EXPECT_EQ(min[2], 0);
}

TEST(ReferenceReduction, LogsumexpIsLogOfSumOfExpWithoutOverflow) {
  expect_values(output(kGemm + " -> logsumexp(dim=1)", kGemmValue),
                {std::log(std::exp(3) + std::exp(-1) + std::exp(2)),
                 std::log(std::exp(-5) + std::exp(4) + std::exp(0))});
  expect_values(output(kGemm + " -> logsumexp(dim=0, keepdim=true)", kGemmValue),
                {std::log(std::exp(3) + std::exp(-5)), std::log(std::exp(-1) + std::exp(4)),
                 std::log(std::exp(2) + std::exp(0))});
  // exp(1000) overflows a double; the answer does not.
  const double tail = std::log(1 + std::exp(-1) + std::exp(-2));
  expect_values(output(kGemm + " -> logsumexp(dim=1)", {1000, 999, 998, -1000, -1001, -1002}),
                {1000 + tail, -1000 + tail});
}

// [2, 3, 1, 2]: element (n, c, p) at n·6 + c·2 + p; channels are 2 apart.
const std::string kChannels = "conv2d(n=2, c=1, h=1, w=2, k=3, kernel=1)";
const Values kChannelsValue{0.5, -1, 2, 0, 1.5, 3, -2, 1, 0.25, -0.5, 4, 2};

TEST(ReferenceReduction, SoftmaxAndLogSoftmaxRunAlongTheChannelsOfAConvValue) {
  Values softmax(12), log_softmax(12);
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 2; ++p) {
      double sum = 0;
      for (int c = 0; c < 3; ++c) sum += std::exp(kChannelsValue[n * 6 + c * 2 + p]);
      for (int c = 0; c < 3; ++c) {
        const int i = n * 6 + c * 2 + p;
        softmax[i] = std::exp(kChannelsValue[i]) / sum;
        log_softmax[i] = kChannelsValue[i] - std::log(sum);
      }
    }
  expect_values(output(kChannels + " -> softmax(dim=1)", kChannelsValue), softmax);
  expect_values(output(kChannels + " -> log_softmax(dim=-3)", kChannelsValue), log_softmax);
  // Along the positions instead: each pair (n, c) of neighbours.
  const Values pairs = output(kChannels + " -> softmax(dim=3)", kChannelsValue);
  ASSERT_EQ(pairs.size(), 12u);
  for (int i = 0; i < 12; i += 2) {
    const double a = kChannelsValue[i], b = kChannelsValue[i + 1];
    EXPECT_DOUBLE_EQ(pairs[i], std::exp(a) / (std::exp(a) + std::exp(b))) << i;
    EXPECT_DOUBLE_EQ(pairs[i] + pairs[i + 1], 1.0) << i;
  }
}

TEST(ReferenceReduction, SoftmaxOfLargeValuesDoesNotOverflow) {
  // exp(1000) is infinite in fp64; the reference subtracts the group's largest value first.
  expect_near(output(kGemm + " -> softmax(dim=1)", {1000, 1000, 1000, 0, 0, 0}),
              {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
}

// [1, 2, 2, 2]: channel 0 holds 3 5 3 5 (mean 4, variance 1), channel 1 holds 0 0 4 4 (mean 2,
// variance 4): both standardize to ±1 with eps = 0.
const std::string kPlanes = "conv2d(n=1, c=1, h=2, w=2, k=2, kernel=1)";
const Values kPlanesValue{3, 5, 3, 5, 0, 0, 4, 4};

TEST(ReferenceReduction, LayerNormStandardizesTheTrailingDimsThenAppliesWeightAndBias) {
  Operands operands;
  operands.tensors[2] = {1, 2, 3, 4};      // layer_norm_weight [2, 2]
  operands.tensors[3] = {10, 20, 30, 40};  // layer_norm_bias [2, 2]
  const Spec spec = parse_spec(kPlanes + " -> layer_norm(normalized_shape=(2, 2), eps=0.0)");
  EXPECT_EQ(reference_epilogue(spec, kPlanesValue, operands.reader()),
            (Values{-1 * 1 + 10, 1 * 2 + 20, -1 * 3 + 30, 1 * 4 + 40,  //
                    -1 * 1 + 10, -1 * 2 + 20, 1 * 3 + 30, 1 * 4 + 40}));
  EXPECT_EQ(operands.read, (Reads{2, 3}));
}

TEST(ReferenceReduction, LayerNormAddsEpsToTheBiasedVariance) {
  // Variance 1 + eps 3: a standard deviation of 2.
  EXPECT_EQ(output("linear(m=1, n=4, k=1) -> layer_norm(eps=3.0, elementwise_affine=false)",
                   {3, 5, 3, 5}),
            (Values{-0.5, 0.5, -0.5, 0.5}));
  const double scale = 1 / std::sqrt(1 + 1e-5);
  expect_values(output("linear(m=1, n=4, k=1) -> layer_norm(affine=false)", {3, 5, 3, 5}),
                {-scale, scale, -scale, scale});
}

TEST(ReferenceReduction, RmsNormDividesByTheRootMeanSquareThenAppliesItsWeight) {
  // Rows 1 7 (mean square 25) and -3 3 (mean square 9).
  Operands operands;
  operands.tensors[2] = {2, 3};  // rms_norm_weight [2]
  expect_values(reference_epilogue(parse_spec("linear(m=2, n=2, k=1) -> rms_norm(eps=0.0)"),
                                   {1, 7, -3, 3}, operands.reader()),
                {1.0 / 5 * 2, 7.0 / 5 * 3, -3.0 / 3 * 2, 3.0 / 3 * 3});
  EXPECT_EQ(operands.read, (Reads{2}));  // no bias
  // eps defaults to fp32's machine epsilon, inside the root.
  const double scale = 1 / std::sqrt(25 + 0x1p-23);
  expect_values(output("linear(m=1, n=2, k=1) -> rms_norm(affine=false)", {1, 7}),
                {1 * scale, 7 * scale});
  // Over a [2, 2] normalized shape: the mean square of 1 1 1 5 is 7; eps 2 makes it 9.
  expect_values(
      output(kPlanes + " -> rms_norm((2, 2), eps=2.0, affine=false)", {1, 1, 1, 5, 0, 0, 0, 6}),
      {1.0 / 3, 1.0 / 3, 1.0 / 3, 5.0 / 3, 0, 0, 0, 6 / std::sqrt(9.0 + 2)});
}

TEST(ReferenceReduction, GroupNormStandardizesGroupsOfChannelsInEachSample) {
  // [2, 4, 1, 2], two groups of two channels. Sample 0: 3 5 3 5 | 0 0 4 4. Sample 1, other
  // statistics, the same standardized values: 10 30 10 30 | -1 -1 1 1.
  Operands operands;
  operands.tensors[2] = {1, 2, 3, 4};      // group_norm_weight [4]
  operands.tensors[3] = {10, 20, 30, 40};  // group_norm_bias [4]
  const Spec spec =
      parse_spec("conv2d(n=2, c=1, h=1, w=2, k=4, kernel=1) -> group_norm(2, eps=0.0)");
  const Values sample{-1 * 1 + 10, 1 * 1 + 10,  -1 * 2 + 20, 1 * 2 + 20,
                      -1 * 3 + 30, -1 * 3 + 30, 1 * 4 + 40,  1 * 4 + 40};
  Values expected = sample;
  expected.insert(expected.end(), sample.begin(), sample.end());
  EXPECT_EQ(reference_epilogue(spec, {3, 5, 3, 5, 0, 0, 4, 4, 10, 30, 10, 30, -1, -1, 1, 1},
                               operands.reader()),
            expected);
  EXPECT_EQ(operands.read, (Reads{2, 3}));
}

TEST(ReferenceReduction, InstanceNormStandardizesEachChannelOfEachSample) {
  // [2, 2, 2, 2]. Sample 1: -2 2 -2 2 (mean 0, variance 4) and 7 9 9 7 (mean 8, variance 1).
  const std::string conv = "conv2d(n=2, c=1, h=2, w=2, k=2, kernel=1)";
  const Values value{3, 5, 3, 5, 0, 0, 4, 4, -2, 2, -2, 2, 7, 9, 9, 7};
  Operands none;
  EXPECT_EQ(
      reference_epilogue(parse_spec(conv + " -> instance_norm(eps=0.0)"), value, none.reader()),
      (Values{-1, 1, -1, 1, -1, -1, 1, 1, -1, 1, -1, 1, -1, 1, 1, -1}));
  EXPECT_EQ(none.read, (Reads{}));
  Operands affine;
  affine.tensors[2] = {2, 3};    // instance_norm_weight [2]
  affine.tensors[3] = {10, 20};  // instance_norm_bias [2]
  EXPECT_EQ(reference_epilogue(parse_spec(conv + " -> instance_norm(eps=0.0, affine=true)"), value,
                               affine.reader()),
            (Values{8, 12, 8, 12, 17, 17, 23, 23, 8, 12, 8, 12, 17, 23, 23, 17}));
}

// [2, 2, 1, 2]: channel 0 holds 3 5 (sample 0) and 3 5 (sample 1): mean 4, variance 1, unbiased
// 4/3; channel 1 holds 0 0 and 4 4: mean 2, variance 4, unbiased 16/3.
const std::string kBatch = "conv2d(n=2, c=1, h=1, w=2, k=2, kernel=1)";
const Values kBatchValue{3, 5, 0, 0, 3, 5, 4, 4};

TEST(ReferenceReduction, BatchNormInTrainingUsesTheBatchAndUpdatesTheRunningStatistics) {
  Operands operands;
  operands.tensors[2] = {1, 2};    // batch_norm_running_mean [2]
  operands.tensors[3] = {1, 1};    // batch_norm_running_var [2]
  operands.tensors[4] = {2, 3};    // batch_norm_weight [2]
  operands.tensors[5] = {10, 20};  // batch_norm_bias [2]
  const ChainReference result = reference_chain(
      parse_spec(kBatch + " -> batch_norm(eps=0.0, momentum=0.5)"), kBatchValue, operands.reader());
  EXPECT_EQ(result.output, (Values{-1 * 2 + 10, 1 * 2 + 10, -1 * 3 + 20, -1 * 3 + 20,  //
                                   -1 * 2 + 10, 1 * 2 + 10, 1 * 3 + 20, 1 * 3 + 20}));
  EXPECT_EQ(operands.read, (Reads{2, 3, 4, 5}));
  ASSERT_EQ(result.updated.size(), 2u);
  ASSERT_TRUE(result.updated.count(2) && result.updated.count(3));
  // running = (1 - momentum)·running + momentum·batch, the batch's variance unbiased.
  expect_values(result.updated.at(2), {0.5 * 1 + 0.5 * 4, 0.5 * 2 + 0.5 * 2});
  expect_values(result.updated.at(3), {0.5 * 1 + 0.5 * 4 / 3, 0.5 * 1 + 0.5 * 16 / 3});
}

TEST(ReferenceReduction, BatchNormsDefaultMomentumIsOneTenth) {
  Operands operands;
  operands.tensors[2] = {1, 2};
  operands.tensors[3] = {1, 1};
  const ChainReference result = reference_chain(parse_spec(kBatch + " -> batch_norm(affine=false)"),
                                                kBatchValue, operands.reader());
  const double scale = 1 / std::sqrt(1 + 1e-5), scale1 = 1 / std::sqrt(4 + 1e-5);
  expect_values(result.output,
                {-scale, scale, -2 * scale1, -2 * scale1, -scale, scale, 2 * scale1, 2 * scale1});
  expect_values(result.updated.at(2), {0.9 * 1 + 0.1 * 4, 0.9 * 2 + 0.1 * 2});
  expect_values(result.updated.at(3), {0.9 * 1 + 0.1 * 4 / 3, 0.9 * 1 + 0.1 * 16 / 3});
}

TEST(ReferenceReduction, BatchNormInEvalUsesTheRunningStatisticsAndUpdatesNothing) {
  Operands operands;
  operands.tensors[2] = {1, 2};    // running mean
  operands.tensors[3] = {3, 15};   // running variance: + eps 1 gives deviations 2 and 4
  operands.tensors[4] = {2, 3};    // weight
  operands.tensors[5] = {10, 20};  // bias
  const ChainReference result =
      reference_chain(parse_spec(kBatch + " -> batch_norm(eps=1.0, training=false)"), kBatchValue,
                      operands.reader());
  // Channel 0: (x - 1) / 2 · 2 + 10; channel 1: (x - 2) / 4 · 3 + 20.
  EXPECT_EQ(result.output, (Values{12, 14, 18.5, 18.5, 12, 14, 21.5, 21.5}));
  EXPECT_EQ(operands.read, (Reads{2, 3, 4, 5}));
  EXPECT_TRUE(result.updated.empty());
}

TEST(ReferenceReduction, BatchNormWithoutRunningStatisticsReadsAndUpdatesNone) {
  Operands operands;
  const ChainReference result = reference_chain(
      parse_spec(kBatch + " -> batch_norm(eps=0.0, affine=false, track_running_stats=false)"),
      kBatchValue, operands.reader());
  EXPECT_EQ(result.output, (Values{-1, 1, -1, -1, -1, 1, 1, 1}));
  EXPECT_EQ(operands.read, (Reads{}));
  EXPECT_TRUE(result.updated.empty());
}

TEST(ReferenceReduction, BatchNormOfAGemmValueNormalizesEachColumn) {
  // [2, 3] as BatchNorm1d's [N, C]: columns 3 -5, -1 4, 2 0.
  const Values out = output(kGemm +
                                " -> batch_norm(eps=0.0, affine=false, "
                                "track_running_stats=false)",
                            kGemmValue);
  expect_values(out, {1, -1, 1, -1, 1, -1});
}

TEST(ReferenceReduction, OpsAfterAReductionSeeTheReducedValue) {
  // Row sums 4 and -1, halved, through sigmoid, plus a tensor of the reduced shape [2].
  Operands operands;
  operands.tensors[2] = {10, 20};  // add_tensor [2]
  expect_values(
      reference_epilogue(parse_spec(kGemm + " -> sum(dim=1) -> mul(0.5) -> sigmoid -> add(tensor)"),
                         kGemmValue, operands.reader()),
      {1 / (1 + std::exp(-2.0)) + 10, 1 / (1 + std::exp(0.5)) + 20});
  EXPECT_EQ(operands.read, (Reads{2}));

  // Plane sums kept as [1, 2, 1, 1], then a channel vector: 16 · 10 and 8 · 100.
  Operands channel;
  channel.tensors[2] = {10, 100};  // mul_channel [2, 1, 1]
  EXPECT_EQ(
      reference_epilogue(parse_spec(kPlanes + " -> sum(dim=(2, 3), keepdim=true) -> mul(channel)"),
                         kPlanesValue, channel.reader()),
      (Values{160, 800}));

  // A bias before the reduction is per column; the reduction sees it: rows 4 1 5 and -4 6 3.
  Operands bias;
  bias.tensors[2] = {1, 2, 3};
  EXPECT_EQ(reference_epilogue(parse_spec(kGemm + " -> bias -> amax(dim=1) -> relu"), kGemmValue,
                               bias.reader()),
            (Values{5, 6}));
}

TEST(ReferenceReduction, ReductionsFollowOneAnother) {
  // Means over positions (4 and 2), then their softmax over the channels, then the sum of that.
  const double e4 = std::exp(4.0), e2 = std::exp(2.0);
  expect_values(output(kPlanes + " -> mean(dim=(2, 3)) -> softmax(dim=1)", kPlanesValue),
                {e4 / (e4 + e2), e2 / (e4 + e2)});
  expect_values(
      output(kPlanes + " -> mean(dim=(2, 3)) -> softmax(dim=1) -> sum(dim=1)", kPlanesValue), {1});
  // The mean over positions kept as 1s is the global average pool.
  EXPECT_EQ(output(kPlanes + " -> mean(dim=(2, 3), keepdim=true)", kPlanesValue),
            output(kPlanes + " -> global_avg_pool", kPlanesValue));
}

TEST(ReferenceReduction, TwoPoolsInARowPoolWhatTheFirstLeft) {
  // [1, 2, 4, 4] holding 0 ... 31: 2x2 maxima 5 7 13 15 (and 16 more in channel 1), averaged.
  const std::string conv = "conv2d(n=1, c=1, h=4, w=4, k=2, kernel=1)";
  Values counting(32);
  for (int i = 0; i < 32; ++i) counting[i] = i;
  EXPECT_EQ(output(conv + " -> max_pool2d(2)", counting), (Values{5, 7, 13, 15, 21, 23, 29, 31}));
  EXPECT_EQ(output(conv + " -> max_pool2d(2) -> avg_pool2d(2)", counting), (Values{10, 26}));
  EXPECT_EQ(output(conv + " -> max_pool2d(2) -> avg_pool2d(2) -> sum(dim=1)", counting),
            (Values{36}));
  EXPECT_EQ(output(conv + " -> avg_pool2d(2) -> max_pool2d(2)", counting), (Values{12.5, 28.5}));
}

TEST(ReferenceReduction, OperandsAreReadOnceEachInTheSpecsTensorOrder) {
  const Spec spec = parse_spec(kBatch +
                               " -> bias -> batch_norm(training=false) -> mul(channel) -> "
                               "group_norm(2) -> layer_norm((1, 2)) -> rms_norm -> add(tensor)");
  const std::vector<TensorArg> tensors = spec.tensors();
  ASSERT_EQ(tensors.size(), 14u);
  Operands operands;
  for (std::size_t i = 2; i < tensors.size(); ++i) {
    std::size_t size = 1;
    for (std::int64_t d : tensors[i].shape) size *= static_cast<std::size_t>(d);
    operands.tensors[i] = std::vector<float>(size, 1.0f);
  }
  const Values out = reference_epilogue(spec, kBatchValue, operands.reader());
  EXPECT_EQ(out.size(), 8u);
  EXPECT_EQ(operands.read, (Reads{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
}

TEST(ReferenceReduction, AnOperandOfTheWrongSizeIsAnInternalError) {
  const Spec spec = parse_spec(kPlanes + " -> layer_norm((2, 2))");
  Operands operands;
  operands.tensors[2] = {1, 2};  // the weight needs 4 values
  operands.tensors[3] = {1, 2, 3, 4};
  const std::optional<Error> error =
      error_of([&] { reference_epilogue(spec, kPlanesValue, operands.reader()); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::internal);
}

}  // namespace
}  // namespace fusetune
