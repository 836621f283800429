// The slicing pass on the GPU (templates/int8_slices.cuh) against its host model
// (generator/int8_slices.h): every digit and exponent the same, and each row's statistics
// summing to the model's, on rows of the kinds the guard must see: uniform and normal values,
// rows spanning 2^20, rows of zeros, denormals, infinities and NaN; lengths a multiple of
// nothing (read a value at a time) and of 4 (in 16-byte chunks, held in registers where they
// fit), and digit counts from one to seven; and operands stored the other way ([length, rows],
// sliced by columns), whose digits must be those of the rows they hold.
#include "generator/int8_slicing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "generator/int8_slices.h"
#include "runtime/cuda_check.h"
#include "runtime/loaded_kernel.h"
#include "runtime/nvrtc.h"
#include "tests/gpu_test.h"
#include "tuner/device_buffer.h"

namespace fusetune {
namespace {

// Rows of every kind, by row index: uniform, normal, spanning 2^20, zeros, denormals, and
// rows with an infinity or a NaN among uniform values.
std::vector<float> awkward_rows(int rows, int length, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::normal_distribution<float> normal(0, 3);
  std::uniform_int_distribution<int> place(0, length - 1);
  std::vector<float> v(static_cast<std::size_t>(rows) * length);
  for (int r = 0; r < rows; ++r) {
    float* row = v.data() + static_cast<std::size_t>(r) * length;
    for (int k = 0; k < length; ++k) {
      switch (r % 7) {
        case 1:
          row[k] = normal(gen);
          break;
        case 3:
          row[k] = 0.f;
          break;
        case 4:
          row[k] = uniform(gen) * std::numeric_limits<float>::denorm_min() * 1000;
          break;
        default:
          row[k] = uniform(gen);
      }
    }
    if (r % 7 == 2) row[place(gen)] = 1 << 20;
    if (r % 7 == 5) row[place(gen)] = -std::numeric_limits<float>::infinity();
    if (r % 7 == 6) row[place(gen)] = std::numeric_limits<float>::quiet_NaN();
  }
  return v;
}

struct SlicingCase {
  int rows, length, slices;
  OperandStorage storage = OperandStorage::rows;
};

class Int8SlicingTest : public ::testing::TestWithParam<SlicingCase> {};

TEST_P(Int8SlicingTest, DigitsExponentsAndStatisticsAreTheHostModels) {
  FUSETUNE_REQUIRE_GPU();
  const DeviceInfo device = require_device();
  const auto [rows, length, slices, storage] = GetParam();
  const KernelSource source = emit_int8_slicing(rows, length, slices, true, storage);
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, device.arch());
  const LoadedKernel kernel(binary.cubin, source.name, source.launch);
  const SlicingLayout layout = slicing_layout(rows, length, slices);

  const std::vector<float> values = awkward_rows(rows, length, std::random_device{}());
  // Stored by columns: the same rows, laid out [length, rows].
  std::vector<float> stored = values;
  if (storage == OperandStorage::columns)
    for (int r = 0; r < rows; ++r)
      for (int k = 0; k < length; ++k)
        stored[static_cast<std::size_t>(k) * rows + r] =
            values[static_cast<std::size_t>(r) * length + k];
  DeviceBuffer input(stored.size() * sizeof(float));
  check_cuda(cudaMemcpy(input.as<float>(), stored.data(), input.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  char* workspace = static_cast<char*>(kernel.workspace(nullptr));
  check_cuda(cudaMemset(workspace, 0x5a, layout.bytes), "poisoning");  // nothing left unwritten
  LaunchArgs args;
  args.tensors[0] = input.as<float>();
  ASSERT_EQ(kernel.launch(nullptr, args), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<char> got(layout.bytes);
  check_cuda(cudaMemcpy(got.data(), workspace, layout.bytes, cudaMemcpyDeviceToHost),
             "downloading");

  const SlicedOperand want = split_rows(values, rows, length, slices);
  int wrong = 0;
  for (int r = 0; r < rows; ++r) {
    const int exponent = *reinterpret_cast<const int*>(got.data() + layout.exponents + 4 * r);
    EXPECT_EQ(exponent, want.exponents[r]) << "row " << r;
    for (int s = 0; s < slices; ++s)
      for (int k = 0; k < layout.pitch; ++k) {
        const auto digit = static_cast<std::int8_t>(
            got[layout.digits + (static_cast<std::size_t>(s) * rows + r) * layout.pitch + k]);
        const std::int8_t expected = k < length ? want.digit(s, r, k) : 0;
        if (digit != expected && ++wrong <= 5)
          ADD_FAILURE() << "digit " << s + 1 << " of row " << r << ", place " << k << ": "
                        << int{digit} << ", the model's " << int{expected};
      }
  }
  EXPECT_EQ(wrong, 0);

  // Each row's statistics summed against the model's over the whole operand.
  const SliceStatistics model = measure_rows(values, rows, length);
  std::vector<double> sums(kSliceRowStatistics, 0.0);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < kSliceRowStatistics; ++i)
      sums[i] += *reinterpret_cast<const double*>(
          got.data() + layout.statistics +
          8 * (static_cast<std::size_t>(r) * kSliceRowStatistics + i));
  auto near = [](double got_sum, double want_sum) {
    return std::fabs(got_sum - want_sum) <= 1e-12 * std::fabs(want_sum);
  };
  EXPECT_TRUE(near(sums[0], model.squares)) << sums[0] << " vs " << model.squares;
  for (int s = 0; s < kMaxSlices; ++s) {
    EXPECT_TRUE(near(sums[1 + s], model.digit_squares[s])) << "digit " << s + 1;
    EXPECT_TRUE(near(sums[1 + kMaxSlices + s], model.remainder_squares[s])) << "digits " << s + 1;
  }
  EXPECT_EQ(sums[1 + 2 * kMaxSlices] == 0, model.finite) << sums[1 + 2 * kMaxSlices];
}

INSTANTIATE_TEST_SUITE_P(AwkwardShapes, Int8SlicingTest,
                         ::testing::Values(SlicingCase{14, 1001, 3}, SlicingCase{7, 16, 1},
                                           SlicingCase{21, 333, 7}, SlicingCase{7, 4099, 4},
                                           // in 16-byte chunks, held in registers and not
                                           SlicingCase{9, 4096, 3}, SlicingCase{5, 8200, 2},
                                           // by columns: one block of 32 rows, part of one,
                                           // two with the second partial, a long K
                                           SlicingCase{32, 1001, 3, OperandStorage::columns},
                                           SlicingCase{7, 16, 1, OperandStorage::columns},
                                           SlicingCase{45, 333, 7, OperandStorage::columns},
                                           SlicingCase{33, 4096, 3, OperandStorage::columns},
                                           SlicingCase{5, 8200, 2, OperandStorage::columns}),
                         [](const ::testing::TestParamInfo<SlicingCase>& info) {
                           return "rows" + std::to_string(info.param.rows) + "_length" +
                                  std::to_string(info.param.length) + "_slices" +
                                  std::to_string(info.param.slices) +
                                  (info.param.storage == OperandStorage::columns ? "_by_columns"
                                                                                 : "");
                         });

}  // namespace
}  // namespace fusetune
