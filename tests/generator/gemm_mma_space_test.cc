// The tensor-core family's search space, names and configurations.
#include "generator/gemm_mma_space.h"

#include <gtest/gtest.h>

#include <set>
#include <variant>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }

TEST(GemmMmaSpace, EachTensorPrecisionHasItsOwnCandidatesForTheSeed) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : {Precision::tf32, Precision::tf32x3}) {
    const std::vector<Candidate> space = search_space(spec, sm90(), precision);
    EXPECT_GE(space.size(), 50u) << to_string(precision);
    std::set<std::string> names;
    for (const Candidate& c : space) {
      if (std::holds_alternative<GemmWgmmaConfig>(c.config)) continue;  // its own tests
      const auto& config = std::get<GemmMmaConfig>(c.config);
      EXPECT_EQ(config.precision(), precision) << c.name;
      EXPECT_EQ(precision_of(c.config), precision);
      EXPECT_EQ(gemm_mma_rejection(spec.main, sm90(), config), std::nullopt) << c.name;
      EXPECT_TRUE(names.insert(c.name).second) << "duplicate name " << c.name;
      EXPECT_NE(c.name.find(std::string(to_string(precision))), std::string::npos) << c.name;
    }
  }
}

TEST(GemmMmaSpace, Fp32UsesOnlyTheSimtFamilyAndTheTensorPrecisionsOnlyTensorCoreFamilies) {
  const Spec spec = parse_spec(kSeed);
  for (const Candidate& c : search_space(spec, sm90(), Precision::fp32))
    EXPECT_TRUE(std::holds_alternative<GemmSimtConfig>(c.config)) << c.name;
  for (const Candidate& c : search_space(spec, sm90(), Precision::tf32))
    EXPECT_FALSE(std::holds_alternative<GemmSimtConfig>(c.config)) << c.name;
  const DeviceLimits sm80 = *DeviceLimits::for_arch("sm_80");
  for (const Candidate& c : search_space(spec, sm80, Precision::tf32))
    EXPECT_TRUE(std::holds_alternative<GemmMmaConfig>(c.config)) << c.name;
}

TEST(GemmMmaSpace, NamesAndJsonRoundTrip) {
  const Spec spec = parse_spec("matmul(m=1000, n=998, k=77, transpose_a=true) -> relu");
  for (Precision precision : {Precision::tf32, Precision::tf32x3})
    for (const Candidate& c : search_space(spec, sm90(), precision)) {
      EXPECT_EQ(candidate_from_name(spec, sm90(), c.name).config, c.config) << c.name;
      EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
    }
}

TEST(GemmMmaSpace, CopiesUseTheWidestVectorTheContiguousExtentAllows) {
  // A is x[M,K]: its copies run along K (77: one float); B is [K,N] here: along N (998: two).
  const Spec spec = parse_spec("matmul(m=1000, n=998, k=77)");
  const auto c = std::get<GemmMmaConfig>(default_candidate(spec, sm90(), Precision::tf32).config);
  EXPECT_EQ(c.vec_a, 1);
  EXPECT_EQ(c.vec_b, 2);
  // On sm_80, where no warpgroup-MMA kernel competes for the default.
  const auto seed = std::get<GemmMmaConfig>(
      default_candidate(parse_spec(kSeed), *DeviceLimits::for_arch("sm_80"), Precision::tf32x3)
          .config);
  EXPECT_EQ(seed.vec_a, 4);
  EXPECT_EQ(seed.vec_b, 4);
}

TEST(GemmMmaSpace, SharedMemoryFollowsEachOperandsLayout) {
  GemmMmaConfig c;  // 2x2 warps of 4x4 tiles: a 128x64 block tile, BK 16, 3 stages
  const MainOp linear = parse_spec("linear(m=256, n=256, k=256)").main;
  // A [128][16 + 4] and B [64][16 + 4] per stage.
  EXPECT_EQ(c.smem_bytes(linear), 3 * (128 * 20 + 64 * 20) * 4);
  const MainOp matmul = parse_spec("matmul(m=256, n=256, k=256)").main;
  // A [128][20]; B stored [K,N]: [16][64 + 8].
  EXPECT_EQ(c.smem_bytes(matmul), 3 * (128 * 20 + 16 * 72) * 4);
}

TEST(GemmMmaSpace, ImpossibleNamesAreExplained) {
  const Spec spec = parse_spec(kSeed);
  const auto error = error_of(
      [&] { candidate_from_name(spec, sm90(), "ft_gemm_mma_100x64x16_w2x2_s3_tf32_va4_vb4"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::invalid_argument);
  EXPECT_NE(std::string(error->what()).find("does not split into 2x2 warps"), std::string::npos)
      << error->what();
}

TEST(GemmMmaSpace, DefaultIsValidForOddShapes) {
  for (const char* text :
       {"linear(m=1, n=37, k=5)", "matmul(m=1000, n=999, k=77, transpose_b=true)",
        "linear(m=3, n=5, k=1)"}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : {Precision::tf32, Precision::tf32x3}) {
      const auto c = std::get<GemmMmaConfig>(default_candidate(spec, sm90(), precision).config);
      EXPECT_EQ(gemm_mma_rejection(spec.main, sm90(), c), std::nullopt) << text;
    }
  }
}

}  // namespace
}  // namespace fusetune
