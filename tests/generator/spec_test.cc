#include "generator/spec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "generator/spec_parser.h"

namespace fusetune {
namespace {

struct CanonicalCase {
  std::string text;
  std::string canonical;
};

// clang-format off
const CanonicalCase kCanonicalCases[] = {
  {"linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
   "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"},
  {"linear(k=8192,m=1024,n=8192)->bias->mul(2)->leaky_relu(negative_slope=0.1)",
   "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"},
  {"matmul(m=64, n=32, k=16, transpose_b=true) -> add(tensor) -> gelu(tanh) -> clamp(-1.0, 1.0)",
   "matmul(m=64, n=32, k=16, transpose_b=true) -> add(tensor) -> gelu(tanh) -> clamp(-1.0, 1.0)"},
  {"matmul(transpose_b=true, transpose_a=true, m=1, n=2, k=3)",
   "matmul(m=1, n=2, k=3, transpose_a=true, transpose_b=true)"},
  {"matmul(m=1, n=2, k=3, transpose_a=false, transpose_b=false)",
   "matmul(m=1, n=2, k=3)"},
  // Defaults are written out; default modes and empty parentheses are not.
  {"linear(m=1, n=2, k=3) -> leaky_relu -> hardtanh() -> softplus(beta=2)",
   "linear(m=1, n=2, k=3) -> leaky_relu(0.01) -> hardtanh(-1.0, 1.0) -> softplus(2.0, 20.0)"},
  {"linear(m=1, n=2, k=3) -> gelu(erf) -> gelu(approximate=none) -> gelu(approximate=tanh) -> relu()",
   "linear(m=1, n=2, k=3) -> gelu -> gelu -> gelu(tanh) -> relu"},
  {"linear(m=1, n=2, k=3) -> silu -> sigmoid -> tanh -> hardswish -> mish",
   "linear(m=1, n=2, k=3) -> silu -> sigmoid -> tanh -> hardswish -> mish"},
  {"linear(m=1, n=2, k=3) -> add(column) -> sub(row) -> div(tensor) -> min(0) -> max(-3)",
   "linear(m=1, n=2, k=3) -> add(column) -> sub(row) -> div(tensor) -> min(0.0) -> max(-3.0)"},
  // Numbers: the shortest text that reads back as the same double.
  {"linear(m=1, n=2, k=3) -> mul(1e-5) -> mul(0.1) -> mul(+2.50) -> mul(1E20) -> mul(123456789)",
   "linear(m=1, n=2, k=3) -> mul(1e-05) -> mul(0.1) -> mul(2.5) -> mul(1e+20) -> mul(123456789.0)"},
  {"linear(m=1, n=2, k=3) -> mul(0.30000000000000004) -> mul(-0.0) -> mul(5e-324)",
   "linear(m=1, n=2, k=3) -> mul(0.30000000000000004) -> mul(-0.0) -> mul(5e-324)"},
};
// clang-format on

TEST(Spec, CanonicalTextIsFixedAndParsesBackToTheSameSpec) {
  for (const CanonicalCase& c : kCanonicalCases) {
    const Spec spec = parse_spec(c.text);
    EXPECT_EQ(spec.canonical(), c.canonical) << c.text;
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << c.text;
    EXPECT_EQ(parse_spec(c.canonical).canonical(), c.canonical) << c.text;
  }
}

TEST(Spec, CanonicalNumbersRoundTripExactly) {
  for (double value : {0.1, 1.0 / 3.0, -2.0, 6.02214076e23, 1e-300, 123.456, 1e16, 1e15}) {
    Spec spec = parse_spec("linear(m=1, n=1, k=1) -> mul(1.0)");
    std::get<EpilogueOp>(spec.chain[0]).scalars[0] = value;
    EXPECT_EQ(parse_spec(spec.canonical()), spec) << spec.canonical();
  }
}

TEST(Spec, SignatureElidesEveryScalarValue) {
  EXPECT_EQ(parse_spec("linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)")
                .signature(),
            "linear(m=1024, n=8192, k=8192) -> bias -> mul(_) -> leaky_relu(_)");
  EXPECT_EQ(parse_spec("matmul(m=64, n=32, k=16, transpose_a=true) -> add(tensor) -> gelu(tanh) "
                       "-> hardtanh -> relu -> sub(row)")
                .signature(),
            "matmul(m=64, n=32, k=16, transpose_a=true) -> add(tensor) -> gelu(tanh) -> "
            "hardtanh(_, _) -> relu -> sub(row)");
}

TEST(Spec, SpecsDifferingOnlyInScalarValuesShareASignature) {
  const Spec a = parse_spec("linear(m=8, n=8, k=8) -> mul(2.0) -> leaky_relu(0.1)");
  const Spec b = parse_spec("linear(m=8, n=8, k=8) -> mul(-3.0) -> leaky_relu");
  EXPECT_NE(a, b);
  EXPECT_NE(a.canonical(), b.canonical());
  EXPECT_EQ(a.signature(), b.signature());
  EXPECT_NE(a.signature(),
            parse_spec("linear(m=8, n=8, k=8) -> mul(row) -> leaky_relu").signature());
}

std::vector<std::pair<std::string, std::vector<std::int64_t>>> tensor_list(const Spec& spec) {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> list;
  for (const TensorArg& tensor : spec.tensors()) list.emplace_back(tensor.name, tensor.shape);
  return list;
}

using Tensors = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

TEST(Spec, LinearReadsXAndWeightThenEpilogueOperands) {
  const Spec spec =
      parse_spec("linear(m=4, n=8, k=16) -> bias -> mul(column) -> add(row) -> add(tensor)");
  EXPECT_EQ(tensor_list(spec), (Tensors{{"x", {4, 16}},
                                        {"weight", {8, 16}},
                                        {"bias", {8}},
                                        {"mul_column", {8}},
                                        {"add_row", {4}},
                                        {"add_tensor", {4, 8}}}));
}

TEST(Spec, MatmulOperandShapesFollowTheTransposes) {
  EXPECT_EQ(tensor_list(parse_spec("matmul(m=4, n=8, k=16)")),
            (Tensors{{"a", {4, 16}}, {"b", {16, 8}}}));
  EXPECT_EQ(tensor_list(parse_spec("matmul(m=4, n=8, k=16, transpose_a=true, transpose_b=true)")),
            (Tensors{{"a", {16, 4}}, {"b", {8, 16}}}));
}

TEST(Spec, RepeatedTensorNamesGetNumberedSuffixes) {
  const Spec spec = parse_spec(
      "linear(m=4, n=8, k=16) -> add(tensor) -> bias -> add(tensor) -> bias -> add(tensor) "
      "-> mul(2.0)");
  EXPECT_EQ(tensor_list(spec), (Tensors{{"x", {4, 16}},
                                        {"weight", {8, 16}},
                                        {"add_tensor", {4, 8}},
                                        {"bias", {8}},
                                        {"add_tensor_2", {4, 8}},
                                        {"bias_2", {8}},
                                        {"add_tensor_3", {4, 8}}}));
}

std::vector<std::pair<std::string, double>> scalar_list(const Spec& spec) {
  std::vector<std::pair<std::string, double>> list;
  for (const ScalarArg& scalar : spec.scalars()) list.emplace_back(scalar.name, scalar.value);
  return list;
}

using Scalars = std::vector<std::pair<std::string, double>>;

TEST(Spec, ScalarsAreNamedByOpAndParameterInChainOrder) {
  const Spec spec = parse_spec(
      "linear(m=4, n=8, k=16) -> bias -> mul(2.0) -> leaky_relu(0.1) -> add(column) -> "
      "hardtanh(max_val=3.0) -> gelu(tanh) -> relu");
  EXPECT_EQ(scalar_list(spec), (Scalars{{"mul.value", 2.0},
                                        {"leaky_relu.negative_slope", 0.1},
                                        {"hardtanh.min_val", -1.0},
                                        {"hardtanh.max_val", 3.0}}));
}

TEST(Spec, RepeatedScalarNamesGetNumberedSuffixes) {
  const Spec spec = parse_spec(
      "linear(m=4, n=8, k=16) -> mul(2.0) -> leaky_relu(0.2) -> mul(3.0) -> leaky_relu(0.3) "
      "-> mul(4.0) -> clamp(0.0, 6.0) -> clamp(1.0, 2.0)");
  EXPECT_EQ(scalar_list(spec), (Scalars{{"mul.value", 2.0},
                                        {"leaky_relu.negative_slope", 0.2},
                                        {"mul.value_2", 3.0},
                                        {"leaky_relu.negative_slope_2", 0.3},
                                        {"mul.value_3", 4.0},
                                        {"clamp.min", 0.0},
                                        {"clamp.max", 6.0},
                                        {"clamp.min_2", 1.0},
                                        {"clamp.max_2", 2.0}}));
}

TEST(Spec, OutputShapeAndFlopsComeFromTheMainOp) {
  const Spec spec = parse_spec("linear(m=1024, n=8192, k=8192) -> bias -> relu");
  EXPECT_EQ(spec.output_shape(), (std::vector<std::int64_t>{1024, 8192}));
  EXPECT_DOUBLE_EQ(spec.flops(), 2.0 * 1024 * 8192 * 8192);
  // No 32-bit overflow at extents larger than the parser accepts.
  Spec huge;
  huge.main = {.kind = MainOpKind::matmul, .m = 2147483647, .n = 2147483647, .k = 2};
  EXPECT_DOUBLE_EQ(huge.flops(), 4.0 * 2147483647.0 * 2147483647.0);
}

TEST(Spec, KContiguityFollowsTheLayouts) {
  const MainOp linear = parse_spec("linear(m=1, n=1, k=1)").main;
  EXPECT_TRUE(linear.a_k_contiguous());
  EXPECT_TRUE(linear.b_k_contiguous());
  const MainOp plain = parse_spec("matmul(m=1, n=1, k=1)").main;
  EXPECT_TRUE(plain.a_k_contiguous());
  EXPECT_FALSE(plain.b_k_contiguous());
  const MainOp transposed =
      parse_spec("matmul(m=1, n=1, k=1, transpose_a=true, transpose_b=true)").main;
  EXPECT_FALSE(transposed.a_k_contiguous());
  EXPECT_TRUE(transposed.b_k_contiguous());
}

TEST(Spec, CanonicalNumberAlwaysReadsAsAReal) {
  EXPECT_EQ(canonical_number(2.0), "2.0");
  EXPECT_EQ(canonical_number(-0.5), "-0.5");
  EXPECT_EQ(canonical_number(0.1), "0.1");
  EXPECT_EQ(canonical_number(1e-5), "1e-05");
  EXPECT_EQ(canonical_number(1e20), "1e+20");
  EXPECT_EQ(canonical_number(1e15), "1000000000000000.0");
}

}  // namespace
}  // namespace fusetune
