// The ops' derivatives (generator/ops.h OpDerivative): every op declares one; its fp64
// reference agrees with central differences of the op's own fp64 reference wherever the op is
// smooth, and takes PyTorch's values at the kinks; its CUDA text reads only what the op says
// it keeps and compiles under NVRTC.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "generator/ops.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

// An op as a spec writes it: binary ops on a column operand, unary ops with their defaults
// (clamp's required bounds -0.5 and 2).
EpilogueOp written(const EpilogueOpInfo& info, int mode = 0) {
  EpilogueOp op{
      .name = std::string(info.name), .operand = OperandKind::none, .scalars = {}, .mode = mode};
  if (info.binary) {
    op.operand = OperandKind::column;
  } else {
    for (const OpParam& p : info.params) op.scalars.push_back(p.required ? 0.0 : p.default_value);
    if (info.name == "clamp") op.scalars = {-0.5, 2.0};
  }
  return op;
}

int modes_of(const EpilogueOpInfo& info) { return std::max<int>(1, info.modes.size()); }

// Points where every op is smooth: away from 0, +-3, the clamps' bounds, softplus' threshold,
// and (for min and max) from y.
const std::vector<double> kSmoothPoints = {-7.3, -2.6, -1.7, -0.8, -0.35, 0.21, 0.55,
                                           0.9,  1.4,  2.2,  2.8,  4.1,   6.5};
constexpr double kY = 0.7;  // the second input of binary ops

double central_difference(const EpilogueOp& op, double x, double y, bool in_y) {
  const double h = 1e-6 * std::max(1.0, std::fabs(in_y ? y : x));
  auto f = [&](double dx, double dy) { return apply_reference(op, x + dx, y + dy); };
  return in_y ? (f(0, h) - f(0, -h)) / (2 * h) : (f(h, 0) - f(-h, 0)) / (2 * h);
}

TEST(OpDerivatives, EveryOpDeclaresItsDerivativeForEveryMode) {
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    const OpDerivative& d = info.derivative;
    EXPECT_NE(d.reference, nullptr) << info.name;
    EXPECT_EQ(static_cast<int>(d.cuda.size()), modes_of(info)) << info.name;
    EXPECT_EQ(info.binary, d.reference_dy != nullptr) << info.name;
    EXPECT_EQ(info.binary, !d.cuda_dy.empty()) << info.name;
  }
}

TEST(OpDerivatives, TheReferencesAgreeWithCentralDifferencesWhereTheOpIsSmooth) {
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    for (int mode = 0; mode < modes_of(info); ++mode) {
      const EpilogueOp op = written(info, mode);
      for (double x : kSmoothPoints) {
        const OpSlopes slopes = apply_derivative_reference(op, x, kY);
        const double dx = central_difference(op, x, kY, false);
        EXPECT_NEAR(slopes.dx, dx, 1e-6 * std::max(1.0, std::fabs(dx)))
            << info.name << " mode " << mode << " at x = " << x;
        if (!info.binary) continue;
        const double dy = central_difference(op, x, kY, true);
        EXPECT_NEAR(slopes.dy, dy, 1e-6 * std::max(1.0, std::fabs(dy)))
            << info.name << " d/dy at x = " << x;
      }
    }
  }
}

double dx_at(std::string_view name, double x, std::vector<double> scalars = {}) {
  EpilogueOp op = written(*find_epilogue_op(name));
  if (!scalars.empty()) op.scalars = scalars;
  return apply_derivative_reference(op, x, kY).dx;
}

TEST(OpDerivatives, TheKinksTakePyTorchsValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(dx_at("relu", 0), 0);
  EXPECT_EQ(dx_at("relu", nan), 0);  // threshold_backward: x > 0 is false
  EXPECT_EQ(dx_at("leaky_relu", 0), 0.01);
  EXPECT_EQ(dx_at("leaky_relu", -2, {-0.5}), -0.5);  // a negative slope: the input decides
  EXPECT_EQ(dx_at("hardtanh", -1), 0);               // at its bounds: zero
  EXPECT_EQ(dx_at("hardtanh", 1), 0);
  EXPECT_EQ(dx_at("hardtanh", nan), 1);  // passes NaN's gradient
  EXPECT_EQ(dx_at("clamp", -0.5), 1);    // at its bounds: passed
  EXPECT_EQ(dx_at("clamp", 2), 1);
  EXPECT_EQ(dx_at("clamp", nan), 0);
  EXPECT_EQ(dx_at("hardswish", -3), -0.5);  // x / 3 + 1/2 from -3 on, inclusive of 3
  EXPECT_EQ(dx_at("hardswish", 3), 1.5);
  EXPECT_EQ(dx_at("softplus", 21), 1);  // beyond the threshold: x itself
  const EpilogueOp min = written(*find_epilogue_op("min"));
  EXPECT_EQ(apply_derivative_reference(min, 0.7, 0.7).dx, 0.5);  // an even split
  EXPECT_EQ(apply_derivative_reference(min, 0.7, 0.7).dy, 0.5);
  EpilogueOp mul_scalar = written(*find_epilogue_op("mul"));
  mul_scalar.operand = OperandKind::scalar;
  mul_scalar.scalars = {2.5};
  EXPECT_EQ(apply_derivative_reference(mul_scalar, -4, 0).dx, 2.5);
}

TEST(OpDerivatives, TheCudaReadsOnlyWhatTheOpKeeps) {
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    const OpDerivative& d = info.derivative;
    std::vector<std::string_view> texts(d.cuda.begin(), d.cuda.end());
    if (info.binary) texts.push_back(d.cuda_dy);
    for (std::string_view text : texts) {
      const bool reads_x = text.find("{x}") != std::string_view::npos;
      const bool reads_o = text.find("{o}") != std::string_view::npos;
      EXPECT_FALSE(reads_x && d.keeps != Keeps::input) << info.name << ": " << text;
      EXPECT_FALSE(reads_o && d.keeps != Keeps::output) << info.name << ": " << text;
    }
  }
}

TEST(OpDerivatives, TheCudaCompiles) {
  // One kernel evaluating every derivative text on its placeholders' variables.
  std::string body;
  int i = 0;
  for (const EpilogueOpInfo& info : epilogue_ops()) {
    std::vector<std::string_view> texts(info.derivative.cuda.begin(), info.derivative.cuda.end());
    if (info.binary) texts.push_back(info.derivative.cuda_dy);
    for (std::string_view text : texts)
      body +=
          fmt::format("  out[{}] = {};\n", i++,
                      fmt::format(fmt::runtime(text), fmt::arg("x", "x"), fmt::arg("o", "o"),
                                  fmt::arg("y", "y"), fmt::arg("p0", "p0"), fmt::arg("p1", "p1")));
  }
  const std::string source = fmt::format(
      "extern \"C\" __global__ void derivatives(const float* in, float* out) {{\n"
      "  const float x = in[0], o = in[1], y = in[2], p0 = in[3], p1 = in[4];\n{}}}\n",
      body);
  const CompiledBinary binary = compile_to_cubin(source, "derivatives", "sm_80");
  EXPECT_GT(binary.cubin.size(), 0u) << binary.log;
}

}  // namespace
}  // namespace fusetune
