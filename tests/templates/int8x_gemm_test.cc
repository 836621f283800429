// The int8x product on the GPU: both operands sliced by the slicing pass, multiplied on int8
// tensor cores (templates/gemm_wgmma_int8.cuh) and recombined, against the host model's
// product of the same digits (generator/int8_slices.h: the same exact integer sums, so agreement
// to fp32 rounding) and, where the scheme keeps fp32 accuracy, against fp64 within 1e-5. Tiles
// with edges on every side, one and two consumers, the triangle of digit pairs and all of them.
#include "generator/int8x_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "generator/int8_slices.h"
#include "generator/int8_slicing.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tests/templates/candidate_check.h"
#include "tuner/device_buffer.h"

namespace fusetune {
namespace {

// Uniform rows and normal rows, and with `spanning` every fifth row spanning 2^20 (which a few
// digits do not hold to fp32 accuracy).
std::vector<float> operand(int rows, int length, bool spanning, std::mt19937& gen) {
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> v(static_cast<std::size_t>(rows) * length);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < length; ++k)
      v[static_cast<std::size_t>(r) * length + k] = r % 2 ? normal(gen) : uniform(gen);
  for (int r = 4; spanning && r < rows; r += 5)
    v[static_cast<std::size_t>(r) * length + r % length] = 1 << 20;
  return v;
}

// An operand sliced on the GPU: the kernel (whose workspace holds the digits and exponents)
// and where they lie.
struct Sliced {
  LoadedKernel kernel;
  SlicingLayout layout;
  char* workspace;
  const float* digits() const { return reinterpret_cast<const float*>(workspace + layout.digits); }
  const float* exponents() const {
    return reinterpret_cast<const float*>(workspace + layout.exponents);
  }
};

Sliced slice_on_gpu(const DeviceBuffer& values, int rows, int length, int slices,
                    const DeviceInfo& device) {
  const KernelSource source = emit_int8_slicing(rows, length, slices, false);
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, device.arch());
  Sliced sliced{LoadedKernel(binary.cubin, source.name, source.launch),
                slicing_layout(rows, length, slices), nullptr};
  sliced.workspace = static_cast<char*>(sliced.kernel.workspace(nullptr));
  LaunchArgs args;
  args.tensors[0] = values.as<float>();
  check_cuda(sliced.kernel.launch(nullptr, args), "slicing");
  return sliced;
}

struct ProductCase {
  int m, n, k;
  Int8xGemmConfig config;
  // The scheme holds 1e-5 against fp64 on these inputs; else rows spanning 2^20 are among
  // them, checked against the host model alone.
  bool fp32_accurate;
};

class Int8xGemmTest : public ::testing::TestWithParam<ProductCase> {};

TEST_P(Int8xGemmTest, MatchesTheHostModelAndFp64) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  if (device.arch() != "sm_90") GTEST_SKIP() << "wgmma needs sm_90";
  const ProductCase& c = GetParam();
  std::mt19937 gen(std::random_device{}());
  const std::vector<float> a = operand(c.m, c.k, !c.fp32_accurate, gen);
  const std::vector<float> b = operand(c.n, c.k, !c.fp32_accurate, gen);
  DeviceBuffer a_values(a.size() * 4), b_values(b.size() * 4), out(std::size_t{4} * c.m * c.n);
  check_cuda(cudaMemcpy(a_values.as<float>(), a.data(), a_values.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  check_cuda(cudaMemcpy(b_values.as<float>(), b.data(), b_values.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  check_cuda(cudaMemset(out.as<float>(), 0xff, out.bytes()), "poisoning");  // NaN
  const Sliced a_sliced = slice_on_gpu(a_values, c.m, c.k, c.config.slices, device);
  const Sliced b_sliced = slice_on_gpu(b_values, c.n, c.k, c.config.slices, device);

  const KernelSource source = emit_int8x_gemm(c.m, c.n, c.k, c.config);
  const CompiledBinary binary =
      compile_to_cubin(source.code, source.name, target_arch(source, device.arch()));
  const LoadedKernel product(binary.cubin, source.name, source.launch);
  LaunchArgs args;
  args.tensors[0] = a_sliced.digits();
  args.tensors[1] = b_sliced.digits();
  args.tensors[2] = a_sliced.exponents();
  args.tensors[3] = b_sliced.exponents();
  args.out = out.as<float>();
  ASSERT_EQ(product.launch(nullptr, args), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<float> got(static_cast<std::size_t>(c.m) * c.n);
  check_cuda(cudaMemcpy(got.data(), out.as<float>(), out.bytes(), cudaMemcpyDeviceToHost),
             "downloading");

  const SliceScheme scheme{.slices = c.config.slices, .through = c.config.through};
  const std::vector<double> model = sliced_product(split_rows(a, c.m, c.k, scheme.slices),
                                                   split_rows(b, c.n, c.k, scheme.slices), scheme);
  EXPECT_LE(relative_error(got, model), 1e-6) << "against the host model of the same digits";
  if (c.fp32_accurate) {
    const std::vector<double> exact = fp64_product(a, b, c.m, c.n, c.k);
    // int8x's promise, as the tuner measures it: normal rows' largest deviation alone is often
    // above 1e-5 of the largest output (the host model's too).
    EXPECT_LE(frobenius_error(got, exact), 1e-5) << "against fp64";
  }
}

Int8xGemmConfig wide() {  // every digit pair of two, one consumer of 64 rows
  return {.slices = 2, .through = 4, .block_m = 64, .block_n = 128, .stages = 4, .consumers = 1};
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, Int8xGemmTest,
    ::testing::Values(
        ProductCase{100, 75, 1001, Int8xGemmConfig{}, true},
        ProductCase{300, 200, 520, Int8xGemmConfig{.slices = 4, .through = 5, .stages = 2}, true},
        ProductCase{65, 129, 4096, wide(), false}, ProductCase{1, 16, 16, Int8xGemmConfig{}, true},
        // 64-digit k-tiles (the 64-byte swizzle), K not a multiple of them
        ProductCase{200, 130, 1001, Int8xGemmConfig{.block_n = 128, .block_k = 64, .stages = 4},
                    true},
        ProductCase{257, 64, 4160, Int8xGemmConfig{.block_m = 256, .block_k = 64, .stages = 3},
                    false}),
    [](const ::testing::TestParamInfo<ProductCase>& info) {
      return "case" + std::to_string(info.index);
    });

}  // namespace
}  // namespace fusetune
