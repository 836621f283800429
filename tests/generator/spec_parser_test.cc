#include "generator/spec_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "generator/ops.h"

namespace fusetune {
namespace {

// The SpecError that parsing `text` throws; a test failure when it parses.
SpecError parse_error(std::string_view text) {
  try {
    parse_spec(text);
  } catch (const SpecError& error) {
    return error;
  }
  ADD_FAILURE() << "parsed without an error: " << text;
  return SpecError("(none)", text, 0);
}

EpilogueOp op(std::string name, OperandKind operand = OperandKind::none,
              std::vector<double> scalars = {}, int mode = 0) {
  return {std::move(name), operand, std::move(scalars), mode};
}

// Every epilogue op after a fixed main op.
std::vector<EpilogueOp> epilogue_of(const std::string& chain) {
  std::vector<EpilogueOp> ops;
  for (const ChainOp& op : parse_spec("linear(m=4, n=8, k=16) -> " + chain).chain)
    ops.push_back(std::get<EpilogueOp>(op));
  return ops;
}

TEST(SpecParser, ParsesLinear) {
  const Spec spec = parse_spec("linear(m=1024, n=8192, k=4096)");
  EXPECT_EQ(spec.main, (MainOp{.kind = MainOpKind::linear, .m = 1024, .n = 8192, .k = 4096}));
  EXPECT_TRUE(spec.chain.empty());
}

TEST(SpecParser, ParsesMatmulWithTransposes) {
  const Spec spec = parse_spec("matmul(m=64, n=32, k=16, transpose_a=true, transpose_b=false)");
  EXPECT_EQ(spec.main, (MainOp{.kind = MainOpKind::matmul,
                               .m = 64,
                               .n = 32,
                               .k = 16,
                               .transpose_a = true,
                               .transpose_b = false}));
}

TEST(SpecParser, ParsesSixteenBitInputsAndAnFp32Output) {
  const Spec bf16 = parse_spec("linear(m=4, n=8, k=16, dtype=bf16)");
  EXPECT_EQ(bf16.main.dtype, DataType::bf16);
  EXPECT_EQ(bf16.main.output_dtype(), DataType::bf16);
  const Spec fp16 = parse_spec("matmul(m=4, n=8, k=16, out_dtype=fp32, dtype=fp16)");
  EXPECT_EQ(fp16.main.dtype, DataType::fp16);
  EXPECT_EQ(fp16.main.output_dtype(), DataType::fp32);
  EXPECT_EQ(fp16.canonical(), "matmul(m=4, n=8, k=16, dtype=fp16, out_dtype=fp32)");
  // Writing a default spells the same spec as leaving it out.
  EXPECT_EQ(parse_spec("linear(m=4, n=8, k=16, dtype=bf16, out_dtype=bf16)"), bf16);
  EXPECT_EQ(parse_spec("linear(m=4, n=8, k=16, dtype=fp32)").canonical(), "linear(m=4, n=8, k=16)");
}

TEST(SpecParser, EveryTensorHasTheInputsType) {
  const Spec spec = parse_spec("linear(m=4, n=8, k=16, dtype=fp16) -> bias -> add(tensor)");
  for (const TensorArg& tensor : spec.tensors())
    EXPECT_EQ(tensor.dtype, DataType::fp16) << tensor.name;
}

TEST(SpecParser, MainOpArgumentsComeInAnyOrder) {
  EXPECT_EQ(parse_spec("matmul(transpose_b=true, k=3, n=2, m=1)"),
            parse_spec("matmul(m=1, n=2, k=3, transpose_b=true)"));
}

// Within the limits on tensor sizes (spec_limits_test.cc): a GEMM's extents up to 2^30.
TEST(SpecParser, ExtentsSpanOneToInt32Max) {
  const Spec spec = parse_spec("linear(m=1, n=1073741824, k=+1)");
  EXPECT_EQ(spec.main.m, 1);
  EXPECT_EQ(spec.main.n, 1073741824);
  EXPECT_EQ(spec.main.k, 1);
  EXPECT_EQ(parse_spec("conv2d(n=1, c=1, h=1, w=2147483647, k=1, kernel=1)").main.conv.size[2],
            2147483647);
}

TEST(SpecParser, ParsesTheKernelBenchExample) {
  const Spec spec =
      parse_spec("linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)");
  EXPECT_EQ(spec.chain, (std::vector<ChainOp>{op("bias", OperandKind::column),
                                              op("mul", OperandKind::scalar, {2.0}),
                                              op("leaky_relu", OperandKind::none, {0.1})}));
}

TEST(SpecParser, BinaryOpsTakeANumberOrAnOperandKind) {
  for (const char* name : {"add", "sub", "mul", "div", "min", "max"}) {
    const std::string n = name;
    EXPECT_EQ(epilogue_of(n + "(-0.5) -> " + n + "(column) -> " + n + "(row) -> " + n + "(tensor)"),
              (std::vector{op(n, OperandKind::scalar, {-0.5}), op(n, OperandKind::column),
                           op(n, OperandKind::row), op(n, OperandKind::tensor)}))
        << name;
  }
}

TEST(SpecParser, OpsWithoutParametersTakeOptionalParentheses) {
  for (const char* name : {"relu", "silu", "sigmoid", "tanh", "hardswish", "mish"}) {
    const std::string n = name;
    EXPECT_EQ(epilogue_of(n + " -> " + n + "()"), (std::vector{op(n), op(n)})) << name;
  }
}

TEST(SpecParser, ParametersArePositionalOrNamedWithDefaults) {
  EXPECT_EQ(epilogue_of("leaky_relu"), (std::vector{op("leaky_relu", OperandKind::none, {0.01})}));
  EXPECT_EQ(epilogue_of("leaky_relu()"), epilogue_of("leaky_relu(0.01)"));
  EXPECT_EQ(epilogue_of("leaky_relu(negative_slope=0.2)"), epilogue_of("leaky_relu(0.2)"));
  EXPECT_EQ(epilogue_of("hardtanh"), (std::vector{op("hardtanh", OperandKind::none, {-1.0, 1.0})}));
  EXPECT_EQ(epilogue_of("hardtanh(-2.0)"),
            (std::vector{op("hardtanh", OperandKind::none, {-2.0, 1.0})}));
  EXPECT_EQ(epilogue_of("hardtanh(max_val=3.0)"),
            (std::vector{op("hardtanh", OperandKind::none, {-1.0, 3.0})}));
  EXPECT_EQ(epilogue_of("hardtanh(-2.0, max_val=3.0)"), epilogue_of("hardtanh(-2.0, 3.0)"));
  EXPECT_EQ(epilogue_of("hardtanh(max_val=3.0, min_val=-2.0)"), epilogue_of("hardtanh(-2.0, 3.0)"));
  EXPECT_EQ(epilogue_of("clamp(-1.5, 2.5)"),
            (std::vector{op("clamp", OperandKind::none, {-1.5, 2.5})}));
  EXPECT_EQ(epilogue_of("clamp(max=2.5, min=-1.5)"), epilogue_of("clamp(-1.5, 2.5)"));
  EXPECT_EQ(epilogue_of("softplus"), (std::vector{op("softplus", OperandKind::none, {1.0, 20.0})}));
  EXPECT_EQ(epilogue_of("softplus(beta=2.0, threshold=10.0)"), epilogue_of("softplus(2.0, 10.0)"));
}

TEST(SpecParser, GeluModesHaveTheirOwnAndPyTorchSpellings) {
  const std::vector erf = {op("gelu", OperandKind::none, {}, 0)};
  const std::vector tanh = {op("gelu", OperandKind::none, {}, 1)};
  EXPECT_EQ(epilogue_of("gelu"), erf);
  EXPECT_EQ(epilogue_of("gelu()"), erf);
  EXPECT_EQ(epilogue_of("gelu(erf)"), erf);
  EXPECT_EQ(epilogue_of("gelu(approximate=none)"), erf);
  EXPECT_EQ(epilogue_of("gelu(tanh)"), tanh);
  EXPECT_EQ(epilogue_of("gelu(approximate=tanh)"), tanh);
}

TEST(SpecParser, EveryRegisteredOpParses) {
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    std::string text(info.name);
    if (info.binary && info.fixed_operand == OperandKind::none) text += "(1.0)";
    const bool required = std::any_of(info.params.begin(), info.params.end(),
                                      [](const OpParam& param) { return param.required; });
    if (required) {
      text += "(0.0";
      for (std::size_t i = 1; i < info.params.size(); ++i) text += ", 1.0";
      text += ")";
    }
    const std::vector<EpilogueOp> chain = epilogue_of(text);
    ASSERT_EQ(chain.size(), 1u) << text;
    EXPECT_EQ(chain[0].name, info.name);
    EXPECT_EQ(chain[0].scalars.size(), info.binary
                                           ? (info.fixed_operand == OperandKind::none ? 1u : 0u)
                                           : info.params.size())
        << text;
  }
}

TEST(SpecParser, NumbersHaveSignsFractionsAndExponents) {
  const std::vector<EpilogueOp> chain =
      epilogue_of("mul(2) -> mul(-0.5) -> mul(+3.25) -> mul(1e-5) -> mul(2.5E+3) -> mul(-0)");
  std::vector<double> values;
  for (const EpilogueOp& o : chain) values.push_back(o.scalars.at(0));
  EXPECT_EQ(values, (std::vector{2.0, -0.5, 3.25, 1e-5, 2500.0, -0.0}));
}

TEST(SpecParser, WhitespaceIsFreeBetweenTokens) {
  const Spec compact =
      parse_spec("linear(m=1,n=2,k=3)->bias->mul(2.0)->hardtanh(-1.0,max_val=2.0)");
  EXPECT_EQ(parse_spec("  linear ( m = 1 , n = 2 , k = 3 )  ->  bias  ->  mul ( 2.0 )  ->  "
                       "hardtanh ( -1.0 , max_val = 2.0 )  "),
            compact);
  EXPECT_EQ(
      parse_spec("\tlinear(m=1,\tn=2, k=3)\n->bias -> mul(2.0) ->hardtanh(-1.0, max_val=2.0)\n"),
      compact);
}

// An error names what is wrong, quotes the spec and puts a caret under the offending character.
TEST(SpecParser, ErrorMessageQuotesTheSpecAndPointsAtTheCharacter) {
  const SpecError error = parse_error("linear(m=1024, n=8192, k=8192) -> mul(2.0 -> relu");
  EXPECT_STREQ(error.what(),
               "invalid spec: expected ')' to close the arguments of mul\n"
               "  linear(m=1024, n=8192, k=8192) -> mul(2.0 -> relu\n"
               "                                            ^");
  EXPECT_EQ(error.position(), 42u);
  EXPECT_EQ(error.code(), StatusCode::invalid_spec);
}

struct ErrorCase {
  std::string text;
  std::string caret;  // written under `text`: '^' marks the offending character
  std::string problem;
};

// clang-format off
const ErrorCase kErrorCases[] = {
  // Empty specs, and main ops.
  {"",
   "^",
   "the spec is empty: write a main op, such as linear(m=1024, n=1024, k=1024)"},
  {"   ",
   "   ^",
   "the spec is empty: write a main op, such as linear(m=1024, n=1024, k=1024)"},
  {"conv2d(m=1, n=1, k=1)",
   "       ^",
   "unknown argument 'm' of conv2d; its arguments are n, c, h, w, k, kernel, stride, padding, "
   "dilation, groups, dtype"},
  {"lineer(m=1, n=1, k=1)",
   "^",
   "unknown main op 'lineer'; did you mean 'linear'?"},
  {"relu",
   "^",
   "relu is an epilogue op; a spec starts with a main op: linear, matmul, conv2d, conv3d, conv_transpose2d, conv_transpose3d"},
  {"-> relu",
   "^",
   "expected a main op: linear, matmul, conv2d, conv3d, conv_transpose2d, conv_transpose3d"},
  {"linear m=1",
   "       ^",
   "expected '(' after linear: write linear(m=..., n=..., k=...)"},
  {"linear(m=1, n=1)",
   "               ^",
   "missing argument k of linear; it needs m, n and k"},
  {"linear()",
   "       ^",
   "missing argument m of linear; it needs m, n and k"},
  {"linear(m=1, n=1, m=2, k=1)",
   "                 ^",
   "duplicate argument 'm' of linear"},
  {"linear(m=1, n=1, k=1, bias=true)",
   "                      ^",
   "unknown argument 'bias' of linear; its arguments are m, n, k, dtype, out_dtype"},
  {"matmul(m=1, n=1, k=1, transpose_c=true)",
   "                      ^",
   "unknown argument 'transpose_c' of matmul; its arguments are m, n, k, transpose_a, transpose_b, dtype, out_dtype"},
  {"linear(m=1, n=1, k=1, transpose_b=true)",
   "                      ^",
   "linear takes no 'transpose_b': use matmul for transposed operands"},
  {"linear(m=1, n=1, k=1, dtype=fp64)",
   "                            ^",
   "dtype must be fp32, bf16 or fp16"},
  {"linear(m=1, n=1, k=1, dtype=bf16, out_dtype=fp16)",
   "                                            ^",
   "out_dtype must be the inputs' type (bf16) or fp32"},
  {"linear(1024, 1024, 1024)",
   "       ^",
   "expected an argument of linear: m, n, k, dtype, out_dtype"},
  {"linear(m=1, n=1, k=1,)",
   "                     ^",
   "expected an argument of linear: m, n, k, dtype, out_dtype"},
  {"linear(m 1, n=1, k=1)",
   "         ^",
   "expected '=' after m: main-op arguments are named, as in m=1"},
  {"linear(m=1 n=1, k=1)",
   "           ^",
   "expected ',' or ')' after an argument of linear"},
  {"matmul(m=1, n=1, k=1, transpose_a=yes)",
   "                                  ^",
   "transpose_a must be true or false"},
  // Extents.
  {"linear(m=0, n=1, k=1)",
   "         ^",
   "m must be an integer from 1 to 2147483647"},
  {"linear(m=1, n=-4, k=1)",
   "              ^",
   "n must be an integer from 1 to 2147483647"},
  {"linear(m=1, n=1, k=2147483648)",
   "                   ^",
   "k must be an integer from 1 to 2147483647"},
  {"linear(m=1, n=1, k=99999999999999999999999)",
   "                   ^",
   "k must be an integer from 1 to 2147483647"},
  {"linear(m=1.5, n=1, k=1)",
   "         ^",
   "m must be an integer from 1 to 2147483647"},
  {"linear(m=1e3, n=1, k=1)",
   "         ^",
   "m must be an integer from 1 to 2147483647"},
  {"linear(m=big, n=1, k=1)",
   "         ^",
   "m must be an integer from 1 to 2147483647"},
  // Numbers.
  {"linear(m=1, n=1, k=1) -> mul(1.)",
   "                               ^",
   "expected a digit after '.' in a number"},
  {"linear(m=1, n=1, k=1) -> mul(.5)",
   "                             ^",
   "a number starts with a digit: write 0.5, not .5"},
  {"linear(m=1, n=1, k=1) -> mul(-.5)",
   "                              ^",
   "a number starts with a digit: write 0.5, not .5"},
  {"linear(m=1, n=1, k=1) -> mul(1e)",
   "                               ^",
   "expected a digit in the exponent of a number"},
  {"linear(m=1, n=1, k=1) -> mul(2x)",
   "                              ^",
   "malformed number: unexpected 'x'"},
  {"linear(m=1, n=1, k=1) -> mul(1.2.3)",
   "                                ^",
   "malformed number: unexpected '.'"},
  {"linear(m=1, n=1, k=1) -> mul(1e999)",
   "                             ^",
   "number 1e999 is out of the range of a double"},
  {"linear(m=1, n=1, k=1) -> mul(nan)",
   "                             ^",
   "unknown operand 'nan' of mul: expected a number, column, row, tensor, channel or main; NaN and infinity are not allowed"},
  {"linear(m=1, n=1, k=1) -> mul(-inf)",
   "                              ^",
   "expected a digit after the sign: numbers are finite (no NaN or infinity)"},
  {"linear(m=1, n=1, k=1) -> leaky_relu(inf)",
   "                                    ^",
   "expected a number for negative_slope of leaky_relu; NaN and infinity are not allowed"},
  // Binary ops.
  {"linear(m=1, n=1, k=1) -> mul(columns)",
   "                             ^",
   "unknown operand 'columns' of mul: expected a number, column, row, tensor, channel or main"},
  {"linear(m=1, n=1, k=1) -> mul",
   "                            ^",
   "mul needs one argument: write mul(2.0), mul(column), mul(row), mul(tensor), mul(channel) or mul(main)"},
  {"linear(m=1, n=1, k=1) -> add() -> relu",
   "                             ^",
   "add needs one argument: write add(2.0), add(column), add(row), add(tensor), add(channel) or add(main)"},
  {"linear(m=1, n=1, k=1) -> mul(2.0, 3.0)",
   "                                  ^",
   "too many arguments for mul: it takes one; write mul(2.0), mul(column), mul(row), mul(tensor), mul(channel) or mul(main)"},
  {"linear(m=1, n=1, k=1) -> div(value=2.0)",
   "                             ^",
   "div takes no named arguments: write div(2.0), div(column), div(row), div(tensor), div(channel) or div(main)"},
  {"linear(m=1, n=1, k=1) -> bias(column)",
   "                             ^",
   "bias takes no arguments: write it without parentheses"},
  // Unary ops.
  {"linear(m=1, n=1, k=1) -> leaky_relu(0.1, 0.2)",
   "                                         ^",
   "too many arguments for leaky_relu; usage: leaky_relu(negative_slope=0.01)"},
  {"linear(m=1, n=1, k=1) -> leaky_relu(slope=0.1)",
   "                                    ^",
   "unknown argument 'slope' of leaky_relu; usage: leaky_relu(negative_slope=0.01)"},
  {"linear(m=1, n=1, k=1) -> leaky_relu(0.1, negative_slope=0.2)",
   "                                         ^",
   "negative_slope of leaky_relu is given twice"},
  {"linear(m=1, n=1, k=1) -> leaky_relu(negative_slope=)",
   "                                                   ^",
   "expected a value for negative_slope of leaky_relu"},
  {"linear(m=1, n=1, k=1) -> hardtanh(max_val=2.0, -2.0)",
   "                                               ^",
   "positional argument after a named one; usage: hardtanh(min_val=-1.0, max_val=1.0)"},
  {"linear(m=1, n=1, k=1) -> clamp(-1.0)",
   "                                   ^",
   "missing argument max of clamp; usage: clamp(min, max)"},
  {"linear(m=1, n=1, k=1) -> clamp",
   "                              ^",
   "missing argument min of clamp; usage: clamp(min, max)"},
  {"linear(m=1, n=1, k=1) -> relu(0.5)",
   "                              ^",
   "relu takes no arguments: write relu"},
  {"linear(m=1, n=1, k=1) -> softplus(2.0,)",
   "                                      ^",
   "expected an argument of softplus; usage: softplus(beta=1.0, threshold=20.0)"},
  {"linear(m=1, n=1, k=1) -> gelu(fast)",
   "                              ^",
   "unknown mode 'fast' of gelu; its modes are erf, tanh (approximate=none names erf)"},
  {"linear(m=1, n=1, k=1) -> gelu(approximate=fast)",
   "                                          ^",
   "unknown mode 'fast' of gelu; its modes are erf, tanh (approximate=none names erf)"},
  {"linear(m=1, n=1, k=1) -> gelu(tanh, erf)",
   "                                    ^",
   "the mode of gelu is given twice"},
  {"linear(m=1, n=1, k=1) -> gelu(1.0)",
   "                              ^",
   "gelu takes no numbers; usage: gelu(erf|tanh)"},
  // Unknown ops.
  {"linear(m=1, n=1, k=1) -> leaky_rlu(0.1)",
   "                         ^",
   "unknown op 'leaky_rlu'; did you mean 'leaky_relu'?"},
  {"linear(m=1, n=1, k=1) -> ReLU",
   "                         ^",
   "unknown op 'ReLU'; did you mean 'relu'?"},
  {"linear(m=1, n=1, k=1) -> frobnicate",
   "                         ^",
   "unknown op 'frobnicate'; the elementwise ops are bias, add, sub, mul, div, min, max, relu, "
   "leaky_relu, gelu, silu, sigmoid, tanh, hardtanh, clamp, hardswish, mish, softplus, save, the pool "
   "steps max_pool2d, max_pool3d, avg_pool2d, avg_pool3d, global_avg_pool, and the reductions "
   "sum, mean, amax, amin, logsumexp, softmax, log_softmax, layer_norm, rms_norm, group_norm, "
   "instance_norm, batch_norm"},
  {"linear(m=1, n=1, k=1) -> matmul(m=1, n=1, k=1)",
   "                         ^",
   "matmul is a main op; only the first op of a spec can be one"},
  // Structure.
  {"linear(m=1, n=1, k=1) ->",
   "                        ^",
   "expected an epilogue op after '->'"},
  {"linear(m=1, n=1, k=1) -> -> relu",
   "                         ^",
   "expected an epilogue op after '->'"},
  {"linear(m=1, n=1, k=1) relu",
   "                      ^",
   "expected '->' or the end of the spec after linear"},
  {"linear(m=1, n=1, k=1) -> relu)",
   "                             ^",
   "expected '->' or the end of the spec after relu"},
  {"linear(m=1, n=1, k=1) -> mul(2.0) # scale",
   "                                  ^",
   "unexpected character '#'"},
  {"linear(m=1; n=1, k=1)",
   "          ^",
   "unexpected character ';'"},
};
// clang-format on

TEST(SpecParser, ErrorsSayWhatIsWrongAndWhere) {
  for (const ErrorCase& c : kErrorCases) {
    const SpecError error = parse_error(c.text);
    const std::size_t position = c.caret.find('^');
    EXPECT_EQ(error.position(), position) << c.text;
    EXPECT_EQ(error.what(), "invalid spec: " + c.problem + "\n  " + c.text + "\n  " + c.caret)
        << c.text;
  }
}

TEST(SpecParser, CaretStaysUnderTheCharacterAfterTabsAndNonAsciiText) {
  const SpecError tab = parse_error("linear(m=1,\tn=0, k=1)");
  EXPECT_EQ(tab.position(), 14u);
  EXPECT_STREQ(tab.what(),
               "invalid spec: n must be an integer from 1 to 2147483647\n"
               "  linear(m=1, n=0, k=1)\n"
               "                ^");

  // "é" is two bytes and one column.
  const SpecError utf8 = parse_error("linear(m=1, n=1, k=1) -> é");
  EXPECT_EQ(utf8.position(), 25u);
  EXPECT_STREQ(utf8.what(),
               "invalid spec: unexpected byte 0xc3\n"
               "  linear(m=1, n=1, k=1) -> é\n"
               "                           ^");
  const SpecError after = parse_error("linear(m=1, n=1, k=1) -> mul(\"é\")");
  EXPECT_EQ(after.position(), 29u);
}

std::string repeat(const std::string& op, int count) {
  std::string chain;
  for (int i = 0; i < count; ++i) chain += " -> " + op;
  return chain;
}

TEST(SpecParser, AKernelTakesAtMostSixteenTensors) {
  const std::string main = "linear(m=1, n=1, k=1)";
  // x and weight, then 14 operands.
  EXPECT_EQ(parse_spec(main + " -> bias" + repeat("add(tensor)", 13)).tensors().size(), 16u);

  const std::string text = main + " -> bias" + repeat("add(tensor)", 13) + " -> mul(row)";
  const SpecError error = parse_error(text);
  EXPECT_EQ(error.position(), text.rfind("mul"));
  EXPECT_EQ(std::string(error.what()).substr(0, std::string(error.what()).find('\n')),
            "invalid spec: too many tensors: 17 with this op, and a kernel takes at most 16 "
            "(main-op operands included)");
}

TEST(SpecParser, AKernelTakesAtMostSixteenScalars) {
  const std::string main = "linear(m=1, n=1, k=1)";
  EXPECT_EQ(parse_spec(main + repeat("hardtanh", 7) + repeat("mul(2.0)", 2)).scalars().size(), 16u);

  const std::string text = main + repeat("hardtanh", 7) + " -> mul(2.0) -> softplus";
  const SpecError error = parse_error(text);
  EXPECT_EQ(error.position(), text.rfind("softplus"));
  EXPECT_EQ(std::string(error.what()).substr(0, std::string(error.what()).find('\n')),
            "invalid spec: too many scalars: 17 with this op, and a kernel takes at most 16");
}

}  // namespace
}  // namespace fusetune
