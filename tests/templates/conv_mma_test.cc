// The implicit-GEMM tensor-core convolution template against the fp64 reference, on the GPU, at
// TF32 and 3xTF32: for each problem, a subset of its search space in which every value of every
// tunable appears, plus the default, each launched twice on fresh random inputs with the output
// poisoned first. The problems are odd on purpose: positions, channels and K = C/groups·taps that
// divide no tile, stride 2, padding, dilation 2, groups 2, 3-d, 1x1 kernels (a stage deeper than
// the taps), several channel tiles per group, and an odd K (weights copied 4 bytes at a time).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "tests/gpu_test.h"
#include "tuner/parallel_compiler.h"
#include "tuner/problem_data.h"

namespace fusetune {
namespace {

std::vector<std::string> tunable_values(const ConvMmaConfig& c) {
  return {"warps=" + std::to_string(c.warps_m) + "x" + std::to_string(c.warps_n),
          "tiles_m=" + std::to_string(c.mma_tiles_m), "tiles_n=" + std::to_string(c.mma_tiles_n),
          "bk=" + std::to_string(c.bk), "stages=" + std::to_string(c.stages)};
}

// Greedily picks candidates until every tunable value found in `space` is covered.
std::vector<Candidate> covering_subset(const std::vector<Candidate>& space) {
  std::set<std::string> uncovered;
  for (const Candidate& c : space)
    for (const std::string& v : tunable_values(std::get<ConvMmaConfig>(c.config)))
      uncovered.insert(v);
  std::vector<Candidate> chosen;
  while (!uncovered.empty()) {
    const Candidate* best = nullptr;
    std::size_t best_gain = 0;
    for (const Candidate& c : space) {
      std::size_t gain = 0;
      for (const std::string& v : tunable_values(std::get<ConvMmaConfig>(c.config)))
        gain += uncovered.count(v);
      if (gain > best_gain) best = &c, best_gain = gain;
    }
    for (const std::string& v : tunable_values(std::get<ConvMmaConfig>(best->config)))
      uncovered.erase(v);
    chosen.push_back(*best);
  }
  return chosen;
}

class ConvMmaTest : public ::testing::TestWithParam<std::tuple<const char*, Precision>> {};

TEST_P(ConvMmaTest, EveryTunableValueMatchesTheFp64Reference) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const auto& [text, precision] = GetParam();
  const Spec spec = parse_spec(text);
  const std::vector<Candidate> space = search_space(spec, device.limits, precision);
  ASSERT_FALSE(space.empty());
  std::vector<Candidate> candidates = covering_subset(space);
  candidates.push_back(default_candidate(spec, device.limits, precision));

  std::vector<KernelSource> sources;
  for (const Candidate& c : candidates) {
    ASSERT_TRUE(std::holds_alternative<ConvMmaConfig>(c.config)) << c.name;
    sources.push_back(generate(spec, c.config));
  }
  ParallelCompiler compiler(sources, device.arch(), 16);
  std::map<std::size_t, CompiledBinary> binaries;
  while (auto output = compiler.next()) {
    ASSERT_TRUE(output->binary) << sources[output->index].name << ":\n" << output->error;
    binaries.emplace(output->index, std::move(*output->binary));
  }

  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreate(&stream), "creating a stream");
  ProblemData data(spec, std::random_device{}(), stream);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    SCOPED_TRACE(sources[i].name);
    const LoadedKernel kernel(binaries.at(i).cubin, sources[i].name, sources[i].launch);
    for (int launch = 0; launch < 2; ++launch) {
      SCOPED_TRACE("launch " + std::to_string(launch + 1));
      data.poison_output();
      ASSERT_EQ(kernel.launch(stream, data.launch_args()), cudaSuccess);
      ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
      const Verification v = data.verify();
      EXPECT_EQ(v.non_finite, 0) << "outputs left unwritten or NaN";
      EXPECT_LE(v.rel_err, default_tolerance(precision, DataType::fp32));
    }
  }
  cudaStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(
    OddShapes, ConvMmaTest,
    ::testing::Combine(
        ::testing::Values(
            // Stride, padding, dilation 2 and groups 2 on sizes that divide no tile; K = 27.
            "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, dilation=2, "
            "groups=2) -> bias -> relu -> add(channel)",
            "conv2d(n=3, c=8, h=33, w=35, k=12, kernel=3) -> bias -> relu -> hardswish",
            // KernelBench's chain on a small image: K = 576 in many stages, 128 channels.
            "conv2d(n=2, c=64, h=30, w=31, k=128, kernel=3) -> bias -> relu -> add(channel)",
            // More channels than any tile: several channel tiles, the last partial.
            "conv2d(n=1, c=16, h=12, w=13, k=300, kernel=3, padding=1) -> relu",
            // 1x1 with stride 2: one tap, so a stage spans several input channels.
            "conv2d(n=2, c=20, h=13, w=14, k=36, kernel=1, stride=2) -> mul(channel)",
            // 3-d, a residual read at the output's index.
            "conv3d(n=2, c=4, d=7, h=9, w=11, k=6, kernel=(3, 3, 2), padding=1) -> add(tensor) "
            "-> sigmoid",
            "conv3d(n=2, c=6, d=5, h=9, w=11, k=10, kernel=(3, 3, 2), stride=(1, 2, 1), "
            "padding=1, dilation=(2, 1, 2), groups=2) -> add(tensor) -> gelu"),
        ::testing::Values(Precision::tf32, Precision::tf32x3)));

}  // namespace
}  // namespace fusetune
