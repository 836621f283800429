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

json tensor(const char* name, std::vector<long> shape, bool updated = false) {
  return {{"name", name}, {"shape", shape}, {"dtype", "fp32"}, {"updated", updated}};
}

// An elementwise entry of "chain" on a value of `shape`.
json elementwise(const char* op, const char* operand, std::vector<double> scalars,
                 std::vector<long> shape, std::vector<int> tensors = {}, const char* mode = "") {
  return {{"kind", "elementwise"}, {"op", op},          {"operand", operand},
          {"scalars", scalars},    {"mode", mode},      {"tensors", tensors},
          {"in_shape", shape},     {"out_shape", shape}};
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
  const std::vector<long> shape{1024, 8192};
  EXPECT_EQ(d["chain"], json::array({elementwise("bias", "column", {}, shape, {2}),
                                     elementwise("mul", "scalar", {2.0}, shape),
                                     elementwise("leaky_relu", "none", {0.1}, shape)}));
  EXPECT_EQ(d["main_value_stages"], 1);
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
  const std::vector<long> shape{16, 32, 32, 64, 64};
  ASSERT_EQ(d["chain"].size(), 5u);
  EXPECT_EQ(d["chain"][0], elementwise("bias", "channel", {}, shape, {2}));
  EXPECT_EQ(d["chain"][1], elementwise("leaky_relu", "none", {0.2}, shape));
  EXPECT_EQ(d["chain"][2], elementwise("mul", "channel", {}, shape, {3}));
  EXPECT_EQ(d["chain"][3], elementwise("leaky_relu", "none", {0.2}, shape));
  EXPECT_EQ(d["chain"][4], json({{"kind", "pool"},
                                 {"op", "max_pool3d"},
                                 {"pool", "max"},
                                 {"kernel", {2, 2, 2}},
                                 {"stride", {2, 2, 2}},
                                 {"padding", {0, 0, 0}},
                                 {"tensors", json::array()},
                                 {"in_shape", shape},
                                 {"out_shape", {16, 32, 16, 32, 32}}}));
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
  const json& pool = avg["chain"][1];
  EXPECT_EQ(pool["op"], "avg_pool2d");
  EXPECT_EQ(pool["pool"], "avg");
  EXPECT_EQ(pool["kernel"], json({1, 2, 2}));
  EXPECT_EQ(pool["stride"], json({1, 2, 2}));
  EXPECT_EQ(pool["padding"], json({0, 0, 0}));
  EXPECT_EQ(avg["main"]["spatial_dims"], 2);
  EXPECT_EQ(avg["main_shape"], json::array({2, 4, 6, 6}));
  EXPECT_EQ(avg["output_shape"], json::array({2, 4, 3, 3}));
  const json global = describe("conv2d(n=2, c=3, h=8, w=8, k=4, kernel=3) -> global_avg_pool");
  EXPECT_EQ(global["chain"][0]["op"], "global_avg_pool");
  EXPECT_EQ(global["chain"][0]["pool"], "global_avg");
  EXPECT_EQ(global["output_shape"], json::array({2, 4, 1, 1}));
}

TEST(Describe, AModeIsNamedAndOpsWithoutModesHaveNone) {
  const json tanh = describe("linear(m=8, n=8, k=8) -> gelu(tanh)");
  EXPECT_EQ(tanh["chain"], json::array({elementwise("gelu", "none", {}, {8, 8}, {}, "tanh")}));
  EXPECT_EQ(tanh["canonical"], "linear(m=8, n=8, k=8) -> gelu(tanh)");
  const json erf = describe("linear(m=8, n=8, k=8) -> gelu -> relu");
  EXPECT_EQ(erf["chain"], json::array({elementwise("gelu", "none", {}, {8, 8}, {}, "erf"),
                                       elementwise("relu", "none", {}, {8, 8})}));
}

TEST(Describe, ReductionsNameTheirGroupingOperandsAndUpdatedTensors) {
  const json d = describe(
      "conv2d(n=2, c=3, h=8, w=8, k=4, kernel=3) -> bias -> batch_norm(momentum=0.2) -> "
      "sum(dim=(2, 3), keepdim=true) -> group_norm(2, affine=false)");
  ASSERT_EQ(d["chain"].size(), 4u);
  const json& norm = d["chain"][1];
  EXPECT_EQ(norm["kind"], "reduction");
  EXPECT_EQ(norm["op"], "batch_norm");
  EXPECT_EQ(norm["training"], true);
  EXPECT_EQ(norm["track_running_stats"], true);
  EXPECT_EQ(norm["affine"], true);
  EXPECT_EQ(norm["scalars"], json({1e-5, 0.2}));
  EXPECT_EQ(norm["tensors"], json({3, 4, 5, 6}));
  const json& sum = d["chain"][2];
  EXPECT_EQ(sum["dims"], json({2, 3}));
  EXPECT_EQ(sum["keepdim"], true);
  EXPECT_EQ(sum["out_shape"], json({2, 4, 1, 1}));
  EXPECT_EQ(d["chain"][3]["groups"], 2);
  EXPECT_EQ(d["tensors"][3], tensor("batch_norm_running_mean", {4}, true));
  EXPECT_EQ(d["tensors"][4], tensor("batch_norm_running_var", {4}, true));
  EXPECT_EQ(d["tensors"][5], tensor("batch_norm_weight", {4}));
  EXPECT_EQ(d["tensors"][6], tensor("batch_norm_bias", {4}));
  EXPECT_EQ(d["scalars"], json::array({{{"name", "batch_norm.eps"}, {"value", 1e-5}},
                                       {{"name", "batch_norm.momentum"}, {"value", 0.2}},
                                       {{"name", "group_norm.eps"}, {"value", 1e-5}}}));
  EXPECT_EQ(d["output_shape"], json::array({2, 4, 1, 1}));
}

TEST(Describe, SixteenBitInputsNameTheirTypes) {
  const json d = describe("matmul(m=64, n=32, k=16, transpose_b=true, dtype=bf16, out_dtype=fp32)");
  EXPECT_EQ(d["main"]["dtype"], "bf16");
  EXPECT_EQ(d["main"]["output_dtype"], "fp32");
  EXPECT_EQ(d["main"]["transpose_b"], true);
  EXPECT_EQ(d["tensors"][1],
            json({{"name", "b"}, {"shape", {32, 16}}, {"dtype", "bf16"}, {"updated", false}}));
  EXPECT_EQ(d["output_dtype"], "fp32");
}

TEST(Describe, TheBackwardNamesTheSavingForwardAndTheOperandsMatmuls) {
  const json backward = describe(kLinearSeed)["backward"];
  EXPECT_EQ(backward["saving"],
            "linear(m=1024, n=8192, k=8192) -> save -> bias -> mul(2.0) -> leaky_relu(0.1)");
  EXPECT_EQ(backward["grad_a"], "matmul(m=1024, n=8192, k=8192)");
  EXPECT_EQ(backward["grad_a_operands"], json({"grad_main", "b"}));
  EXPECT_EQ(backward["grad_b"], "matmul(m=8192, n=8192, k=1024, transpose_a=true)");
  EXPECT_EQ(backward["grad_b_operands"], json({"grad_main", "a"}));
  EXPECT_EQ(backward["grad_b_k_major"],
            json({{"spec", "matmul(m=8192, n=8192, k=1024, transpose_b=true)"},
                  {"operands", {"grad_main_t", "a_t"}}}));
  // A convolution's data gradient is the convolution the other way; its weight gradient has
  // no kernel yet.
  const json convolution = describe(kConvolutionSeed)["backward"];
  EXPECT_EQ(convolution["grad_a"],
            "conv3d(n=16, c=32, d=32, h=64, w=64, k=16, kernel=3, stride=2, padding=1)");
  EXPECT_TRUE(convolution["grad_b"].is_null());
  EXPECT_NE(convolution["grad_b_missing"].get<std::string>().find("weight gradient"),
            std::string::npos);
  const json refused = describe("linear(m=4, n=8, k=2) -> batch_norm(training=false)")["backward"];
  EXPECT_NE(refused["refused"].get<std::string>().find("batch_norm in eval mode"),
            std::string::npos);
  // What save writes is a tensor of the kernel's, marked updated.
  const json saving = describe(backward["saving"].get<std::string>().c_str());
  EXPECT_EQ(saving["tensors"][2], tensor("save", {1024, 8192}, true));
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
