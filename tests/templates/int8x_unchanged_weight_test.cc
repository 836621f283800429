// A weight the caller says is unchanged (LoadedKernel::launch's `unchanged`, Arguments::unchanged):
// the int8x plan slices it once per stream and address and reuses its digits, which shows as
// outputs computed from the digits of what the weight held when it was last sliced. A new address,
// a launch that does not say so, or a capture of the stream into a CUDA graph slices it again.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"
#include "tuner/device_buffer.h"

namespace fusetune {
namespace {

constexpr int kM = 64, kN = 48, kK = 320;
constexpr std::uint32_t kWeightUnchanged = 1u << 1;

std::vector<float> uniform_values(std::size_t count, std::mt19937& gen) {
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(count);
  for (float& x : v) x = uniform(gen);
  return v;
}

class Int8xUnchangedWeightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FUSETUNE_REQUIRE_GPU();
    const DeviceInfo device = require_device();
    if (device.limits.arch != "sm_90") GTEST_SKIP() << "int8x runs on sm_90";
    const Spec spec = parse_spec(fmt::format("linear(m={}, n={}, k={})", kM, kN, kK));
    const KernelSource source =
        generate(spec, default_candidate(spec, device.limits, Precision::int8x).config);
    const CompiledBinary binary =
        compile_to_cubin(source.code, source.name, target_arch(source, device.arch()));
    kernel_.emplace(binary.cubin, source.name, source.launch, source.finishing);
    std::mt19937 gen(std::random_device{}());
    x_ = uniform_values(std::size_t{kM} * kK, gen);
    w1_ = uniform_values(std::size_t{kN} * kK, gen);
    w2_ = uniform_values(std::size_t{kN} * kK, gen);
    x_buffer_.emplace(std::size_t{4} * kM * kK);
    weight_.emplace(std::size_t{4} * kN * kK);
    other_weight_.emplace(std::size_t{4} * kN * kK);
    out_.emplace(std::size_t{4} * kM * kN);
    upload(*x_buffer_, x_);
  }

  static void upload(DeviceBuffer& buffer, const std::vector<float>& values) {
    check_cuda(
        cudaMemcpy(buffer.as<float>(), values.data(), buffer.bytes(), cudaMemcpyHostToDevice),
        "uploading");
    // Landed before a launch on a stream that does not wait for the default one.
    check_cuda(cudaDeviceSynchronize(), "uploading");
  }

  // The plan's output for the weight at `weight`, on `stream`, the output poisoned first.
  std::vector<float> run(const DeviceBuffer& weight, std::uint32_t unchanged,
                         cudaStream_t stream = nullptr) {
    check_cuda(cudaMemsetAsync(out_->as<float>(), 0xff, out_->bytes(), stream), "poisoning");
    LaunchArgs args;
    args.tensors[0] = x_buffer_->as<float>();
    args.tensors[1] = weight.as<float>();
    args.out = out_->as<float>();
    check_cuda(kernel_->launch(stream, args, unchanged), "launching the plan");
    check_cuda(cudaDeviceSynchronize(), "running the plan");
    std::vector<float> out(std::size_t{kM} * kN);
    check_cuda(cudaMemcpy(out.data(), out_->as<float>(), out_->bytes(), cudaMemcpyDeviceToHost),
               "downloading");
    return out;
  }

  std::vector<double> exact(const std::vector<float>& w) const {
    return fp64_product(x_, w, kM, kN, kK);
  }

  std::optional<LoadedKernel> kernel_;
  std::vector<float> x_, w1_, w2_;
  // Allocated once a GPU is known to be there.
  std::optional<DeviceBuffer> x_buffer_, weight_, other_weight_, out_;
};

TEST_F(Int8xUnchangedWeightTest, ReusesTheDigitsOfTheWeightAtTheSameAddress) {
  upload(*weight_, w1_);
  const std::vector<float> first = run(*weight_, kWeightUnchanged);  // nothing sliced yet
  EXPECT_LE(relative_error(first, exact(w1_)), 1e-5);
  // The promise broken on purpose: the weight's new values are not sliced, its old digits are.
  upload(*weight_, w2_);
  EXPECT_EQ(run(*weight_, kWeightUnchanged), first) << "the weight was sliced again";
  // Without the promise the new values are sliced, and then kept.
  const std::vector<float> second = run(*weight_, 0);
  EXPECT_LE(relative_error(second, exact(w2_)), 1e-5);
  upload(*weight_, w1_);
  EXPECT_EQ(run(*weight_, kWeightUnchanged), second);
}

TEST_F(Int8xUnchangedWeightTest, SlicesAWeightAtANewAddress) {
  upload(*weight_, w1_);
  upload(*other_weight_, w2_);
  run(*weight_, kWeightUnchanged);
  EXPECT_LE(relative_error(run(*other_weight_, kWeightUnchanged), exact(w2_)), 1e-5);
}

TEST_F(Int8xUnchangedWeightTest, SlicesAgainOnAStreamOnceCaptured) {
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "creating a stream");
  check_cuda(kernel_->prepare(stream), "preparing the stream");
  upload(*weight_, w1_);
  run(*weight_, kWeightUnchanged, stream);
  // A captured launch, never replayed; then the weight changes under the same address.
  LaunchArgs args;
  args.tensors[0] = x_buffer_->as<float>();
  args.tensors[1] = weight_->as<float>();
  args.out = out_->as<float>();
  cudaGraph_t graph = nullptr;
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "capturing");
  const cudaError_t launched = kernel_->launch(stream, args, kWeightUnchanged);
  check_cuda(cudaStreamEndCapture(stream, &graph), "ending the capture");
  check_cuda(launched, "launching while capturing");
  cudaGraphDestroy(graph);
  upload(*weight_, w2_);
  EXPECT_LE(relative_error(run(*weight_, kWeightUnchanged, stream), exact(w2_)), 1e-5);
  cudaStreamDestroy(stream);
}

}  // namespace
}  // namespace fusetune
