// The int8x family's guard on the GPU: the plan the runtime launches (slicing passes that
// measure what the digits leave, the guard's verdict, the product) on inputs that random
// uniform data never shows: normal rows, normal rows with an outlier, rows whose values span
// 2^20, rows of zeros, denormals, infinities and NaN. Every output stays within int8x's 1e-5 of
// fp64, through the digits where the guard trusts them, through the plan's deeper product (one more
// diagonal of digit pairs) where it trusts those, and through fp32 where it trusts neither;
// non-finite inputs propagate as PyTorch's product propagates them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "generator/gemm_int8x.h"
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

constexpr int kM = 100, kN = 75, kK = 1001;

enum class Inputs { uniform, normal, outliers, spanning, zeros_and_denormals, non_finite };

std::vector<float> operand(int rows, Inputs inputs, std::mt19937& gen) {
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> v(static_cast<std::size_t>(rows) * kK);
  for (float& x : v)
    x = inputs == Inputs::normal || inputs == Inputs::outliers ? normal(gen) : uniform(gen);
  for (int r = 0; r < rows; ++r) {
    float* row = v.data() + static_cast<std::size_t>(r) * kK;
    if (inputs == Inputs::outliers) row[(37 * r) % kK] = 16;
    if (inputs == Inputs::spanning && r % 5 == 4) row[r % kK] = 1 << 20;
    if (inputs == Inputs::zeros_and_denormals && r % 7 == 3) std::fill(row, row + kK, 0.f);
    if (inputs == Inputs::zeros_and_denormals && r % 7 == 5)
      for (int k = 0; k < kK; ++k) row[k] *= 1e-39f;  // below fp32's smallest normal
  }
  return v;
}

struct PlanRun {
  std::vector<float> out;
  int verdict = -1;
};

// The plan of `spec` (a kM x kN x kK product; by default the linear layer, x [M, K] and w
// [N, K]) on x and w as the spec stores them.
PlanRun run_plan(const std::vector<float>& x, const std::vector<float>& w, const DeviceInfo& device,
                 const std::string& text = fmt::format("linear(m={}, n={}, k={})", kM, kN, kK)) {
  const Spec spec = parse_spec(text);
  const KernelSource source =
      generate(spec, default_candidate(spec, device.limits, Precision::int8x).config);
  const CompiledBinary binary =
      compile_to_cubin(source.code, source.name, target_arch(source, device.arch()));
  const LoadedKernel kernel(binary.cubin, source.name, source.launch, source.finishing);
  DeviceBuffer x_buffer(x.size() * 4), w_buffer(w.size() * 4), out(std::size_t{4} * kM * kN);
  check_cuda(cudaMemcpy(x_buffer.as<float>(), x.data(), x_buffer.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  check_cuda(cudaMemcpy(w_buffer.as<float>(), w.data(), w_buffer.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  check_cuda(cudaMemset(out.as<float>(), 0xff, out.bytes()), "poisoning");  // NaN
  LaunchArgs args;
  args.tensors[0] = x_buffer.as<float>();
  args.tensors[1] = w_buffer.as<float>();
  args.out = out.as<float>();
  check_cuda(kernel.launch(nullptr, args), "launching the plan");
  check_cuda(cudaDeviceSynchronize(), "running the plan");
  PlanRun run;
  run.out.resize(static_cast<std::size_t>(kM) * kN);
  check_cuda(cudaMemcpy(run.out.data(), out.as<float>(), out.bytes(), cudaMemcpyDeviceToHost),
             "downloading");
  const char* workspace = static_cast<const char*>(kernel.workspace(nullptr));
  check_cuda(cudaMemcpy(&run.verdict, workspace + int8x_workspace(spec.main, 3).verdict,
                        sizeof(int), cudaMemcpyDeviceToHost),
             "reading the verdict");
  return run;
}

std::vector<double> exact_product(const std::vector<float>& x, const std::vector<float>& w) {
  return fp64_product(x, w, kM, kN, kK);
}

class Int8xGuardTest : public ::testing::TestWithParam<Inputs> {};

TEST_P(Int8xGuardTest, OutputsStayWithinTheToleranceOrFallBack) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.limits.arch != "sm_90") GTEST_SKIP() << "int8x runs on sm_90";
  std::mt19937 gen(std::random_device{}());
  const std::vector<float> x = operand(kM, GetParam(), gen), w = operand(kN, GetParam(), gen);
  const PlanRun run = run_plan(x, w, device);
  EXPECT_LE(relative_error(run.out, exact_product(x, w)), 1e-5) << "verdict " << run.verdict;
  if (GetParam() == Inputs::uniform) {
    EXPECT_EQ(run.verdict, 0) << "uniform data fits the digits";
  }
  // The host model at this shape: on normal rows the digit pairs through 4 leave ~6e-7 of
  // the product (2.5e-6 with the guard's margin); on normal rows with an outlier of 16, whose
  // typical values keep four bits fewer, ~2e-5, and through 5 ~1.2e-6, which the plan's
  // deeper product computes.
  if (GetParam() == Inputs::normal) {
    EXPECT_EQ(run.verdict, 0) << "normal data fits the digits";
  }
  if (GetParam() == Inputs::outliers) {
    EXPECT_EQ(run.verdict, 2) << "rows with an outlier need the deeper product";
  }
  std::cout << "verdict " << run.verdict << "\n";
}

INSTANTIATE_TEST_SUITE_P(Inputs, Int8xGuardTest,
                         ::testing::Values(Inputs::uniform, Inputs::normal, Inputs::outliers,
                                           Inputs::spanning, Inputs::zeros_and_denormals));

// Infinities and NaN: PyTorch's product makes every output of their rows (and columns) NaN or
// infinite; the digits cannot carry them, so the guard sends the product to fp32.
TEST(Int8xGuard, InfinitiesAndNanPropagateAsInPyTorch) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.limits.arch != "sm_90") GTEST_SKIP() << "int8x runs on sm_90";
  std::mt19937 gen(std::random_device{}());
  std::vector<float> x = operand(kM, Inputs::uniform, gen), w = operand(kN, Inputs::uniform, gen);
  x[3 * kK + 10] = std::numeric_limits<float>::quiet_NaN();
  w[7 * kK + 20] = std::numeric_limits<float>::infinity();
  const PlanRun run = run_plan(x, w, device);
  EXPECT_EQ(run.verdict, 1);
  const std::vector<double> exact = exact_product(x, w);
  for (int i = 0; i < kM; ++i)
    for (int j = 0; j < kN; ++j) {
      const double want = exact[static_cast<std::size_t>(i) * kN + j];
      const float got = run.out[static_cast<std::size_t>(i) * kN + j];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << i << ", " << j;
      } else if (std::isinf(want)) {
        EXPECT_EQ(got, want) << i << ", " << j;
      } else {
        EXPECT_NEAR(got, want, 1e-4 * (1 + std::fabs(want))) << i << ", " << j;
      }
    }
}

// `rows` x kK values stored the other way: [kK, rows].
std::vector<float> stored_by_columns(const std::vector<float>& v, int rows) {
  std::vector<float> t(v.size());
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < kK; ++k)
      t[static_cast<std::size_t>(k) * rows + r] = v[static_cast<std::size_t>(r) * kK + k];
  return t;
}

// Both operands stored the other way (A [K, M], B [K, N]), sliced by columns: the guard judges
// their rows as it judges rows stored by rows, and the fp32 fallback reads them as stored.
TEST(Int8xGuard, OperandsStoredTheOtherWayAreJudgedAndFallBackAsStored) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.limits.arch != "sm_90") GTEST_SKIP() << "int8x runs on sm_90";
  const std::string text = fmt::format("matmul(m={}, n={}, k={}, transpose_a=true)", kM, kN, kK);
  std::mt19937 gen(std::random_device{}());
  for (Inputs inputs : {Inputs::uniform, Inputs::spanning}) {
    const std::vector<float> x = operand(kM, inputs, gen), w = operand(kN, inputs, gen);
    const PlanRun run = run_plan(stored_by_columns(x, kM), stored_by_columns(w, kN), device, text);
    EXPECT_LE(relative_error(run.out, exact_product(x, w)), 1e-5) << "verdict " << run.verdict;
    EXPECT_EQ(run.verdict, inputs == Inputs::uniform ? 0 : 1);
  }
}

}  // namespace
}  // namespace fusetune
