// The int8x GEMM family: which specs and targets reach it, what its space holds and rules out and
// why, that names and JSON read back to the same configuration, and the plan it generates: two
// slicing passes before the product, reading and writing the workspace where the product's tensor
// maps and exponents say.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>

#include "fusetune/status.h"
#include "generator/gemm_int8x.h"
#include "generator/generator.h"
#include "generator/int8_slicing.h"
#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

const std::string kSeed = "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";
// Sizes that divide no tile, K that divides no 16-byte digit row.
const std::string kOdd = "linear(m=100, n=75, k=1001) -> bias -> relu";

DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }
DeviceLimits sm80() { return *DeviceLimits::for_arch("sm_80"); }

TEST(GemmInt8xSpace, LinearLayersOnSm90HaveASpaceThatReadsBack) {
  for (const std::string& text : {kSeed, kOdd}) {
    SCOPED_TRACE(text);
    const Spec spec = parse_spec(text);
    const std::vector<Candidate> space = search_space(spec, sm90(), Precision::int8x);
    ASSERT_FALSE(space.empty());
    EXPECT_LE(space.size(), kGemmInt8xSpaceSize);
    std::set<std::string> names;
    for (const Candidate& c : space) {
      ASSERT_TRUE(std::holds_alternative<Int8xGemmConfig>(c.config)) << c.name;
      const auto& config = std::get<Int8xGemmConfig>(c.config);
      EXPECT_EQ(gemm_int8x_rejection(spec, sm90(), config), std::nullopt) << c.name;
      EXPECT_TRUE(c.name.starts_with("ft_gemm_int8x_")) << c.name;
      EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
      EXPECT_EQ(candidate_from_name(spec, sm90(), c.name).config, c.config) << c.name;
      EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
      EXPECT_EQ(precision_of(c.config), Precision::int8x) << c.name;
    }
    EXPECT_EQ(default_candidate(spec, sm90(), Precision::int8x).config, space.front().config);
  }
  EXPECT_EQ(config_name(parse_spec(kSeed).main,
                        Int8xGemmConfig{.slices = 3, .through = 4, .block_m = 128, .block_n = 64}),
            "ft_gemm_int8x_128x64_d3t4_c2_s3_p132");
}

TEST(GemmInt8xSpace, TheProductFollowsItsSlicingPassesThroughTheWorkspace) {
  const Spec spec = parse_spec(kOdd);
  const Int8xGemmConfig c{.slices = 3, .through = 4, .block_m = 128, .block_n = 64, .blocks = 2};
  const KernelSource source = generate(spec, c);
  EXPECT_TRUE(source.arch_specific);
  // x's slicing pass, the weight's, then the guard's verdict on their statistics.
  ASSERT_EQ(source.finishing.preparing.size(), 3u);
  EXPECT_EQ(source.finishing.preparing[2].entry, source.name + "_guard");
  EXPECT_EQ(source.finishing.preparing[2].launch.grid[0], 1u);
  // After the product, the deeper one the guard turns to (one more diagonal of digit pairs),
  // on tiles narrow enough for its accumulators; none for a product that takes every pair.
  ASSERT_EQ(source.finishing.steps.size(), 1u);
  const KernelStep& deeper = source.finishing.steps[0];
  EXPECT_EQ(deeper.entry, source.name + "_deeper");
  EXPECT_NE(source.code.find("DEEPER = 5"), std::string::npos);
  EXPECT_NE(source.code.find("gemm_wgmma_int8<DeeperConfig>"), std::string::npos);
  EXPECT_EQ(deeper.launch.tensor_maps.size(), 2u);
  EXPECT_EQ(deeper.launch.tensor_maps[1].box_rows, 64);
  EXPECT_TRUE(generate(spec, Int8xGemmConfig{.slices = 3, .through = 6, .blocks = 2})
                  .finishing.steps.empty());
  const Int8xWorkspace w = int8x_workspace(spec.main, 3);
  const SlicingLayout a = slicing_layout(100, 1001, 3), b = slicing_layout(75, 1001, 3);
  EXPECT_EQ(w.b_base % 1024, 0u);
  EXPECT_GE(w.b_base, a.bytes);
  EXPECT_GE(w.verdict, w.b_base + b.bytes);
  EXPECT_GE(w.bytes, w.verdict + sizeof(int));
  // Every kernel of the plan sees the whole workspace.
  EXPECT_EQ(source.launch.workspace_bytes, w.bytes);
  for (const KernelStep& step : source.finishing.preparing) {
    EXPECT_EQ(step.launch.workspace_bytes, w.bytes) << step.entry;
    EXPECT_NE(source.code.find("extern \"C\" __global__ void __launch_bounds__(256)\n" +
                               step.entry + "("),
              std::string::npos)
        << step.entry;
  }
  EXPECT_EQ(source.finishing.preparing[0].launch.grid[0], 100u);  // a block per row of x
  EXPECT_EQ(source.finishing.preparing[1].launch.grid[0], 75u);   // and of the weight
  ASSERT_EQ(source.launch.tensor_maps.size(), 2u);
  const TensorMapSpec& map_a = source.launch.tensor_maps[0];
  const TensorMapSpec& map_b = source.launch.tensor_maps[1];
  EXPECT_TRUE(map_a.int8_digits && map_b.int8_digits);
  EXPECT_EQ(map_a.workspace_offset, a.digits);
  EXPECT_EQ(map_b.workspace_offset, w.b_base + b.digits);
  EXPECT_EQ(map_a.rows, 3 * 100);
  EXPECT_EQ(map_b.rows, 3 * 75);
  EXPECT_EQ(map_a.cols, a.pitch);
  EXPECT_EQ(source.launch.grid[0], 2u);  // two persistent blocks for two tiles
  EXPECT_NE(source.code.find(fmt::format("bytes + {})", w.b_base + b.exponents)),
            std::string::npos);
  EXPECT_NE(source.code.find(fmt::format("bytes + {}), args.tensors[0]", w.verdict)),
            std::string::npos)
      << "the product reads the verdict, and the operands it falls back on";
}

// Operands stored the other way (a matmul's B [K, N], A [K, M] under transpose_a) are sliced by
// columns into the digit rows their transposed copies would give; the product and its maps are
// the same, and the fp32 fallback reads them as stored.
TEST(GemmInt8xSpace, OperandsStoredTheOtherWayAreSlicedByColumns) {
  const Spec spec = parse_spec("matmul(m=100, n=75, k=130, transpose_a=true) -> relu");
  const std::vector<Candidate> space = search_space(spec, sm90(), Precision::int8x);
  ASSERT_FALSE(space.empty());
  const KernelSource source = generate(spec, space.front().config);
  ASSERT_GE(source.finishing.preparing.size(), 2u);
  // A [K, M] by columns, 32 rows a block; B [K, N] likewise.
  EXPECT_EQ(source.finishing.preparing[0].launch.grid[0], (100u + 31) / 32);
  EXPECT_EQ(source.finishing.preparing[1].launch.grid[0], (75u + 31) / 32);
  EXPECT_NE(source.code.find("ft::slice_columns<" + source.name + "_slice_a_shape>"),
            std::string::npos);
  EXPECT_NE(source.code.find("ft::slice_columns<" + source.name + "_slice_b_shape>"),
            std::string::npos);
  EXPECT_NE(source.code.find("TRANSPOSED_A = true, TRANSPOSED_B = true"), std::string::npos);
  // The weight of a linear layer is sliced by rows, as before.
  const Spec linear = parse_spec("linear(m=100, n=75, k=128)");
  const KernelSource by_rows =
      generate(linear, search_space(linear, sm90(), Precision::int8x).front().config);
  EXPECT_EQ(by_rows.code.find("ft::slice_columns<"), std::string::npos);
  EXPECT_EQ(by_rows.finishing.preparing[1].launch.grid[0], 75u);
}

TEST(GemmInt8xSpace, SpecsAndTargetsItCannotRunSayWhy) {
  const Int8xGemmConfig good{.slices = 3, .through = 4, .block_m = 128, .block_n = 64};
  const Spec seed = parse_spec(kSeed);
  EXPECT_EQ(gemm_int8x_rejection(seed, sm80(), good), "int8x runs on sm_90's warpgroup MMA");
  EXPECT_TRUE(search_space(seed, sm80(), Precision::int8x).empty());
  EXPECT_EQ(gemm_int8x_spec_rejection(parse_spec("linear(m=64, n=64, k=64, dtype=bf16)")),
            "int8x splits fp32 operands");
  EXPECT_EQ(gemm_int8x_spec_rejection(parse_spec("conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3)")),
            "int8x runs linear layers and matmuls");
  // Three digits through 4: a diagonal sums up to 3 digit pairs of 127^2 per k, exact in int32
  // while K stays below 2^31 / (3 * 127^2) = 44385.
  EXPECT_EQ(gemm_int8x_rejection(parse_spec("linear(m=64, n=64, k=50000)"), sm90(), good),
            "K = 50000: 3 digit pairs of a diagonal could overflow int32");
  // Two digits through 4: three diagonals of 224 columns, 112 accumulators each per 64 rows.
  const Int8xGemmConfig wide{
      .slices = 2, .through = 4, .block_m = 128, .block_n = 224, .stages = 2};
  EXPECT_EQ(gemm_int8x_rejection(seed, sm90(), wide),
            "336 accumulators per thread: more than a consumer's registers hold");
  EXPECT_NE(error_of([&] { default_candidate(seed, sm80(), Precision::int8x); })
                .value_or(Error(StatusCode::internal, "(no error)"))
                .what(),
            std::string("(no error)"));
}

}  // namespace
}  // namespace fusetune
