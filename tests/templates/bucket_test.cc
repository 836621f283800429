// Kernels of buckets of row counts against the fp64 reference, on the GPU: for each bucket and
// precision, a subset of its search space in which every value of every tunable appears (and
// the default), each kernel compiled once and launched at several row counts of its range (1
// where the range has it, its low end, an odd count in the middle, its top), twice at each and
// interleaved, so that what one launch leaves in the shared workspace (split-K's counters) must
// suit the next whatever its rows.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"
#include "tuner/problem_data.h"

namespace fusetune {
namespace {

// The row counts each bucket's kernels run at: 1 (if in range), low end, odd middle, top.
std::vector<std::int64_t> rows_of(const MainOp& main) {
  std::vector<std::int64_t> rows;
  if (main.m_min == 1) rows.push_back(1);
  for (const std::int64_t r : {main.m_min, (main.m_min + main.m) / 2 | 1, main.m})
    if (std::ranges::find(rows, r) == rows.end()) rows.push_back(r);
  return rows;
}

class BucketTest : public ::testing::TestWithParam<std::tuple<const char*, Precision>> {};

TEST_P(BucketTest, EveryFamilyMatchesTheFp64ReferenceAtEveryRowCountTwice) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const auto& [text, precision] = GetParam();
  const Spec bucket = parse_spec(text);
  ASSERT_TRUE(bucket.main.is_row_range());
  std::vector<Candidate> candidates =
      covering_subset(search_space(bucket, device.limits, precision));
  candidates.push_back(default_candidate(bucket, device.limits, precision));

  std::vector<KernelSource> sources;
  for (const Candidate& c : candidates) sources.push_back(generate(bucket, c.config));
  const std::map<std::size_t, CompiledBinary> binaries = compile_all(sources, device.arch());
  if (binaries.size() != sources.size()) return;  // compile_all said which failed

  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreate(&stream), "creating a stream");
  std::vector<std::unique_ptr<ProblemData>> problems;
  for (const std::int64_t rows : rows_of(bucket.main))
    problems.push_back(
        std::make_unique<ProblemData>(bucket.at_rows(rows), std::random_device{}(), stream));
  const double tolerance = default_tolerance(precision, bucket.main.output_dtype());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    SCOPED_TRACE(sources[i].name);
    ASSERT_GT(sources[i].launch.rows.tile_rows, 0) << "a bucket's grid follows its rows";
    const LoadedKernel kernel(binaries.at(i).cubin, sources[i].name, sources[i].launch,
                              sources[i].finishing);
    for (int round = 0; round < 2; ++round)
      for (const std::unique_ptr<ProblemData>& data : problems) {
        SCOPED_TRACE(fmt::format("{} rows, round {}", data->launch_args().rows, round + 1));
        data->poison_output();
        ASSERT_EQ(kernel.launch(stream, data->launch_args()), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
        const Verification v = data->verify();
        EXPECT_EQ(v.non_finite, 0) << "outputs left unwritten or NaN";
        EXPECT_LE(v.rel_err, tolerance);
      }
    // Rows past the top would overrun what the kernel was sized for: refused, not launched.
    LaunchArgs beyond = problems.back()->launch_args();
    beyond.rows = static_cast<int>(bucket.main.m + 1);
    EXPECT_EQ(kernel.launch(stream, beyond), cudaErrorInvalidValue);
  }
  cudaStreamDestroy(stream);
}

INSTANTIATE_TEST_SUITE_P(
    Buckets, BucketTest,
    ::testing::Values(
        // The matrix-vector family (M <= 16) and SIMT GEMMs, split-K among them.
        std::tuple{"linear(m=1..16, n=1000, k=520) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                   Precision::fp32},
        std::tuple{"linear(m=1..16, n=1024, k=8192) -> bias -> relu", Precision::fp32},
        // Row operands and full tensors follow the rows; B stored [K, N]; no edge a multiple.
        std::tuple{"matmul(m=17..96, n=200, k=300) -> add(row) -> mul(tensor) -> gelu",
                   Precision::fp32},
        std::tuple{"linear(m=1025..2048, n=256, k=512) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                   Precision::fp32},
        // Tensor-core mma.sync: 3xTF32, TF32, and 16-bit inputs.
        std::tuple{"linear(m=100..300, n=264, k=200) -> bias -> relu", Precision::tf32x3},
        std::tuple{"linear(m=1..64, n=128, k=96) -> add(row) -> silu", Precision::tf32},
        std::tuple{"linear(m=5..77, n=200, k=264, dtype=bf16) -> bias -> gelu(tanh)",
                   Precision::bf16},
        std::tuple{"linear(m=33..64, n=96, k=64, dtype=fp16, out_dtype=fp32) -> add(tensor)",
                   Precision::fp16}));

}  // namespace
}  // namespace fusetune
