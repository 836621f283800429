// The backward reference against central differences of the forward reference: for random
// directions, the change of <g, chain(z)> along them matches the gradients' inner products,
// for the main op's result and for every operand tensor (column, row, tensor, channel).
#include "tuner/reference_backward.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "generator/spec_parser.h"
#include "tuner/reference_epilogue.h"

namespace fusetune {
namespace {

std::vector<double> random_values(std::size_t count, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.5, 1.5);
  std::vector<double> v(count);
  for (double& x : v) x = dist(gen);
  return v;
}

// Operand values exactly representable in fp32 even when moved by kStep, and never 0 (a
// divisor): odd multiples of 2^-6.
std::vector<float> operand_values(std::size_t count, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> sixty_fourths(-48, 47);
  std::vector<float> v(count);
  for (float& x : v) x = static_cast<float>(2 * sixty_fourths(gen) + 1) / 64;
  return v;
}

constexpr double kStep = 1.0 / 4096;  // exact in fp32 beside the operands' values

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

class ReferenceBackwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceBackwardTest, GradientsMatchCentralDifferencesOfTheForward) {
  const Spec spec = parse_spec(GetParam());
  const std::vector<TensorArg> tensors = spec.tensors();
  std::vector<std::vector<float>> operands(tensors.size());
  for (std::size_t t = 2; t < tensors.size(); ++t) {
    std::size_t count = 1;
    for (std::int64_t d : tensors[t].shape) count *= d;
    operands[t] = operand_values(count, 100 + t);
    if (tensors[t].name.find("running_var") != std::string::npos)  // a variance: positive
      for (float& v : operands[t]) v = std::fabs(v) + 0.5f;
  }
  std::size_t count = 1, out_count = 1;
  for (std::int64_t d : spec.main_shape()) count *= d;
  for (std::int64_t d : spec.output_shape()) out_count *= d;
  const std::vector<double> z = random_values(count, 1);
  const std::vector<double> g = random_values(out_count, 2);
  auto loss = [&](const std::vector<double>& at, const std::vector<std::vector<float>>& with) {
    return dot(g, reference_epilogue(spec, at, [&](std::size_t i) { return with.at(i); }));
  };
  const ChainGradients grads =
      reference_chain_backward(spec, z, g, [&](std::size_t i) { return operands.at(i); });

  // Along the main op's result.
  const std::vector<double> v = random_values(count, 3);
  std::vector<double> up = z, down = z;
  for (std::size_t i = 0; i < count; ++i) {
    up[i] += 1e-6 * v[i];
    down[i] -= 1e-6 * v[i];
  }
  const double along_main = (loss(up, operands) - loss(down, operands)) / 2e-6;
  EXPECT_NEAR(dot(grads.main, v), along_main, 1e-6 * std::max(1.0, std::fabs(along_main)));

  // Along each operand tensor, one value at a time; running statistics are buffers, which get
  // no gradient (as in PyTorch).
  std::size_t buffers = 0;
  for (const TensorArg& t : tensors) buffers += t.name.find("running") != std::string::npos;
  ASSERT_EQ(grads.operands.size(), tensors.size() - 2 - buffers);
  for (const auto& [t, gradient] : grads.operands) {
    ASSERT_EQ(gradient.size(), operands[t].size()) << tensors[t].name;
    for (std::size_t j = 0; j < gradient.size(); j += 3) {
      std::vector<std::vector<float>> moved_up = operands, moved_down = operands;
      moved_up[t][j] += static_cast<float>(kStep);
      moved_down[t][j] -= static_cast<float>(kStep);
      const double want = (loss(z, moved_up) - loss(z, moved_down)) / (2 * kStep);
      EXPECT_NEAR(gradient[j], want, 1e-5 * std::max(1.0, std::fabs(want)))
          << tensors[t].name << "[" << j << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Chains, ReferenceBackwardTest,
    ::testing::Values(
        "linear(m=5, n=7, k=3) -> bias -> mul(2.0) -> leaky_relu(0.1) -> add(row) -> "
        "mul(column) -> gelu -> add(tensor) -> sigmoid",
        "linear(m=4, n=6, k=2) -> bias -> div(column) -> gelu(tanh) -> silu -> "
        "sub(tensor) -> tanh -> mish -> softplus(beta=2.0, threshold=3.0)",
        "linear(m=3, n=9, k=2) -> hardswish -> max(column) -> clamp(-0.5, 0.75) -> min(row) -> "
        "hardtanh",
        "conv2d(n=2, c=3, h=5, w=4, k=4, kernel=3, padding=1) -> bias -> mul(channel) -> relu -> "
        "add(tensor) -> tanh",
        // Pools: every window's largest value distinct (random values), windows that overlap,
        // padding, edges no window takes, and ops after the pool.
        "conv2d(n=2, c=2, h=7, w=6, k=3, kernel=2) -> bias -> leaky_relu(0.2) -> mul(channel) -> "
        "max_pool2d(2) -> tanh -> mul(0.5)",
        "conv3d(n=1, c=2, d=4, h=5, w=5, k=2, kernel=2) -> bias -> gelu -> "
        "max_pool3d(3, stride=2, padding=1)",
        "conv2d(n=1, c=2, h=6, w=7, k=3, kernel=2) -> add(channel) -> sigmoid -> "
        "avg_pool2d(3, stride=2, padding=1) -> softplus",
        // Reductions and normalizations: each group's backward, the weight's and bias's
        // gradients, ops after them.
        "linear(m=4, n=7, k=2) -> bias -> softmax(dim=1) -> mul(3.0)",
        "linear(m=5, n=6, k=2) -> mul(column) -> log_softmax(dim=0) -> tanh",
        "linear(m=3, n=8, k=2) -> bias -> logsumexp(dim=1) -> sigmoid",
        "linear(m=4, n=5, k=2) -> gelu -> sum(dim=1, keepdim=true)",
        "linear(m=4, n=5, k=2) -> tanh -> mean(dim=0)",
        "linear(m=3, n=6, k=2) -> bias -> amax(dim=1)",
        "linear(m=4, n=9, k=2) -> bias -> layer_norm(9) -> gelu",
        "linear(m=4, n=8, k=2) -> rms_norm(8) -> silu",
        "conv2d(n=2, c=2, h=4, w=5, k=4, kernel=2) -> bias -> group_norm(2) -> relu",
        "conv2d(n=2, c=2, h=4, w=4, k=3, kernel=2) -> instance_norm(affine=true) -> tanh",
        "conv2d(n=3, c=2, h=4, w=4, k=3, kernel=2) -> bias -> batch_norm -> sigmoid",
        "conv2d(n=2, c=2, h=4, w=4, k=3, kernel=2) -> batch_norm(training=false) -> tanh"));

TEST(ReferenceBackward, ChainsWithoutABackwardYetAreRefusedByName) {
  const auto refused = [](const std::string& text) {
    const Spec spec = parse_spec(text);
    std::size_t count = 1;
    for (std::int64_t d : spec.main_shape()) count *= d;
    std::vector<double> zeros(count);
    try {
      reference_chain_backward(spec, zeros, zeros,
                               [](std::size_t) { return std::vector<float>(); });
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refused("conv2d(n=1, c=2, h=8, w=8, k=2, kernel=1) -> max_pool2d(2) -> max_pool2d(2)")
                .find("a second has none yet"),
            std::string::npos);
  EXPECT_NE(refused("conv2d(n=1, c=2, h=4, w=4, k=2, kernel=1) -> max_pool2d(2) -> mul(channel)")
                .find("mul's operand after a pool step"),
            std::string::npos);
  EXPECT_NE(refused("linear(m=2, n=3, k=4) -> softmax(dim=1) -> sum(dim=1)")
                .find("a second has none yet"),
            std::string::npos);
  EXPECT_NE(
      refused("conv2d(n=1, c=2, h=4, w=4, k=2, kernel=1) -> bias -> mul(main)").find("mul(main)"),
      std::string::npos);
}

}  // namespace
}  // namespace fusetune
