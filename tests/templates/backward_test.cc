// A training step's kernels against fp64, on the GPU. The saving forward (a spec with `save`):
// the default kernel and the best predicted of every family, whose saved tensor the reference
// checks like an output. The chain's derivative (generator/chain_derivative.h): g' and every
// operand's gradient against the fp64 backward reference (tuner/reference_backward.h) on fresh
// random inputs, at shapes a multiple of nothing, one row, column sums split over blocks,
// channel sums, and pools.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "generator/chain_backward.h"
#include "generator/chain_derivative.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"
#include "tuner/device_buffer.h"
#include "tuner/operand_layout.h"
#include "tuner/reference_backward.h"

namespace fusetune {
namespace {

class SavingForwardTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SavingForwardTest, DefaultAndBestPredictedMatchTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const Spec spec = parse_spec(GetParam());
  for (Precision precision : {Precision::fp32, Precision::tf32x3}) {
    SCOPED_TRACE(std::string(to_string(precision)));
    std::vector<Candidate> candidates =
        best_predicted(search_space(spec, device.limits, precision), 4);
    candidates.push_back(default_candidate(spec, device.limits, precision));
    expect_candidates_match_reference(spec, precision, candidates, device);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, SavingForwardTest,
    ::testing::Values("linear(m=37, n=100, k=40) -> save -> bias -> mul(2.0) -> leaky_relu(0.1)",
                      "linear(m=1, n=300, k=64) -> bias -> save -> gelu",
                      "matmul(m=45, n=66, k=33, transpose_a=true) -> save -> relu",
                      // Pools after save: windows that leave edges out (pooled by a
                      // finishing kernel) and windows that tile the value (pooled in the
                      // direct family's epilogue); either way every element is saved.
                      "conv2d(n=2, c=3, h=9, w=11, k=8, kernel=3) -> save -> bias -> relu -> "
                      "max_pool2d(2)",
                      "conv2d(n=2, c=3, h=10, w=12, k=8, kernel=3) -> bias -> save -> relu -> "
                      "max_pool2d(2)"));

std::vector<float> random_values(std::size_t count, std::mt19937& rng, float low, float high) {
  std::uniform_real_distribution<float> d(low, high);
  std::vector<float> v(count);
  for (float& x : v) x = d(rng);
  return v;
}

DeviceBuffer upload(const std::vector<float>& values) {
  DeviceBuffer buffer(values.size() * sizeof(float));
  check_cuda(cudaMemcpy(buffer.as<float>(), values.data(), buffer.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  return buffer;
}

double norm(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

// ||got - want||, infinite where got is not finite.
double difference_norm(const std::vector<float>& got, const std::vector<double>& want) {
  double sum = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    sum += (got[i] - want[i]) * (got[i] - want[i]);
  }
  return std::sqrt(sum);
}

std::vector<float> download(const DeviceBuffer& buffer) {
  std::vector<float> values(buffer.bytes() / sizeof(float));
  check_cuda(cudaMemcpy(values.data(), buffer.as<float>(), buffer.bytes(), cudaMemcpyDeviceToHost),
             "downloading");
  return values;
}

class ChainDerivativeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ChainDerivativeTest, GPrimeAndOperandGradientsMatchTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const Spec spec = parse_spec(GetParam());
  const KernelSource source = emit_chain_derivative(spec);
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, device.arch());
  const LoadedKernel kernel(binary.cubin, source.name, source.launch, source.finishing);

  const std::vector<TensorArg> tensors = spec.tensors();
  const std::size_t operands = chain_operand_count(spec);
  const Layout layout = layout_of(spec.main_shape());
  const std::int64_t outputs = layout_of(spec.output_shape()).count;
  std::mt19937 rng(std::random_device{}());
  for (int run = 0; run < 2; ++run) {  // twice: the sums leave their counters ready
    SCOPED_TRACE("run " + std::to_string(run + 1));
    const std::vector<float> grad = random_values(outputs, rng, -1.f, 1.f);
    const std::vector<float> saved = random_values(layout.count, rng, -3.f, 3.f);
    std::vector<std::vector<float>> values(tensors.size());
    for (std::size_t t = 2; t < tensors.size(); ++t) {
      std::int64_t count = 1;
      for (std::int64_t d : tensors[t].shape) count *= d;
      values[t] = random_values(count, rng, 0.5f, 1.5f);  // away from 0: div stays tame
    }
    std::vector<DeviceBuffer> buffers;
    LaunchArgs args;
    buffers.push_back(upload(grad));
    buffers.push_back(upload(saved));
    for (std::size_t t = 2; t < tensors.size(); ++t) buffers.push_back(upload(values[t]));
    const std::vector<float> poison(layout.count, NAN);
    for (std::size_t t = 2; t < tensors.size(); ++t)
      buffers.push_back(upload(std::vector<float>(values[t].size(), NAN)));
    buffers.push_back(upload(poison));
    for (std::size_t i = 0; i + 1 < buffers.size(); ++i) args.tensors[i] = buffers[i].as<float>();
    args.out = buffers.back().as<float>();
    const std::vector<ScalarArg> scalars = spec.scalars();
    for (std::size_t s = 0; s < scalars.size(); ++s)
      args.scalars[s] = static_cast<float>(scalars[s].value);
    args.rows = static_cast<int>(spec.main.launch_rows());
    ASSERT_EQ(kernel.launch(nullptr, args), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    const ChainGradients want =
        reference_chain_backward(spec, std::vector<double>(saved.begin(), saved.end()),
                                 std::vector<double>(grad.begin(), grad.end()),
                                 [&](std::size_t index) { return values.at(index); });
    EXPECT_LE(relative_error(download(buffers.back()), want.main), 1e-5) << "g'";
    // Every operand with a gradient (batch_norm's running statistics have none), against its
    // own size; or where its sums cancel (a bias before batch_norm's: exactly 0, which no
    // relative error can be measured against) against the size g' gives each of its elements,
    // ||g'|| sqrt(its elements / g''s): a cancelling sum is as accurate as its terms.
    for (std::size_t j = 0; j < operands; ++j) {
      if (tensors[2 + j].updated) continue;
      const std::vector<double>& exact = want.operands.at(2 + j);
      const std::vector<float> got = download(buffers[2 + operands + j]);
      const double share = norm(want.main) * std::sqrt(static_cast<double>(exact.size()) /
                                                       static_cast<double>(want.main.size()));
      if (norm(exact) >= share)
        EXPECT_LE(relative_error(got, exact), 1e-5) << tensors[2 + j].name;
      else
        EXPECT_LE(difference_norm(got, exact) / share, 1e-5)
            << tensors[2 + j].name << ", which cancels to " << norm(exact);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, ChainDerivativeTest,
    ::testing::Values(
        "linear(m=37, n=100, k=8) -> bias -> mul(2.0) -> leaky_relu(0.1)",
        "linear(m=1, n=301, k=8) -> bias -> gelu -> mul(column)",
        // Column sums split over many blocks; a row and a tensor operand.
        "linear(m=3000, n=70, k=8) -> add(row) -> mul(tensor) -> silu -> sub(column) -> tanh",
        "matmul(m=45, n=66, k=8, transpose_b=true) -> div(column) -> hardswish -> "
        "clamp(-0.5, 2.0) -> softplus",
        "linear(m=64, n=4099, k=8) -> add(row) -> sigmoid -> mish -> hardtanh -> min(tensor)",
        // Convolutions: channel sums, max pools tiling the value or overlapping with padding,
        // an avg pool, ops after the pool.
        "conv_transpose3d(n=2, c=3, d=4, h=5, w=6, k=4, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
        "max_pool3d(2)",
        "conv2d(n=3, c=2, h=13, w=11, k=5, kernel=3) -> add(channel) -> gelu -> "
        "max_pool2d(3, stride=2, padding=1) -> tanh",
        "conv2d(n=2, c=3, h=9, w=8, k=4, kernel=3) -> add(tensor) -> sigmoid -> "
        "avg_pool2d(3, stride=2, padding=1) -> softplus -> mul(0.5)",
        // Channel operands' terms left in the workspace by a thread per window (an avg pool
        // tiling the value, read after it) and by a thread per element (overlapping windows).
        "conv2d(n=2, c=3, h=10, w=12, k=4, kernel=3) -> mul(channel) -> tanh -> avg_pool2d(2) "
        "-> sigmoid",
        "conv2d(n=3, c=2, h=13, w=11, k=5, kernel=3) -> gelu -> sub(channel) -> "
        "max_pool2d(3, stride=2, padding=1)",
        // Reductions over the features: rows held by a thread, a warp and the block.
        "linear(m=33, n=20, k=8) -> bias -> gelu -> softmax(dim=1) -> mul(2.0)",
        "linear(m=9, n=1000, k=8) -> add(tensor) -> log_softmax(dim=1)",
        "linear(m=7, n=3000, k=8) -> bias -> logsumexp(dim=1) -> sigmoid",
        "linear(m=1, n=8192, k=8) -> bias -> softmax(dim=1)",
        // Normalizations over the features, with their weights' and biases' gradients.
        "linear(m=50, n=96, k=8) -> bias -> layer_norm(96) -> gelu",
        "linear(m=16, n=2304, k=8) -> rms_norm(2304) -> mul(0.5)",
        "linear(m=5, n=4000, k=8) -> layer_norm(4000, affine=false) -> tanh",
        "linear(m=21, n=130, k=8) -> bias -> sum(dim=1) -> mul(0.5) -> sigmoid",
        "linear(m=4, n=64, k=8) -> tanh -> mean(dim=1, keepdim=true)",
        "linear(m=6, n=300, k=8) -> bias -> amax(dim=1) -> sigmoid",
        // Groups of features, and columns over the rows held by a thread, a warp and the block
        // (batch_norm in training mode, with and without running statistics).
        "linear(m=12, n=96, k=8) -> bias -> group_norm(8) -> gelu",
        "linear(m=20, n=48, k=8) -> bias -> batch_norm -> tanh",
        "linear(m=300, n=24, k=8) -> batch_norm(momentum=0.2) -> relu",
        "linear(m=2000, n=8, k=8) -> batch_norm(track_running_stats=false, affine=false) -> "
        "mul(0.5)",
        // A convolution's value: groups of channels with their positions (weight and bias per
        // channel, summed over the batch and positions), a channel's positions, a channel over
        // the batch, and the channels of one position (strided).
        "conv2d(n=2, c=3, h=9, w=8, k=8, kernel=3) -> bias -> group_norm(4) -> silu",
        "conv2d(n=2, c=3, h=10, w=13, k=4, kernel=3) -> instance_norm -> div(2.0)",
        "conv3d(n=2, c=2, d=4, h=5, w=6, k=4, kernel=2) -> batch_norm -> relu",
        "conv2d(n=1, c=2, h=6, w=7, k=5, kernel=3) -> softmax(dim=1) -> mul(2.0)",
        // Groups more than a block holds, their statistics gathered over blocks first: a long
        // row, large images' channel groups, a long column.
        "linear(m=3, n=20000, k=8) -> bias -> log_softmax(dim=1)",
        "conv2d(n=2, c=4, h=70, w=70, k=8, kernel=3) -> bias -> group_norm(2) -> silu",
        "linear(m=9000, n=6, k=8) -> batch_norm -> relu"));

}  // namespace
}  // namespace fusetune
