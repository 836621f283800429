// The slicing pass's kernel as generated: its workspace layout and an NVRTC compile for every
// arch; its results against the host model run on the GPU (tests/templates/int8_slicing_test.cc).
#include "generator/int8_slicing.h"

#include <gtest/gtest.h>

#include "fusetune/status.h"
#include "generator/int8x_gemm.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

TEST(Int8Slicing, TheWorkspaceHoldsDigitPlanesOfPaddedRowsThenExponentsThenStatistics) {
  const SlicingLayout layout = slicing_layout(3, 20, 2);
  EXPECT_EQ(layout.pitch, 32);
  EXPECT_EQ(layout.digits, 0u);
  EXPECT_EQ(layout.exponents, 256u);  // 2 x 3 x 32 bytes, aligned
  EXPECT_EQ(layout.statistics, 512u);
  EXPECT_EQ(layout.bytes, 512u + 512u);  // 3 rows of 16 doubles, aligned
  EXPECT_EQ(slicing_layout(1, 16, 1).pitch, 16);
}

TEST(Int8Slicing, TheKernelCompilesForEveryArch) {
  for (const char* arch : {"sm_80", "sm_90"})
    for (bool measure : {false, true}) {
      const KernelSource kernel = emit_int8_slicing(37, 1001, 3, measure);
      const CompiledBinary binary = compile_to_cubin(kernel.code, kernel.name, arch);
      EXPECT_GT(binary.cubin.size(), 0u) << arch << "\n" << binary.log;
      EXPECT_EQ(kernel.launch.grid[0], 37u);
      EXPECT_EQ(kernel.launch.workspace_bytes, slicing_layout(37, 1001, 3).bytes);
    }
}

// An operand stored the other way ([length, rows]): 32 rows a block, seven digits at most
// (the shared-memory tile holds a chunk of each).
TEST(Int8Slicing, TheKernelOfAnOperandStoredByColumnsCompilesForEveryArch) {
  for (const char* arch : {"sm_80", "sm_90"})
    for (int slices : {1, 3, 7}) {
      const bool measure = slices == 3;
      const KernelSource kernel =
          emit_int8_slicing(37, 1001, slices, measure, OperandStorage::columns);
      const CompiledBinary binary = compile_to_cubin(kernel.code, kernel.name, arch);
      EXPECT_GT(binary.cubin.size(), 0u) << arch << "\n" << binary.log;
      // (Measuring every digit count, the host model's test variant, spills a few bytes.)
      if (!measure) {
        EXPECT_EQ(binary.spill_bytes, 0) << arch << " " << slices;
      }
      EXPECT_EQ(kernel.launch.grid[0], 2u);
      EXPECT_NE(kernel.code.find("ft::slice_columns<"), std::string::npos);
    }
}

TEST(Int8Slicing, SliceCountsOutsideOneToSevenAreRefused) {
  EXPECT_THROW(emit_int8_slicing(4, 4, 0, false), Error);
  EXPECT_THROW(emit_int8_slicing(4, 4, 8, false), Error);
  EXPECT_THROW(emit_int8_slicing(0, 4, 2, false), Error);
}

// The product's kernel compiles for sm_90a at tile shapes of each kind (edges on both sides,
// one or two consumers, every digit pair or the triangle); what it cannot run is refused.
TEST(Int8xGemm, TheKernelCompilesForSm90a) {
  const Int8xGemmConfig triangle{};
  const Int8xGemmConfig wide{
      .slices = 2, .through = 4, .block_m = 64, .block_n = 128, .stages = 4, .consumers = 1};
  for (const Int8xGemmConfig& c : {triangle, wide}) {
    const KernelSource kernel = emit_int8x_gemm(100, 75, 1001, c);
    EXPECT_TRUE(kernel.arch_specific);
    const CompiledBinary binary = compile_to_cubin(kernel.code, kernel.name, "sm_90a");
    EXPECT_GT(binary.cubin.size(), 0u) << binary.log;
    ASSERT_EQ(kernel.launch.tensor_maps.size(), 2u);
    EXPECT_EQ(kernel.launch.tensor_maps[0].rows, c.slices * 100);
    EXPECT_EQ(kernel.launch.tensor_maps[0].cols, 1008);
    EXPECT_TRUE(kernel.launch.tensor_maps[1].int8_digits);
  }
}

TEST(Int8xGemm, WhatItCannotRunIsRefusedWithTheReason) {
  Int8xGemmConfig c;
  c.through = 7;  // beyond 2 x 3 digits
  EXPECT_NE(int8x_gemm_rejection(64, 64, 64, c).value_or("").find("through"), std::string::npos);
  c = {};
  c.stages = 4;  // 4 x 3 x 192 x 128 bytes
  EXPECT_NE(int8x_gemm_rejection(64, 64, 64, c).value_or("").find("shared memory"),
            std::string::npos);
  c = {};
  EXPECT_NE(int8x_gemm_rejection(64, 64, 1 << 16, c).value_or("").find("overflow"),
            std::string::npos);
  EXPECT_FALSE(int8x_gemm_rejection(1024, 8192, 8192, {}).has_value());
  c.block_n = 256;
  EXPECT_THROW(emit_int8x_gemm(64, 64, 64, c), Error);
}

}  // namespace
}  // namespace fusetune
