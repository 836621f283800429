// The slicing pass's kernel as generated: its workspace layout and an NVRTC compile for every
// arch; its results against the host model run on the GPU (tests/templates/int8_slicing_test.cc).
#include "generator/int8_slicing.h"

#include <gtest/gtest.h>

#include "fusetune/status.h"
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

TEST(Int8Slicing, SliceCountsOutsideOneToSevenAreRefused) {
  EXPECT_THROW(emit_int8_slicing(4, 4, 0, false), Error);
  EXPECT_THROW(emit_int8_slicing(4, 4, 8, false), Error);
  EXPECT_THROW(emit_int8_slicing(0, 4, 2, false), Error);
}

}  // namespace
}  // namespace fusetune
