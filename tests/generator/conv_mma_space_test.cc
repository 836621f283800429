// The implicit-GEMM tensor-core convolution family: which specs and precisions reach it, what its
// space holds and rules out and why, and that names and JSON read back to the same
// configuration.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <iostream>
#include <set>
#include <string>
#include <variant>

#include "fusetune/status.h"
#include "generator/conv_mma.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

// KernelBench's conv2d, the problem the family is for: M = 128·126·126 positions, N = 128
// channels, K = 64·9.
const std::string kKernelBench =
    "conv2d(n=128, c=64, h=128, w=128, k=128, kernel=3) -> bias -> relu -> add(channel)";
// Sizes that divide no tile, stride 2, padding, dilation 2, groups 2.
const std::string kOdd =
    "conv2d(n=2, c=6, h=19, w=23, k=10, kernel=3, stride=2, padding=2, dilation=2, groups=2) -> "
    "bias -> relu -> add(channel)";

DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }
DeviceLimits sm80() { return *DeviceLimits::for_arch("sm_80"); }

std::string error_text(const std::function<void()>& f) {
  const std::optional<Error> error = error_of(f);
  return error ? error->what() : "(no error)";
}

TEST(ConvMmaSpace, Tf32AndTf32x3ConvolutionsGetTheirOwnFamilyAndReadBack) {
  for (const std::string& text : {kKernelBench, kOdd}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : {Precision::tf32, Precision::tf32x3})
      for (const DeviceLimits& limits : {sm80(), sm90()}) {
        SCOPED_TRACE(text + " at " + std::string(to_string(precision)) + " on " + limits.arch);
        const std::vector<Candidate> space = search_space(spec, limits, precision);
        ASSERT_FALSE(space.empty());
        EXPECT_LE(space.size(), kConvMmaSpaceSize);
        std::set<std::string> names;
        for (const Candidate& c : space) {
          ASSERT_TRUE(std::holds_alternative<ConvMmaConfig>(c.config)) << c.name;
          const auto& config = std::get<ConvMmaConfig>(c.config);
          EXPECT_EQ(conv_mma_rejection(spec, limits, config), std::nullopt) << c.name;
          EXPECT_TRUE(c.name.starts_with("ft_conv_mma_")) << c.name;
          EXPECT_TRUE(names.insert(c.name).second) << "twice: " << c.name;
          EXPECT_EQ(candidate_from_name(spec, limits, c.name).config, c.config) << c.name;
          EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
          EXPECT_EQ(precision_of(c.config), precision) << c.name;
        }
        const Candidate fallback = default_candidate(spec, limits, precision);
        EXPECT_EQ(fallback.config, space.front().config);
      }
  }
  const Spec kernel_bench = parse_spec(kKernelBench);
  std::cout << "KernelBench conv2d on sm_90: "
            << search_space(kernel_bench, sm90(), Precision::tf32).size() << " tf32 and "
            << search_space(kernel_bench, sm90(), Precision::tf32x3).size()
            << " 3xtf32 candidates; tf32 default "
            << default_candidate(kernel_bench, sm90(), Precision::tf32).name << '\n';
}

TEST(ConvMmaSpace, TheKernelBenchSpaceHoldsTheWideTilesItNeeds) {
  const Spec spec = parse_spec(kKernelBench);
  const std::vector<Candidate> space = search_space(spec, sm90(), Precision::tf32);
  std::set<int> block_m, block_n, bk, stages;
  for (const Candidate& c : space) {
    const auto& config = std::get<ConvMmaConfig>(c.config);
    block_m.insert(config.block_m());
    block_n.insert(config.block_n());
    bk.insert(config.bk);
    stages.insert(config.stages);
    // A problem this large keeps to warps of at least 8 MMA tiles.
    EXPECT_GE(config.mma_tiles_m * config.mma_tiles_n, 8) << c.name;
    EXPECT_EQ(config.vec_b, 4) << "K = 576 is a multiple of 4: " << c.name;
  }
  EXPECT_TRUE(block_m.contains(128));
  EXPECT_TRUE(block_n.contains(128));
  EXPECT_EQ(bk, (std::set<int>{16, 32}));
  EXPECT_GE(stages.size(), 2u);
  // The tile that covers all 128 channels and shares each A tile among them is in the space.
  EXPECT_NO_THROW(candidate_from_name(spec, sm90(), "ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4"));
}

TEST(ConvMmaSpace, Fp32ConvolutionsStayOnTheDirectFamily) {
  const Spec spec = parse_spec(kKernelBench);
  const std::vector<Candidate> space = search_space(spec, sm90(), Precision::fp32);
  ASSERT_FALSE(space.empty());
  for (const Candidate& c : space)
    EXPECT_TRUE(std::holds_alternative<ConvSimtConfig>(c.config)) << c.name;
  EXPECT_TRUE(conv_mma_space(spec, sm90(), Precision::fp32).empty());
  EXPECT_TRUE(conv_mma_space(spec, sm90(), Precision::bf16).empty());
}

TEST(ConvMmaNames, EncodeEveryTunableAndTheGuards) {
  const Spec spec = parse_spec(kKernelBench);
  const ConvMmaConfig c{2, 4, 4, 4, 16, 3, 1, 4};
  EXPECT_EQ(config_name(spec.main, c), "ft_conv_mma_128x128x16_w2x4_s3_tf32_vb4");
  ConvMmaConfig x3 = c;
  x3.passes = 3;
  x3.stages = 4;
  x3.bk = 32;
  EXPECT_EQ(config_name(spec.main, x3), "ft_conv_mma_128x128x32_w2x4_s4_3xtf32_vb4");
  // kOdd: M = 2·10·12 = 240, N = 5 per group, K = 3·9 = 27.
  const Spec odd = parse_spec(kOdd);
  const ConvGemm gemm = conv_gemm(odd);
  EXPECT_EQ(gemm.m, 240);
  EXPECT_EQ(gemm.n, 5);
  EXPECT_EQ(gemm.k, 27);
  EXPECT_EQ(gemm.groups, 2);
  const ConvMmaConfig small{2, 1, 1, 1, 16, 3, 3, 1};
  EXPECT_EQ(config_name(odd.main, small), "ft_conv_mma_32x8x16_w2x1_s3_3xtf32_vb1_gmnk");
  EXPECT_EQ(parse_config_name<ConvMmaConfig>("ft_conv_mma_32x8x16_w2x1_s3_3xtf32_vb1_gmnk"), small);
  EXPECT_EQ(conv_mma_block_count(odd, small), 8 * 1 * 2);  // 240/32 up, 5/8 up, 2 groups

  std::string why;
  EXPECT_EQ(parse_config_name<ConvMmaConfig>("ft_conv_mma_128x128x16_w2x4_s3_bf16_vb4", &why),
            std::nullopt);
  EXPECT_NE(why.find("not of the form ft_conv_mma_"), std::string::npos) << why;
  EXPECT_EQ(parse_config_name<ConvMmaConfig>("ft_conv_mma_100x128x16_w2x4_s3_tf32_vb4", &why),
            std::nullopt);
  EXPECT_EQ(why, "a 100x128 block tile does not split into 2x4 warps of 16x8 MMA tiles");
  EXPECT_NE(error_text([&] {
              candidate_from_name(spec, sm90(), "ft_conv_mma_128x128");
            }).find("names no kernel configuration"),
            std::string::npos);
}

TEST(ConvMmaNames, JsonNamesItsFamily) {
  const KernelConfig c = ConvMmaConfig{4, 2, 2, 8, 32, 2, 3, 2};
  const std::string json = config_json(c);
  EXPECT_NE(json.find("\"family\":\"conv_mma\""), std::string::npos) << json;
  EXPECT_EQ(config_from_json(json), c);
}

TEST(ConvMmaSpace, RejectionsSayWhy) {
  const Spec spec = parse_spec(kKernelBench);
  const ConvMmaConfig good{2, 4, 4, 4, 16, 3, 1, 4};
  EXPECT_EQ(conv_mma_rejection(spec, sm90(), good), std::nullopt);
  auto reason = [&](const Spec& s, const ConvMmaConfig& c) {
    return conv_mma_rejection(s, sm90(), c).value_or("(accepted)");
  };
  ConvMmaConfig c = good;
  c.vec_b = 2;
  EXPECT_EQ(reason(spec, c),
            "the weight is copied in the widest vectors C/groups·taps = 576 allows (4)");
  c = good;
  c.warps_m = 4;
  c.warps_n = 4;
  EXPECT_EQ(reason(spec, c), "blocks have 64 to 256 threads");
  c = good;
  c.bk = 12;
  EXPECT_EQ(reason(spec, c),
            "BK is a multiple of 8 (the MMA's k) and the pipeline has 2 to 4 stages");
  c = good;
  c.mma_tiles_m = 2;
  c.mma_tiles_n = 2;
  EXPECT_EQ(reason(spec, c), "a problem this large is faster with at least 8 MMA tiles per warp");
  // Each warp copies A for 32 consecutive positions: a 48-position tile cannot be split so.
  c = ConvMmaConfig{3, 1, 1, 4, 16, 3, 1, 4};
  EXPECT_EQ(c.a_columns(), 0);
  EXPECT_EQ(reason(spec, c), "the 48x16 A copies of a stage do not split evenly over 96 threads");
  c = ConvMmaConfig{2, 4, 1, 1, 16, 3, 1, 4};  // 32 positions: 8 rows of 32 threads, 2 columns
  EXPECT_EQ(c.a_rows(), 1);
  EXPECT_EQ(c.a_columns(), 2);
  c = ConvMmaConfig{4, 1, 4, 4, 32, 3, 1, 4};  // 256 positions: 4 each, 64 threads per column
  EXPECT_EQ(c.a_rows(), 4);
  EXPECT_EQ(c.a_columns(), 16);
  c = good;
  c.passes = 3;  // 3xTF32 keeps a stage's partial sums and small parts beside the accumulators
  c.warps_n = 2;
  c.mma_tiles_n = 8;
  EXPECT_EQ(reason(spec, c), "needs more than 255 registers per thread");
  c = ConvMmaConfig{4, 2, 4, 4, 32, 4, 1, 4};  // 256x64 by 32 deep in 4 stages
  EXPECT_EQ(c.smem_bytes(), 4 * (32 * 264 + 64 * 36) * 4);
  EXPECT_EQ(reason(spec, c), "(accepted)");
  EXPECT_EQ(conv_mma_rejection(spec, sm80(), c),
            fmt::format("172032 bytes of shared memory; the device allows {}",
                        sm80().max_smem_per_block));
  const ConvMmaConfig narrow{2, 1, 1, 1, 16, 3, 1, 1};
  const ConvMmaConfig wide{2, 1, 1, 4, 16, 3, 1, 1};
  const Spec odd = parse_spec(kOdd);
  EXPECT_EQ(reason(odd, narrow), "(accepted)");
  EXPECT_EQ(reason(odd, wide),
            "a 32x32 block tile is more than twice the GEMM of 240 positions by 5 channels");
}

TEST(ConvMmaSpace, SpecsTheFamilyCannotRunSayWhyAndWhatToUse) {
  const ConvMmaConfig good{2, 1, 1, 1, 16, 3, 1, 4};
  const ConvMmaConfig gathered{2, 1, 1, 1, 16, 3, 1, 1};  // a transposed weight, a float a copy
  // A max pool is fused: cells are its windows, and no finishing kernel runs.
  const Spec pooled = parse_spec("conv2d(n=1, c=4, h=20, w=21, k=8, kernel=3) -> max_pool2d(2)");
  EXPECT_EQ(conv_mma_rejection(pooled, sm90(), good), std::nullopt);
  EXPECT_EQ(conv_gemm(pooled).m, 9 * 9);  // 18 x 19 outputs, 2x2 windows
  EXPECT_EQ(conv_gemm(pooled).depths, std::vector<std::int64_t>(4, 36));
  EXPECT_EQ(generate(pooled, default_candidate(pooled, sm90(), Precision::tf32).config)
                .finishing.steps.size(),
            0u);
  // A transposed convolution's cells are its output phases, each meeting its own taps: kernel 4
  // at stride 2 gives every phase 2 x 2 taps; the seed's kernel 3, 1 or 2 per axis.
  const Spec transposed = parse_spec(
      "conv_transpose2d(n=2, c=3, h=11, w=13, k=5, kernel=4, stride=2, padding=1) -> tanh");
  EXPECT_EQ(conv_mma_rejection(transposed, sm90(), gathered), std::nullopt);
  EXPECT_EQ(conv_mma_rejection(transposed, sm90(), good),
            "the weight is copied in the widest vectors C/groups·taps = 48 allows (1)");
  EXPECT_EQ(conv_gemm(transposed).depths, std::vector<std::int64_t>(4, 12));
  const Spec seed = parse_spec(
      "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
      "output_padding=1) -> bias -> leaky_relu(0.2) -> max_pool3d(2)");
  EXPECT_EQ(conv_gemm(seed).m, 16 * 16 * 32 * 32);
  EXPECT_EQ(conv_gemm(seed).depths, (std::vector<std::int64_t>{16, 32, 32, 64, 32, 64, 64, 128}));
  EXPECT_FALSE(search_space(seed, sm90(), Precision::tf32x3).empty());

  const Spec gemm = parse_spec("linear(m=64, n=64, k=64) -> relu");
  EXPECT_EQ(conv_mma_rejection(gemm, sm90(), good), "conv_mma runs convolutions only");
  const Spec dilated = parse_spec(
      "conv_transpose2d(n=2, c=6, h=9, w=10, k=4, kernel=3, stride=2, padding=1, dilation=2) -> "
      "sigmoid");
  EXPECT_EQ(conv_mma_rejection(dilated, sm90(), gathered),
            "conv_mma runs conv_transpose2d without dilation only; the direct family runs it "
            "(--precision fp32)");
  const Spec sparse =
      parse_spec("conv_transpose2d(n=2, c=6, h=9, w=10, k=4, kernel=1, stride=2) -> sigmoid");
  EXPECT_EQ(conv_mma_rejection(sparse, sm90(), gathered),
            "an output phase of conv_transpose2d meets no tap (a stride beyond the kernel); the "
            "direct family runs it (--precision fp32)");
  for (const Spec& spec : {dilated, sparse}) {
    EXPECT_TRUE(search_space(spec, sm90(), Precision::tf32).empty());
    EXPECT_TRUE(search_space(spec, sm90(), Precision::tf32x3).empty());
    EXPECT_FALSE(search_space(spec, sm90(), Precision::fp32).empty());
    ASSERT_TRUE(missing_family(spec, Precision::tf32x3));
    EXPECT_NE(missing_family(spec, Precision::tf32x3)->find("--precision fp32"), std::string::npos);
    EXPECT_NE(error_text([&] {
                default_candidate(spec, sm90(), Precision::tf32);
              }).find("has no kernel at precision tf32: "),
              std::string::npos);
  }
}

TEST(ConvMmaSpace, ConvolutionsInThreeDimensionsAndOneByOneKernelsHaveSpaces) {
  for (const char* text :
       {"conv3d(n=2, c=4, d=7, h=9, w=11, k=6, kernel=(3, 3, 2), padding=1) -> add(tensor)",
        "conv2d(n=4, c=64, h=14, w=14, k=256, kernel=1) -> relu",
        "conv2d(n=1, c=3, h=224, w=224, k=64, kernel=7, stride=2, padding=3) -> relu"}) {
    SCOPED_TRACE(text);
    const Spec spec = parse_spec(text);
    const std::vector<Candidate> space = search_space(spec, sm90(), Precision::tf32x3);
    EXPECT_FALSE(space.empty());
    for (const Candidate& c : space)
      EXPECT_EQ(conv_mma_rejection(spec, sm90(), std::get<ConvMmaConfig>(c.config)), std::nullopt);
  }
}

}  // namespace
}  // namespace fusetune
