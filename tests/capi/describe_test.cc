// fusetune_describe: what a binding learns about a spec without a GPU, and how it hears that a
// spec is wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "fusetune/fusetune_c.h"
#include "tests/capi/capi_test.h"

namespace {

using capi_test::describe;
using nlohmann::json;

constexpr const char* kLinearSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";
constexpr const char* kConvolutionSeed =
    "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
    "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
    "max_pool3d(2)";

json tensor(const char* name, std::vector<long> shape) {
  return {{"name", name}, {"shape", shape}, {"dtype", "fp32"}};
}

json epilogue_op(const char* op, const char* operand, std::vector<double> scalars,
                 const char* mode = "") {
  return {{"op", op}, {"operand", operand}, {"scalars", scalars}, {"mode", mode}};
}

TEST(Describe, TheLinearSeedHasItsOperandsShapesAndChain) {
  const json d = describe(kLinearSeed);
  EXPECT_EQ(d["canonical"], kLinearSeed);
  EXPECT_EQ(d["signature"], "linear(m=1024, n=8192, k=8192) -> bias -> mul(_) -> leaky_relu(_)");
  EXPECT_EQ(d["main"], json({{"op", "linear"},
                             {"m", 1024},
                             {"n", 8192},
                             {"k", 8192},
                             {"transpose_a", false},
                             {"transpose_b", false},
                             {"dtype", "fp32"},
                             {"output_dtype", "fp32"}}));
  EXPECT_EQ(d["epilogue"],
            json::array({epilogue_op("bias", "column", {}), epilogue_op("mul", "scalar", {2.0}),
                         epilogue_op("leaky_relu", "none", {0.1})}));
  EXPECT_TRUE(d["pool"].is_null());
  EXPECT_EQ(d["tensors"], json::array({tensor("x", {1024, 8192}), tensor("weight", {8192, 8192}),
                                       tensor("bias", {8192})}));
  EXPECT_EQ(d["scalars"], json::array({{{"name", "mul.value"}, {"value", 2.0}},
                                       {{"name", "leaky_relu.negative_slope"}, {"value", 0.1}}}));
  EXPECT_EQ(d["main_shape"], json::array({1024, 8192}));
  EXPECT_EQ(d["output_shape"], json::array({1024, 8192}));
  EXPECT_EQ(d["output_dtype"], "fp32");
  EXPECT_DOUBLE_EQ(d["flops"].get<double>(), 2.0 * 1024 * 8192 * 8192);
}

TEST(Describe, TheConvolutionSeedHasItsGeometryPoolAndChannelOperands) {
  const json d = describe(kConvolutionSeed);
  EXPECT_EQ(d["canonical"], kConvolutionSeed);
  EXPECT_EQ(d["main"], json({{"op", "conv_transpose3d"},
                             {"n", 16},
                             {"c", 16},
                             {"k", 32},
                             {"size", {16, 32, 32}},
                             {"kernel", {3, 3, 3}},
                             {"stride", {2, 2, 2}},
                             {"padding", {1, 1, 1}},
                             {"dilation", {1, 1, 1}},
                             {"output_padding", {1, 1, 1}},
                             {"groups", 1},
                             {"spatial_dims", 3},
                             {"dtype", "fp32"},
                             {"output_dtype", "fp32"}}));
  EXPECT_EQ(
      d["epilogue"],
      json::array({epilogue_op("bias", "channel", {}), epilogue_op("leaky_relu", "none", {0.2}),
                   epilogue_op("mul", "channel", {}), epilogue_op("leaky_relu", "none", {0.2})}));
  EXPECT_EQ(d["pool"], json({{"op", "max_pool3d"},
                             {"kind", "max"},
                             {"kernel", {2, 2, 2}},
                             {"stride", {2, 2, 2}},
                             {"padding", {0, 0, 0}},
                             {"position", 4}}));
  EXPECT_EQ(d["tensors"],
            json::array({tensor("x", {16, 16, 16, 32, 32}), tensor("weight", {16, 32, 3, 3, 3}),
                         tensor("bias", {32}), tensor("mul_channel", {32, 1, 1, 1})}));
  EXPECT_EQ(d["scalars"], json::array({{{"name", "leaky_relu.negative_slope"}, {"value", 0.2}},
                                       {{"name", "leaky_relu.negative_slope_2"}, {"value", 0.2}}}));
  EXPECT_EQ(d["main_shape"], json::array({16, 32, 32, 64, 64}));
  EXPECT_EQ(d["output_shape"], json::array({16, 32, 16, 32, 32}));
}

TEST(Describe, PoolsAfterTwoDimensionalConvolutionsSpanOneInDepth) {
  const json avg = describe("conv2d(n=2, c=3, h=8, w=8, k=4, kernel=3) -> relu -> avg_pool2d(2)");
  EXPECT_EQ(avg["pool"], json({{"op", "avg_pool2d"},
                               {"kind", "avg"},
                               {"kernel", {1, 2, 2}},
                               {"stride", {1, 2, 2}},
                               {"padding", {0, 0, 0}},
                               {"position", 1}}));
  EXPECT_EQ(avg["main"]["spatial_dims"], 2);
  EXPECT_EQ(avg["main_shape"], json::array({2, 4, 6, 6}));
  EXPECT_EQ(avg["output_shape"], json::array({2, 4, 3, 3}));
  const json global = describe("conv2d(n=2, c=3, h=8, w=8, k=4, kernel=3) -> global_avg_pool");
  EXPECT_EQ(global["pool"]["op"], "global_avg_pool");
  EXPECT_EQ(global["pool"]["kind"], "global_avg");
  EXPECT_EQ(global["output_shape"], json::array({2, 4, 1, 1}));
}

TEST(Describe, AModeIsNamedAndOpsWithoutModesHaveNone) {
  const json tanh = describe("linear(m=8, n=8, k=8) -> gelu(tanh)");
  EXPECT_EQ(tanh["epilogue"], json::array({epilogue_op("gelu", "none", {}, "tanh")}));
  EXPECT_EQ(tanh["canonical"], "linear(m=8, n=8, k=8) -> gelu(tanh)");
  const json erf = describe("linear(m=8, n=8, k=8) -> gelu -> relu");
  EXPECT_EQ(erf["epilogue"],
            json::array({epilogue_op("gelu", "none", {}, "erf"), epilogue_op("relu", "none", {})}));
}

TEST(Describe, SixteenBitInputsNameTheirTypes) {
  const json d = describe("matmul(m=64, n=32, k=16, transpose_b=true, dtype=bf16, out_dtype=fp32)");
  EXPECT_EQ(d["main"]["dtype"], "bf16");
  EXPECT_EQ(d["main"]["output_dtype"], "fp32");
  EXPECT_EQ(d["main"]["transpose_b"], true);
  EXPECT_EQ(d["tensors"][1], json({{"name", "b"}, {"shape", {32, 16}}, {"dtype", "bf16"}}));
  EXPECT_EQ(d["output_dtype"], "fp32");
}

TEST(Describe, AnInvalidSpecFailsWithACaretUnderTheOffendingCharacter) {
  const std::string spec = "linear(m=1024, n=8192, k=8192) -> mul(2.0 -> relu";
  char* text = reinterpret_cast<char*>(1);  // NULL after a failure
  EXPECT_EQ(fusetune_describe(spec.c_str(), &text), FUSETUNE_INVALID_SPEC);
  EXPECT_EQ(text, nullptr);
  std::vector<std::string> lines;
  std::istringstream message(fusetune_last_error());
  for (std::string line; std::getline(message, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << fusetune_last_error();
  EXPECT_EQ(lines[0], "invalid spec: expected ')' to close the arguments of mul");
  EXPECT_EQ(lines[1], "  " + spec);
  // The caret stands under the "->" where the ')' should have been.
  EXPECT_EQ(lines[2], "  " + std::string(spec.find("-> relu"), ' ') + "^");
}

}  // namespace
