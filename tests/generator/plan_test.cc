// Plans (generator/plan.h): which part of a spec the main kernel computes in each family, the
// finishing kernels that complete it and the workspace they share, and that every reduction op
// compiles into a plan for each target arch.
#include "generator/plan.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "generator/generator.h"
#include "generator/reductions.h"
#include "generator/spec_parser.h"
#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }

TEST(MainKernelSpec, TakesTheLeadingElementwiseOpsAndAPoolWhereTheFamilyFusesOne) {
  const Spec spec = parse_spec(
      "conv2d(n=2, c=3, h=12, w=12, k=4, kernel=3) -> bias -> relu -> max_pool2d(2) -> mul(2.0) "
      "-> avg_pool2d(2) -> softmax(dim=1) -> tanh");
  EXPECT_EQ(main_kernel_spec(spec, true).canonical(),
            "conv2d(n=2, c=3, h=12, w=12, k=4, kernel=3) -> bias -> relu -> max_pool2d(2) -> "
            "mul(2.0)");
  EXPECT_EQ(main_kernel_spec(spec, false).canonical(),
            "conv2d(n=2, c=3, h=12, w=12, k=4, kernel=3) -> bias -> relu");
  const Spec reduces_first = parse_spec("linear(m=4, n=8, k=2) -> softmax(dim=1) -> relu");
  EXPECT_TRUE(main_kernel_spec(reduces_first, false).chain.empty());
  const Spec elementwise = parse_spec("linear(m=4, n=8, k=2) -> bias -> relu");
  EXPECT_EQ(main_kernel_spec(elementwise, false), elementwise);
}

// A saved value is written at every element: a fused pool step would skip those no window
// takes, so a chain that saves fuses its pool only where the windows tile the value exactly.
TEST(MainKernelSpec, AChainThatSavesFusesOnlyAPoolWhoseWindowsTileTheValue) {
  const Spec tiled = parse_spec(  // 10x10 outputs in 2x2 windows
      "conv2d(n=1, c=3, h=12, w=12, k=4, kernel=3) -> save -> relu -> max_pool2d(2)");
  EXPECT_EQ(main_kernel_spec(tiled, true), tiled);
  for (const char* text :
       {"conv2d(n=1, c=3, h=11, w=12, k=4, kernel=3) -> save -> relu -> max_pool2d(2)",
        "conv2d(n=1, c=3, h=12, w=12, k=4, kernel=3) -> save -> max_pool2d(2, padding=1)",
        "conv2d(n=1, c=3, h=13, w=13, k=4, kernel=3) -> save -> max_pool2d(3, stride=2)"}) {
    const Spec spec = parse_spec(text);
    EXPECT_EQ(main_kernel_spec(spec, true).chain.size(), spec.chain.size() - 1) << text;
  }
}

TEST(Plan, AChainOfElementwiseOpsIsOneKernel) {
  const Spec spec = parse_spec("linear(m=64, n=64, k=64) -> bias -> gelu");
  const KernelSource source =
      generate(spec, default_candidate(spec, limits_of("sm_90"), Precision::fp32).config);
  EXPECT_TRUE(source.finishing.steps.empty());
  EXPECT_FALSE(source.finishing.main_output_offset);
}

TEST(Plan, ANormalizationWhoseGroupsFitInRegistersIsOneKernelInPlace) {
  const Spec spec = parse_spec("linear(m=64, n=100, k=64) -> bias -> softmax(dim=1) -> mul(2.0)");
  const KernelSource source =
      generate(spec, default_candidate(spec, limits_of("sm_90"), Precision::fp32).config);
  ASSERT_EQ(source.finishing.steps.size(), 1u);
  EXPECT_EQ(source.finishing.steps[0].entry, source.name + "_groups1");
  EXPECT_FALSE(source.finishing.main_output_offset) << "the output holds the main kernel's value";
  // A row to a warp, 8 to a block of 256.
  EXPECT_EQ(source.finishing.steps[0].launch.grid[0], 8u);
}

TEST(Plan, ANormalizationOfLargerGroupsGathersStatisticsThenWritesTheOutput) {
  const Spec spec = parse_spec("linear(m=4, n=70000, k=8) -> softmax(dim=1) -> mul(2.0)");
  const KernelSource source =
      generate(spec, default_candidate(spec, limits_of("sm_90"), Precision::fp32).config);
  ASSERT_EQ(source.finishing.steps.size(), 2u);
  EXPECT_EQ(source.finishing.steps[0].entry, source.name + "_statistics0");
  EXPECT_EQ(source.finishing.steps[1].entry, source.name + "_output");
  EXPECT_FALSE(source.finishing.main_output_offset);
  // Four rows split over many blocks each; their parts, counters and statistics in the workspace.
  EXPECT_GT(source.finishing.steps[0].launch.grid[0], 4u * 8);
  EXPECT_EQ(source.finishing.steps[1].launch.grid[0], (4u * 70000 + 255) / 256);
  for (const KernelStep& step : source.finishing.steps)
    EXPECT_GE(step.launch.workspace_bytes, 4u * 8) << "a max and a sum per row";
}

TEST(Plan, AReductionThatShrinksTheValueWritesTheMainKernelsOutputToTheWorkspace) {
  const Spec spec = parse_spec("linear(m=64, n=100, k=64) -> bias -> sum(dim=1) -> sigmoid");
  const KernelSource source =
      generate(spec, default_candidate(spec, limits_of("sm_90"), Precision::fp32).config);
  ASSERT_EQ(source.finishing.steps.size(), 2u);
  ASSERT_TRUE(source.finishing.main_output_offset);
  // The workspace holds the main kernel's 64 x 100 values, then the rows' sums.
  EXPECT_GE(source.finishing.steps[0].launch.workspace_bytes,
            *source.finishing.main_output_offset + 64 * 100 * 4 + 64 * 4);
  EXPECT_EQ(source.finishing.steps[1].launch.grid[0], 1u) << "64 outputs";
}

TEST(Plan, BatchNormsGroupsAreSplitOverBlocksAndItsEvalModeGathersNothing) {
  const Spec training = parse_spec("conv2d(n=8, c=3, h=66, w=66, k=4, kernel=3) -> batch_norm");
  const KernelSource source =
      generate(training, default_candidate(training, limits_of("sm_90"), Precision::fp32).config);
  ASSERT_EQ(source.finishing.steps.size(), 2u);
  EXPECT_GT(source.finishing.steps[0].launch.grid[0], 4u) << "four channels over many blocks";
  const Spec eval =
      parse_spec("conv2d(n=8, c=3, h=66, w=66, k=4, kernel=3) -> batch_norm(training=false)");
  const KernelSource eval_source =
      generate(eval, default_candidate(eval, limits_of("sm_90"), Precision::fp32).config);
  ASSERT_EQ(eval_source.finishing.steps.size(), 1u) << "the running statistics stand in";
  EXPECT_EQ(eval_source.finishing.steps[0].entry, eval_source.name + "_output");
}

TEST(Plan, TensorCoreConvolutionsPoolInTheirEpilogueButTheGlobalAverage) {
  const Spec spec =
      parse_spec("conv2d(n=2, c=3, h=12, w=12, k=4, kernel=3) -> relu -> max_pool2d(2)");
  for (Precision precision : {Precision::fp32, Precision::tf32}) {
    const KernelSource source =
        generate(spec, default_candidate(spec, limits_of("sm_90"), precision).config);
    EXPECT_TRUE(source.finishing.steps.empty())
        << "pooled in the epilogue at " << to_string(precision);
  }
  const Spec global = parse_spec(
      "conv2d(n=2, c=3, h=12, w=12, k=4, kernel=3) -> relu -> global_avg_pool -> sigmoid");
  const KernelSource mma =
      generate(global, default_candidate(global, limits_of("sm_90"), Precision::tf32).config);
  EXPECT_FALSE(mma.finishing.steps.empty()) << "the global average sums over blocks";
  EXPECT_TRUE(mma.finishing.main_output_offset);
  // A pool whose windows straddle a transposed convolution's phases is a finishing kernel's too.
  const Spec straddling =
      parse_spec("conv_transpose2d(n=2, c=4, h=5, w=6, k=6, kernel=3, stride=2) -> max_pool2d(3)");
  EXPECT_EQ(generate(straddling,
                     default_candidate(straddling, limits_of("sm_90"), Precision::tf32).config)
                .finishing.steps.size(),
            1u);
}

// Where a thread of the direct convolution holds every channel of its positions (one block of
// channels as wide as its thread's), a softmax over the channels runs in the main kernel's
// epilogue: the tile owns the whole reduced extent. Other configurations of the same space leave
// it to finishing kernels, and the search times both.
TEST(Plan, ADirectConvolutionThatHoldsEveryChannelNormalizesThemInItsEpilogue) {
  const Spec spec = parse_spec(
      "conv3d(n=2, c=3, d=6, h=7, w=9, k=5, kernel=3) -> bias -> softmax(dim=1) -> relu -> "
      "max_pool3d(2)");
  bool held = false, finished = false;
  for (const Candidate& c : search_space(spec, limits_of("sm_90"), Precision::fp32)) {
    const ConvSimtConfig& config = std::get<ConvSimtConfig>(c.config);
    const KernelSource source = generate(spec, c.config);
    if (config.co_block == config.co_thread && config.co_thread >= 5) {
      held = true;
      EXPECT_NE(source.code.find("ft::MaxSumExpStat s;  // softmax(dim=1) over the 5 channels"),
                std::string::npos)
          << c.name;
      ASSERT_EQ(source.finishing.steps.size(), 1u) << c.name << ": the pool is left";
      EXPECT_EQ(source.finishing.steps[0].entry, source.name + "_output");
    } else {
      finished = true;
      ASSERT_EQ(source.finishing.steps.size(), 2u) << c.name << ": statistics, then the output";
    }
  }
  EXPECT_TRUE(held && finished) << "both ways are candidates";
}

// Every reduction op, after a linear layer and after a convolution, at the default candidate of
// fp32 and of 3xTF32: the plan's source compiles for each arch.
class PlanCompiles : public ::testing::TestWithParam<std::string> {};

TEST_P(PlanCompiles, EveryReductionOpsPlanCompiles) {
  const std::string arch = GetParam();
  for (const ReductionOpInfo& op : reduction_ops()) {
    std::string arguments = op.group_by == GroupBy::dims             ? "(dim=1)"
                            : op.group_by == GroupBy::channel_groups ? "(2)"
                                                                     : "";
    std::vector<std::string> specs = {"conv2d(n=2, c=3, h=9, w=7, k=4, kernel=3) -> bias -> " +
                                      std::string(op.name) + arguments + " -> relu"};
    if (op.group_by != GroupBy::positions)
      specs.push_back("linear(m=30, n=40, k=20) -> bias -> " + std::string(op.name) + arguments +
                      " -> relu");
    for (const std::string& text : specs) {
      SCOPED_TRACE(text);
      const Spec spec = parse_spec(text);
      for (Precision precision : {Precision::fp32, Precision::tf32x3}) {
        const KernelSource source =
            generate(spec, default_candidate(spec, limits_of(arch), precision).config);
        const CompiledBinary binary =
            compile_to_cubin(source.code, source.name, target_arch(source, arch));
        EXPECT_FALSE(binary.cubin.empty());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, PlanCompiles, ::testing::Values("sm_80", "sm_90"));

}  // namespace
}  // namespace fusetune
