#include "generator/ops.h"

#include <fmt/args.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The reference of the single epilogue op of `chain` (written as in a spec) at x, with y as the
// second input where the op reads a tensor.
double reference(const std::string& chain, double x, double y = 0) {
  const Spec spec = parse_spec("linear(m=1, n=1, k=1) -> " + chain);
  return apply_reference(std::get<EpilogueOp>(spec.chain.at(0)), x, y);
}

TEST(Ops, BinaryOpsCombineWithAScalarOrTheSecondInput) {
  EXPECT_EQ(reference("bias", 2.0, 0.5), 2.5);
  EXPECT_EQ(reference("add(3.0)", 2.0), 5.0);
  EXPECT_EQ(reference("add(column)", 2.0, -7.0), -5.0);
  EXPECT_EQ(reference("sub(3.0)", 2.0), -1.0);
  EXPECT_EQ(reference("sub(row)", 2.0, 0.5), 1.5);
  EXPECT_EQ(reference("mul(2.0)", 1.5), 3.0);
  EXPECT_EQ(reference("mul(tensor)", 1.5, -2.0), -3.0);
  EXPECT_EQ(reference("div(4.0)", 1.0), 0.25);
  EXPECT_EQ(reference("div(tensor)", 1.0, 0.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(reference("min(0.5)", 2.0), 0.5);
  EXPECT_EQ(reference("min(column)", -2.0, 0.5), -2.0);
  EXPECT_EQ(reference("max(0.5)", 2.0), 2.0);
  EXPECT_EQ(reference("max(row)", -2.0, 0.5), 0.5);
}

TEST(Ops, ReluZeroesNegativesAndPassesNaN) {
  EXPECT_EQ(reference("relu", -1.0), 0.0);
  EXPECT_EQ(reference("relu", 2.0), 2.0);
  EXPECT_TRUE(std::isnan(reference("relu", kNaN)));
}

TEST(Ops, LeakyReluScalesNegatives) {
  EXPECT_DOUBLE_EQ(reference("leaky_relu(0.1)", -2.0), -0.2);
  EXPECT_DOUBLE_EQ(reference("leaky_relu", -2.0), -0.02);
  EXPECT_EQ(reference("leaky_relu(0.1)", 3.0), 3.0);
  EXPECT_TRUE(std::isnan(reference("leaky_relu", kNaN)));
}

TEST(Ops, GeluInBothModes) {
  EXPECT_DOUBLE_EQ(reference("gelu", 1.0), 0.8413447460685429);
  EXPECT_DOUBLE_EQ(reference("gelu", -1.0), -0.15865525393145707);
  EXPECT_EQ(reference("gelu", 0.0), 0.0);
  EXPECT_DOUBLE_EQ(reference("gelu(tanh)", 1.0), 0.8411919906082768);
  EXPECT_DOUBLE_EQ(reference("gelu(tanh)", -1.0), -0.15880800939172324);
}

TEST(Ops, SigmoidFamily) {
  EXPECT_DOUBLE_EQ(reference("sigmoid", 0.0), 0.5);
  EXPECT_DOUBLE_EQ(reference("sigmoid", 1.0), 0.7310585786300049);
  EXPECT_DOUBLE_EQ(reference("silu", 1.0), 0.7310585786300049);
  EXPECT_DOUBLE_EQ(reference("silu", -1.0), -0.2689414213699951);
  EXPECT_DOUBLE_EQ(reference("tanh", 0.5), 0.46211715726000974);
}

TEST(Ops, ClampsLimitToTheirRangeAndPassNaN) {
  EXPECT_EQ(reference("hardtanh", 5.0), 1.0);
  EXPECT_EQ(reference("hardtanh", -5.0), -1.0);
  EXPECT_EQ(reference("hardtanh(-2.0, 2.0)", 1.5), 1.5);
  EXPECT_EQ(reference("clamp(0.0, 6.0)", 7.0), 6.0);
  EXPECT_EQ(reference("clamp(0.0, 6.0)", -1.0), 0.0);
  EXPECT_EQ(reference("clamp(0.0, 6.0)", 0.3), 0.3);
  // torch.clamp with min > max gives max everywhere.
  EXPECT_EQ(reference("clamp(2.0, 1.0)", 0.0), 1.0);
  EXPECT_TRUE(std::isnan(reference("clamp(0.0, 6.0)", kNaN)));
  EXPECT_TRUE(std::isnan(reference("hardtanh", kNaN)));
}

TEST(Ops, Hardswish) {
  EXPECT_EQ(reference("hardswish", -3.0), 0.0);
  EXPECT_EQ(reference("hardswish", -4.0), 0.0);
  EXPECT_DOUBLE_EQ(reference("hardswish", 1.0), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(reference("hardswish", -1.0), -1.0 / 3.0);
  EXPECT_EQ(reference("hardswish", 3.0), 3.0);
  EXPECT_EQ(reference("hardswish", 4.0), 4.0);
}

TEST(Ops, Mish) {
  EXPECT_DOUBLE_EQ(reference("mish", 1.0), 0.8650983882673103);
  EXPECT_DOUBLE_EQ(reference("mish", -1.0), -0.30340146137410895);
  EXPECT_DOUBLE_EQ(reference("mish", 100.0), 100.0);
}

TEST(Ops, SoftplusIsLinearAboveTheThreshold) {
  EXPECT_DOUBLE_EQ(reference("softplus", 1.0), 1.3132616875182228);
  EXPECT_DOUBLE_EQ(reference("softplus(2.0, 20.0)", 2.0), 2.0090749639589047);
  EXPECT_DOUBLE_EQ(reference("softplus(0.5)", -1.0), 0.9481539683602134);
  EXPECT_EQ(reference("softplus", 25.0), 25.0);
  // beta * x = 30 > 20: x itself, not log1p(exp(30)) / 3.
  EXPECT_EQ(reference("softplus(3.0, 20.0)", 10.0), 10.0);
  // beta * x = 20 is not above the threshold.
  EXPECT_DOUBLE_EQ(reference("softplus(2.0, 20.0)", 10.0), std::log1p(std::exp(20.0)) / 2.0);
}

TEST(Ops, FindEpilogueOpKnowsEveryRegisteredNameAndNothingElse) {
  for (const EpilogueOpInfo& op : epilogue_ops()) EXPECT_EQ(find_epilogue_op(op.name), &op);
  EXPECT_EQ(find_epilogue_op("linear"), nullptr);
  EXPECT_EQ(find_epilogue_op("RELU"), nullptr);
  EXPECT_EQ(find_epilogue_op(""), nullptr);
}

TEST(Ops, RegistryHoldsTheSpecLanguagesOps) {
  std::vector<std::string_view> names;
  for (const EpilogueOpInfo& op : epilogue_ops()) names.push_back(op.name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"bias", "add", "sub", "mul", "div", "min", "max",
                                                  "relu", "leaky_relu", "gelu", "silu", "sigmoid",
                                                  "tanh", "hardtanh", "clamp", "hardswish", "mish",
                                                  "softplus", "save"}));
}

TEST(Ops, EveryOpHasOneCudaTextPerModeAndAReference) {
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    EXPECT_EQ(op.cuda.size(), std::max<std::size_t>(1, op.modes.size())) << op.name;
    EXPECT_NE(op.reference, nullptr) << op.name;
    EXPECT_FALSE(op.summary.empty()) << op.name;
  }
}

std::set<std::string> matches(std::string_view text, const std::string& pattern) {
  const std::regex regex(pattern);
  std::set<std::string> found;
  const std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), regex); it != std::sregex_iterator();
       ++it) {
    found.insert((*it)[1]);
  }
  return found;
}

TEST(Ops, CudaTextsUseOnlyTheirOwnPlaceholders) {
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    std::set<std::string> expected = {"x"};
    if (op.binary) expected.insert("y");
    for (std::size_t i = 0; i < op.params.size(); ++i) expected.insert(fmt::format("p{}", i));
    for (std::string_view cuda : op.cuda) {
      EXPECT_EQ(matches(cuda, R"(\{([^}]*)\})"), expected) << op.name << ": " << cuda;
    }
  }
}

TEST(Ops, CudaTextsFormatWithNamedArguments) {
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    for (std::string_view cuda : op.cuda) {
      fmt::dynamic_format_arg_store<fmt::format_context> args;
      args.push_back(fmt::arg("x", "v"));
      if (op.binary) args.push_back(fmt::arg("y", "w"));
      if (op.params.size() > 0) args.push_back(fmt::arg("p0", "s0"));
      if (op.params.size() > 1) args.push_back(fmt::arg("p1", "s1"));
      std::string code;
      EXPECT_NO_THROW(code = fmt::vformat(cuda, args)) << op.name << ": " << cuda;
      EXPECT_EQ(code.find_first_of("{}"), std::string::npos) << op.name << ": " << code;
    }
  }
}

// Single-precision math that compiles without --use_fast_math, and no double in sight.
TEST(Ops, CudaTextsAreFp32WithoutFastMathIntrinsics) {
  const std::set<std::string> allowed = {"expf", "erff", "tanhf", "log1pf", "fminf", "fmaxf"};
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    for (std::string_view cuda : op.cuda) {
      for (const std::string& call : matches(cuda, R"(([A-Za-z_0-9]+)\s*\()")) {
        EXPECT_TRUE(allowed.contains(call)) << op.name << " calls " << call;
      }
      EXPECT_EQ(cuda.find("__"), std::string_view::npos) << op.name << ": " << cuda;
      // A real literal without an f suffix is a double: promotes the whole expression.
      EXPECT_EQ(matches(cuda, R"(([0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?)(?![0-9eEf]))"),
                std::set<std::string>{})
          << op.name << ": " << cuda;
    }
  }
}

TEST(Ops, ReluIsWrittenToPassNaN) {
  // fmaxf(x, 0) would turn NaN into 0 where PyTorch keeps it.
  EXPECT_EQ(find_epilogue_op("relu")->cuda.at(0), "{x} < 0.f ? 0.f : {x}");
}

TEST(Ops, OnlyClampRequiresItsParameters) {
  for (const EpilogueOpInfo& op : epilogue_ops()) {
    for (const OpParam& param : op.params) {
      EXPECT_EQ(param.required, op.name == "clamp") << op.name << "." << param.name;
    }
  }
  const EpilogueOpInfo* leaky = find_epilogue_op("leaky_relu");
  ASSERT_EQ(leaky->params.size(), 1u);
  EXPECT_EQ(leaky->params[0].name, "negative_slope");
  EXPECT_EQ(leaky->params[0].default_value, 0.01);
}

}  // namespace
}  // namespace fusetune
