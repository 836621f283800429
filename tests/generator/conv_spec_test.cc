// Convolution main ops and pool steps in the spec language: what they parse to, how they print,
// the tensors they read, and the messages for convolutions PyTorch would refuse.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/spec.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const std::string kSeed =
    "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
    "max_pool3d(2)";

using Tensors = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

Tensors tensor_list(const Spec& spec) {
  Tensors list;
  for (const TensorArg& tensor : spec.tensors()) list.emplace_back(tensor.name, tensor.shape);
  return list;
}

TEST(ConvSpec, TheSeedProblemParsesToPyTorchsGeometry) {
  const Spec spec = parse_spec(kSeed);
  EXPECT_EQ(spec.main.kind, MainOpKind::conv_transpose3d);
  const ConvGeometry& c = spec.main.conv;
  EXPECT_EQ(c.batch, 16);
  EXPECT_EQ(c.in_channels, 16);
  EXPECT_EQ(c.out_channels, 32);
  EXPECT_EQ(c.size, (std::array<std::int64_t, 3>{16, 32, 32}));
  EXPECT_EQ(c.kernel, (std::array<int, 3>{3, 3, 3}));
  EXPECT_EQ(c.stride, (std::array<int, 3>{2, 2, 2}));
  EXPECT_EQ(c.padding, (std::array<int, 3>{1, 1, 1}));
  EXPECT_EQ(c.output_padding, (std::array<int, 3>{1, 1, 1}));
  ASSERT_EQ(spec.chain.size(), 5u);
  ASSERT_TRUE(std::holds_alternative<PoolOp>(spec.chain[4]));
  const PoolOp& pool = std::get<PoolOp>(spec.chain[4]);
  EXPECT_EQ(spec.first_pool(), &pool);
  EXPECT_EQ(pool.kind, PoolKind::max);
  EXPECT_EQ(pool.kernel, (std::array<int, 3>{2, 2, 2}));
  EXPECT_EQ(pool.stride, (std::array<int, 3>{2, 2, 2}));
  // (in - 1)·stride - 2·padding + (kernel - 1) + output_padding + 1 = 32, 64, 64; pooled by 2.
  EXPECT_EQ(spec.main_shape(), (std::vector<std::int64_t>{16, 32, 32, 64, 64}));
  EXPECT_EQ(spec.output_shape(), (std::vector<std::int64_t>{16, 32, 16, 32, 32}));
  EXPECT_EQ(tensor_list(spec), (Tensors{{"x", {16, 16, 16, 32, 32}},
                                        {"weight", {16, 32, 3, 3, 3}},
                                        {"bias", {32}},
                                        {"mul_channel", {32, 1, 1, 1}}}));
  // 7.25 GFLOP: every input element meets 27 taps and 32 output channels.
  EXPECT_DOUBLE_EQ(spec.flops(), 2.0 * 16 * 16 * 16 * 32 * 32 * 32 * 27);
  EXPECT_EQ(spec.canonical(), kSeed);
}

struct CanonicalCase {
  std::string text;
  std::string canonical;
};

// clang-format off
const CanonicalCase kCanonicalCases[] = {
  // Defaults print as nothing; one value stands for every dimension.
  {"conv2d(k=128, n=128, c=64, h=128, w=128, kernel=(3,3), stride=1, padding=0, dilation=1, "
   "groups=1) -> relu -> add(channel)",
   "conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> relu -> add(channel)"},
  {"conv3d(n=2, c=4, d=5, h=6, w=7, k=8, kernel=(1, 3, 3), padding=(0,1,1), groups=2, "
   "dilation=(1, 2, 2)) -> avg_pool3d(kernel=(1,2,2), stride=(1,2,2))",
   "conv3d(n=2, c=4, d=5, h=6, w=7, k=8, kernel=(1, 3, 3), padding=(0, 1, 1), dilation=(1, 2, 2), "
   "groups=2) -> avg_pool3d((1, 2, 2))"},
  {"conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> max_pool2d(3, 2, 1) -> relu",
   "conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> max_pool2d(3, stride=2, padding=1) -> relu"},
  {"conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> max_pool2d(kernel_size=2, stride=2)",
   "conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> max_pool2d(2)"},
  {"conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> relu -> global_avg_pool -> mul(2.0)",
   "conv2d(n=1, c=3, h=9, w=9, k=4, kernel=3) -> relu -> global_avg_pool -> mul(2.0)"},
  {"conv_transpose3d(n=16, c=32, d=16, h=32, w=32, k=64, kernel=3, stride=2, padding=1, "
   "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)",
   "conv_transpose3d(n=16, c=32, d=16, h=32, w=32, k=64, kernel=3, stride=2, padding=1, "
   "output_padding=1) -> bias -> add(channel) -> add(main) -> mul(main) -> add(main)"},
  {"conv_transpose2d(n=1, c=4, h=5, w=5, k=6, kernel=(2, 3), stride=(2, 1), groups=2, "
   "output_padding=(1, 0)) -> max_pool2d(2) -> add(tensor)",
   "conv_transpose2d(n=1, c=4, h=5, w=5, k=6, kernel=(2, 3), stride=(2, 1), groups=2, "
   "output_padding=(1, 0)) -> max_pool2d(2) -> add(tensor)"},
};
// clang-format on

TEST(ConvSpec, CanonicalTextIsFixedAndParsesBack) {
  for (const CanonicalCase& c : kCanonicalCases) {
    const Spec spec = parse_spec(c.text);
    EXPECT_EQ(spec.canonical(), c.canonical) << c.text;
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << c.text;
  }
}

TEST(ConvSpec, OperandsTakeTheShapeOfTheValueWhereTheyStand) {
  const Spec spec = parse_spec(
      "conv2d(n=2, c=3, h=10, w=12, k=4, kernel=3, padding=1) -> add(tensor) -> max_pool2d(2) -> "
      "mul(tensor) -> sub(channel)");
  EXPECT_EQ(tensor_list(spec), (Tensors{{"x", {2, 3, 10, 12}},
                                        {"weight", {4, 3, 3, 3}},
                                        {"add_tensor", {2, 4, 10, 12}},
                                        {"mul_tensor", {2, 4, 5, 6}},
                                        {"sub_channel", {4, 1, 1}}}));
}

TEST(ConvSpec, TransposedWeightsAreInputChannelsFirstAndGroupsDivideTheOtherSide) {
  const Spec spec =
      parse_spec("conv_transpose2d(n=1, c=4, h=3, w=3, k=6, kernel=(2, 3), groups=2)");
  EXPECT_EQ(tensor_list(spec), (Tensors{{"x", {1, 4, 3, 3}}, {"weight", {4, 3, 2, 3}}}));
  EXPECT_EQ(spec.main_shape(), (std::vector<std::int64_t>{1, 6, 4, 5}));
  EXPECT_DOUBLE_EQ(spec.flops(), 2.0 * 9 * 4 * 3 * 6);
}

TEST(ConvSpec, OutputSizesFollowPyTorchsFormulas) {
  // (in + 2·padding - dilation·(kernel - 1) - 1) / stride + 1
  EXPECT_EQ(parse_spec("conv2d(n=1, c=1, h=128, w=128, k=1, kernel=3)").main_shape(),
            (std::vector<std::int64_t>{1, 1, 126, 126}));
  EXPECT_EQ(parse_spec("conv2d(n=1, c=1, h=11, w=10, k=1, kernel=3, stride=2, padding=1, "
                       "dilation=2)")
                .main_shape(),
            (std::vector<std::int64_t>{1, 1, 5, 4}));
  // Pools drop partial windows (ceil_mode=False).
  EXPECT_EQ(parse_spec("conv2d(n=1, c=1, h=9, w=9, k=1, kernel=3) -> max_pool2d(2)").output_shape(),
            (std::vector<std::int64_t>{1, 1, 3, 3}));
  EXPECT_EQ(parse_spec("conv2d(n=1, c=1, h=9, w=9, k=1, kernel=3) -> avg_pool2d(3, stride=2, "
                       "padding=1)")
                .output_shape(),
            (std::vector<std::int64_t>{1, 1, 4, 4}));
  EXPECT_EQ(parse_spec("conv3d(n=2, c=1, d=4, h=9, w=9, k=5, kernel=3) -> global_avg_pool")
                .output_shape(),
            (std::vector<std::int64_t>{2, 5, 1, 1, 1}));
}

struct ErrorCase {
  std::string text;
  std::string caret;
  std::string problem;
};

// clang-format off
const ErrorCase kErrorCases[] = {
  {"conv2d(n=1, c=1, h=8, w=8, k=1)",
   "                              ^",
   "missing argument kernel of conv2d; it needs n, c, h, w, k and kernel"},
  {"conv3d(n=1, c=1, h=8, w=8, k=1, kernel=3)",
   "                                        ^",
   "missing argument d of conv3d; it needs n, c, d, h, w, k and kernel"},
  {"conv2d(n=1, c=3, h=8, w=8, k=6, kernel=3, groups=2)",
   "                                                 ^",
   "groups=2 must divide both c=3 and k=6"},
  {"conv_transpose2d(n=1, c=4, h=8, w=8, k=4, kernel=3, stride=2, output_padding=2)",
   "                                                                             ^",
   "output_padding must be smaller than stride or dilation (it is 2 along h, with stride 2 and "
   "dilation 1)"},
  {"conv2d(n=1, c=1, h=2, w=2, k=1, kernel=3)",
   "                                       ^",
   "the output of conv2d would be empty along h (h = 2 with kernel 3, stride 1, padding 0 and "
   "dilation 1): make the kernel or dilation smaller or the padding larger"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=(3, 3, 3))",
   "                                            ^",
   "expected ')' after the 2 values of kernel (one per spatial dimension)"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=0)",
   "                                       ^",
   "kernel must be an integer from 1 to 1024 (or one per spatial dimension in parentheses)"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3, output_padding=1)",
   "                                          ^",
   "conv2d takes no output_padding: only transposed convolutions do"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3, dtype=bf16)",
   "                                                ^",
   "conv2d takes fp32 tensors; 16-bit convolutions are not supported yet"},
  {"linear(m=1, n=1, k=1) -> max_pool2d(2)",
   "                         ^",
   "max_pool2d pools the spatial dimensions of a convolution; linear has none"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> max_pool3d(2)",
   "                                             ^",
   "max_pool3d follows a 2-d convolution: write max_pool2d"},
  // A second pool step pools what the first left: 6x6, then 3x3.
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> max_pool2d(2) -> avg_pool2d(4)",
   "                                                              ^",
   "the pool's kernel 4 is larger than the padded input along h (the value is 3 wide there, "
   "padding 0)"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> max_pool2d(2, padding=2)",
   "                                             ^",
   "pool padding must be at most half the kernel (padding 2 with kernel 2 along h)"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> max_pool2d(stride=2)",
   "                                                                ^",
   "max_pool2d needs its kernel: write max_pool2d(2) or max_pool2d(kernel=3, stride=2, padding=1)"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> global_avg_pool(1)",
   "                                                            ^",
   "global_avg_pool takes no arguments: write it without parentheses"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> add(column)",
   "                                                 ^",
   "a convolution's output has no columns: per-channel vectors are add(channel), full tensors "
   "add(tensor)"},
  {"linear(m=1, n=1, k=1) -> mul(channel)",
   "                             ^",
   "channel vectors belong to convolutions; mul takes column (over N), row (over M) or tensor"},
  {"conv2d(n=1, c=1, h=8, w=8, k=1, kernel=3) -> max_pool2d(2) -> add(main)",
   "                                                                  ^",
   "main is the main op's result before any pool step or reduction; use it before them"},
  {"max_pool2d(2)",
   "^",
   "max_pool2d is an epilogue op; a spec starts with a main op: linear, matmul, conv2d, conv3d, "
   "conv_transpose2d, conv_transpose3d"},
};
// clang-format on

TEST(ConvSpec, ErrorsSayWhatIsWrongAndWhere) {
  for (const ErrorCase& c : kErrorCases) {
    try {
      parse_spec(c.text);
      ADD_FAILURE() << "parsed without an error: " << c.text;
    } catch (const SpecError& error) {
      EXPECT_EQ(error.position(), c.caret.find('^')) << c.text;
      EXPECT_EQ(error.what(), "invalid spec: " + c.problem + "\n  " + c.text + "\n  " + c.caret)
          << c.text;
    }
  }
}

}  // namespace
}  // namespace fusetune
