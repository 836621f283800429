// The host half of the fp64 reference on values worked out by hand: which operand value each
// element reads, what `main` is, and PyTorch's pooling (padding ignored by max, counted by avg,
// windows per dimension, global average), with ops before and after the pool.
#include "tuner/reference_epilogue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "generator/spec_parser.h"
#include "tests/expect_error.h"

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

// first, first + 1, first + 2, ...
std::vector<double> counting(std::size_t count, double first = 0) {
  std::vector<double> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = first + static_cast<double>(i);
  return values;
}

TEST(ReferenceEpilogue, MaxPoolIgnoresPaddingWhereAvgPoolCountsIt) {
  // A 4x4 plane, windows of 3 at stride 2 from -1: rows {0, 1} and {1, 2, 3}, columns alike.
  const Spec max =
      parse_spec("conv2d(n=1, c=1, h=6, w=6, k=1, kernel=3) -> max_pool2d(3, stride=2, padding=1)");
  ASSERT_EQ(max.output_shape(), (std::vector<std::int64_t>{1, 1, 2, 2}));
  std::vector<double> negative = counting(16, 1);
  for (double& v : negative) v = -v;  // a padded zero would win every window
  EXPECT_EQ(reference_epilogue(max, negative, Operands{}.reader()),
            (std::vector<double>{-1, -2, -5, -6}));

  // count_include_pad=True: every window divides by 9, the padded positions it covers included.
  const Spec avg =
      parse_spec("conv2d(n=1, c=1, h=6, w=6, k=1, kernel=3) -> avg_pool2d(3, stride=2, padding=1)");
  const std::vector<double> out = reference_epilogue(avg, counting(16, 1), Operands{}.reader());
  const std::vector<double> expected{(1 + 2 + 5 + 6) / 9.0, (2 + 3 + 4 + 6 + 7 + 8) / 9.0,
                                     (5 + 6 + 9 + 10 + 13 + 14) / 9.0,
                                     (6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16) / 9.0};
  ASSERT_EQ(out.size(), expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_DOUBLE_EQ(out[i], expected[i]) << i;
}

TEST(ReferenceEpilogue, Pool3dWindowsFollowTheirDimensionsInEveryChannel) {
  // value = index in [1, 2, 4, 4, 4]; a window (2, 1, 2) at (od, oh, ow) has its largest element
  // at d = 2·od + 1, h = oh, w = 2·ow + 1.
  const Spec spec =
      parse_spec("conv3d(n=1, c=1, d=4, h=4, w=4, k=2, kernel=1) -> max_pool3d((2, 1, 2))");
  ASSERT_EQ(spec.output_shape(), (std::vector<std::int64_t>{1, 2, 2, 4, 2}));
  const std::vector<double> out = reference_epilogue(spec, counting(128), Operands{}.reader());
  std::vector<double> expected;
  for (int k = 0; k < 2; ++k)
    for (int od = 0; od < 2; ++od)
      for (int oh = 0; oh < 4; ++oh)
        for (int ow = 0; ow < 2; ++ow)
          expected.push_back(k * 64 + (2 * od + 1) * 16 + oh * 4 + 2 * ow + 1);
  EXPECT_EQ(out, expected);
}

TEST(ReferenceEpilogue, GlobalAvgPoolThenOpsOnThePooledValue) {
  // [2, 2, 2, 2] holding -5 ... 10: each (n, k) plane is four consecutive values.
  const Spec spec = parse_spec(
      "conv2d(n=2, c=1, h=3, w=3, k=2, kernel=2) -> relu -> global_avg_pool -> mul(channel) -> "
      "add(tensor)");
  ASSERT_EQ(spec.output_shape(), (std::vector<std::int64_t>{2, 2, 1, 1}));
  Operands operands;
  operands.tensors[2] = {10, 100};     // mul_channel [2, 1, 1]
  operands.tensors[3] = {1, 2, 3, 4};  // add_tensor [2, 2, 1, 1], pooled shape
  const std::vector<double> out = reference_epilogue(spec, counting(16, -5), operands.reader());
  // Means after relu: (0 0 0 0), (0 0 1 2), (3 4 5 6), (7 8 9 10).
  EXPECT_EQ(out, (std::vector<double>{0 * 10 + 1, 0.75 * 100 + 2, 4.5 * 10 + 3, 8.5 * 100 + 4}));
  EXPECT_EQ(operands.read, (std::vector<std::size_t>{2, 3}));
}

TEST(ReferenceEpilogue, SaveKeepsTheValueWhereItStandsWithoutReadingItsTensor) {
  const Spec spec = parse_spec("linear(m=2, n=3, k=1) -> bias -> save -> mul(-1.0) -> relu");
  Operands operands;
  operands.tensors[2] = {10, 20, 30};  // bias [3]
  const ChainReference result = reference_chain(spec, counting(6, -12), operands.reader());
  EXPECT_EQ(operands.read, (std::vector<std::size_t>{2}));  // not the saved tensor 3
  ASSERT_EQ(result.updated.count(3), 1u);
  for (std::size_t i = 0; i < 6; ++i) {
    const double saved = -12.0 + static_cast<double>(i) + 10.0 * static_cast<double>(i % 3 + 1);
    EXPECT_EQ(result.updated.at(3)[i], saved) << i;
    EXPECT_EQ(result.output[i], std::max(0.0, -saved)) << i;
  }
}

TEST(ReferenceEpilogue, MainIsTheLayersOutputWithItsLeadingBias) {
  // [1, 2, 2, 3]: channel 0 holds elements 0-5, channel 1 elements 6-11.
  const Spec spec =
      parse_spec("conv2d(n=1, c=1, h=2, w=3, k=2, kernel=1) -> bias -> mul(2.0) -> add(main)");
  Operands operands;
  operands.tensors[2] = {10, 20};  // bias [2]
  const std::vector<double> out = reference_epilogue(spec, counting(12), operands.reader());
  for (std::size_t i = 0; i < 12; ++i) {
    const double layer = static_cast<double>(i) + (i < 6 ? 10 : 20);
    EXPECT_EQ(out[i], 2 * layer + layer) << i;
  }
}

TEST(ReferenceEpilogue, MainIsTheMainOpsResultWhenTheChainStartsWithoutBias) {
  const Spec relu = parse_spec("conv2d(n=1, c=1, h=2, w=3, k=2, kernel=1) -> relu -> add(main)");
  const std::vector<double> out = reference_epilogue(relu, counting(12, -6), Operands{}.reader());
  for (std::size_t i = 0; i < 12; ++i) {
    const double v = static_cast<double>(i) - 6;
    EXPECT_EQ(out[i], (v > 0 ? v : 0) + v) << i;
  }
  // A bias further down is not the layer's: main stays the bare result.
  const Spec late_bias =
      parse_spec("conv2d(n=1, c=1, h=2, w=3, k=2, kernel=1) -> mul(2.0) -> bias -> sub(main)");
  Operands operands;
  operands.tensors[2] = {10, 20};
  const std::vector<double> late = reference_epilogue(late_bias, counting(12), operands.reader());
  for (std::size_t i = 0; i < 12; ++i)
    EXPECT_EQ(late[i], static_cast<double>(i) + (i < 6 ? 10 : 20));
}

TEST(ReferenceEpilogue, GemmOperandsAreReadAtTheElementsRowColumnOrSelf) {
  // [2, 3] holding 0 ... 5.
  const Spec spec =
      parse_spec("matmul(m=2, n=3, k=1) -> add(row) -> mul(column) -> sub(tensor) -> add(main)");
  Operands operands;
  operands.tensors[2] = {100, 200};                // add_row [2]
  operands.tensors[3] = {1, 2, 3};                 // mul_column [3]
  operands.tensors[4] = {0, 0.5, 1, 1.5, 2, 2.5};  // sub_tensor [2, 3]
  const std::vector<double> out = reference_epilogue(spec, counting(6), operands.reader());
  for (std::size_t i = 0; i < 6; ++i) {
    const double v = static_cast<double>(i);
    EXPECT_EQ(out[i], (v + (i < 3 ? 100 : 200)) * static_cast<double>(i % 3 + 1) - 0.5 * v + v)
        << i;
  }
  EXPECT_EQ(operands.read, (std::vector<std::size_t>{2, 3, 4}));

  const Spec linear = parse_spec("linear(m=2, n=3, k=4) -> bias -> mul(main)");
  Operands bias;
  bias.tensors[2] = {1, 2, 3};
  const std::vector<double> squared = reference_epilogue(linear, counting(6), bias.reader());
  for (std::size_t i = 0; i < 6; ++i) {
    const double layer = static_cast<double>(i) + static_cast<double>(i % 3 + 1);
    EXPECT_EQ(squared[i], layer * layer) << i;
  }
}

TEST(ReferenceEpilogue, ValuesOfTheWrongSizeAreAnInternalError) {
  const Spec spec = parse_spec("conv2d(n=1, c=1, h=2, w=3, k=2, kernel=1) -> mul(channel)");
  const std::optional<Error> short_result =
      error_of([&] { reference_epilogue(spec, counting(11), Operands{}.reader()); });
  ASSERT_TRUE(short_result);
  EXPECT_EQ(short_result->code(), StatusCode::internal);
  Operands operands;
  operands.tensors[2] = {1, 2, 3};  // one value per channel is 2
  const std::optional<Error> long_operand =
      error_of([&] { reference_epilogue(spec, counting(12), operands.reader()); });
  ASSERT_TRUE(long_operand);
  EXPECT_EQ(long_operand->code(), StatusCode::internal);
}

}  // namespace
}  // namespace fusetune
