// The tensor-core (mma.sync) family's search space, names and configurations, for fp32 data
// (TF32, 3xTF32) and 16-bit data (bf16, fp16), and the 16-bit source it emits compiled with
// NVRTC (which needs no GPU).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <variant>

#include "generator/gemm_mma.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"
#include "runtime/nvrtc.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

DeviceLimits sm80() { return *DeviceLimits::for_arch("sm_80"); }
DeviceLimits sm90() { return *DeviceLimits::for_arch("sm_90"); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

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

// ---- 16-bit data ----

struct SixteenBit {
  DataType dtype;
  Precision precision;
};
constexpr SixteenBit kSixteenBit[] = {{DataType::bf16, Precision::bf16},
                                      {DataType::fp16, Precision::fp16}};

TEST(GemmMmaSpace, EachSixteenBitTypeHasItsOwnCandidatesOnAmpere) {
  for (auto [dtype, precision] : kSixteenBit) {
    const Spec spec = parse_spec(
        fmt::format("linear(m=1024, n=1024, k=1024, dtype={}) -> bias", to_string(dtype)));
    const std::vector<Candidate> space = search_space(spec, sm80(), precision);
    EXPECT_GE(space.size(), 30u) << to_string(precision);
    std::set<std::string> names;
    for (const Candidate& c : space) {
      const auto& config = std::get<GemmMmaConfig>(c.config);
      EXPECT_EQ(config.dtype, dtype) << c.name;
      EXPECT_EQ(config.precision(), precision) << c.name;
      EXPECT_EQ(config.passes, 1) << c.name;
      EXPECT_EQ(config.bk % 16, 0) << c.name;
      EXPECT_EQ(config.vec_a, 8) << c.name;  // 16 bytes: K = 1024
      EXPECT_EQ(gemm_mma_rejection(spec.main, sm80(), config), std::nullopt) << c.name;
      EXPECT_TRUE(contains(c.name, fmt::format("_{}_va", to_string(precision)))) << c.name;
      EXPECT_TRUE(names.insert(c.name).second) << "duplicate name " << c.name;
      EXPECT_EQ(candidate_from_name(spec, sm80(), c.name).config, c.config) << c.name;
      EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
    }
    // Nothing of the fp32 precisions reads 16-bit data, and no 16-bit kernel fp32 data.
    EXPECT_TRUE(gemm_mma_space(spec.main, sm80(), Precision::tf32).empty());
    EXPECT_TRUE(gemm_mma_space(parse_spec(kSeed).main, sm80(), precision).empty());
  }
}

TEST(GemmMmaSpace, SixteenBitNamesAndJsonRoundTripForEveryOperandLayout) {
  for (const char* text : {"matmul(m=1000, n=998, k=78, transpose_a=true, dtype=bf16)",
                           "matmul(m=64, n=96, k=40, transpose_b=true, dtype=fp16) -> relu",
                           "matmul(m=38, n=202, k=5, transpose_a=true, dtype=bf16) -> add(row)"}) {
    const Spec spec = parse_spec(text);
    const std::vector<Candidate> space =
        search_space(spec, sm80(), native_precision(spec.main.dtype));
    EXPECT_FALSE(space.empty()) << text;
    for (const Candidate& c : space) {
      EXPECT_EQ(candidate_from_name(spec, sm80(), c.name).config, c.config) << c.name;
      EXPECT_EQ(config_from_json(config_json(c.config)), c.config) << c.name;
    }
  }
}

TEST(GemmMmaSpace, NamesCarryTheOperandType) {
  const auto c = parse_config_name<GemmMmaConfig>("ft_gemm_mma_128x64x32_w2x2_s3_fp16_va8_vb2_gn");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dtype, DataType::fp16);
  EXPECT_EQ(c->passes, 1);
  EXPECT_EQ(c->precision(), Precision::fp16);
  EXPECT_EQ(c->bk, 32);
  EXPECT_EQ(c->vec_a, 8);
  EXPECT_EQ(c->vec_b, 2);
  const auto tf32 =
      parse_config_name<GemmMmaConfig>("ft_gemm_mma_128x64x16_w2x2_s3_3xtf32_va4_vb4");
  ASSERT_TRUE(tf32);
  EXPECT_EQ(tf32->dtype, DataType::fp32);
  EXPECT_EQ(tf32->precision(), Precision::tf32x3);
}

TEST(GemmMmaSpace, StoredConfigurationsWithoutADtypeReadAsFp32) {
  nlohmann::json json = to_json(GemmMmaConfig{});
  ASSERT_EQ(json.at("dtype"), "fp32");
  json.erase("dtype");  // as stored before 16-bit inputs
  EXPECT_EQ(from_json<GemmMmaConfig>(json), GemmMmaConfig{});
  json["dtype"] = "fp8";
  const auto error = error_of([&] { from_json<GemmMmaConfig>(json); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::invalid_argument);
}

TEST(GemmMmaSpace, SixteenBitCopiesUseTheWidestOf16And8And4Bytes) {
  for (auto [k, vec] : {std::pair{1024, 8}, std::pair{3004, 4}, std::pair{1002, 2}}) {
    const Spec spec = parse_spec(fmt::format("linear(m=64, n=64, k={}, dtype=bf16)", k));
    const GemmMmaConfig c = gemm_mma_default(spec.main, sm80(), Precision::bf16);
    EXPECT_EQ(c.vec_a, vec) << k;
    EXPECT_EQ(c.vec_b, vec) << k;
    EXPECT_EQ(gemm_mma_rejection(spec.main, sm80(), c), std::nullopt) << k;
  }
}

TEST(GemmMmaSpace, SixteenBitStagesPadRowsBy16Bytes) {
  GemmMmaConfig c;  // 2x2 warps of 4x4 tiles: a 128x64 block tile, 3 stages
  c.dtype = DataType::bf16, c.passes = 1, c.bk = 32;
  const MainOp linear = parse_spec("linear(m=256, n=256, k=256, dtype=bf16)").main;
  // A [128][32 + 8] and B [64][32 + 8] per stage, 2 bytes each.
  EXPECT_EQ(c.smem_bytes(linear), 3 * (128 * 40 + 64 * 40) * 2);
  const MainOp matmul = parse_spec("matmul(m=256, n=256, k=256, dtype=bf16)").main;
  // A [128][40]; B stored [K,N]: [32][64 + 8].
  EXPECT_EQ(c.smem_bytes(matmul), 3 * (128 * 40 + 32 * 72) * 2);
}

TEST(GemmMmaSpace, OddContiguousExtentsOf16BitDataAreRefusedWithTheReason) {
  // K = 77 for linear; M = 37 for an A stored [K, M].
  for (auto [text, extent] :
       {std::pair{"linear(m=64, n=64, k=77, dtype=bf16)", "A's extent is 77"},
        std::pair{"matmul(m=37, n=64, k=64, transpose_a=true, dtype=fp16)", "A's extent is 37"},
        std::pair{"matmul(m=64, n=63, k=64, dtype=bf16)", "B's extent is 63"}}) {
    const Spec spec = parse_spec(text);
    const Precision precision = native_precision(spec.main.dtype);
    EXPECT_TRUE(gemm_mma_space(spec.main, sm80(), precision).empty()) << text;
    const auto reason =
        gemm_mma_rejection(spec.main, sm80(), gemm_mma_default(spec.main, sm80(), precision));
    ASSERT_TRUE(reason) << text;
    EXPECT_TRUE(contains(*reason, "16-bit operands need an even contiguous extent")) << *reason;
    EXPECT_TRUE(contains(*reason, extent)) << *reason;
  }
}

TEST(GemmMmaSpace, ConfigurationsOfAnotherOperandTypeAreRefused) {
  const MainOp bf16 = parse_spec("linear(m=1024, n=1024, k=1024, dtype=bf16)").main;
  GemmMmaConfig tf32;
  tf32.passes = 1;
  EXPECT_EQ(gemm_mma_rejection(bf16, sm80(), tf32),
            "a kernel for fp32 inputs cannot read the spec's bf16");
  GemmMmaConfig fp16 = gemm_mma_default(bf16, sm80(), Precision::bf16);
  fp16.dtype = DataType::fp16;
  EXPECT_EQ(gemm_mma_rejection(bf16, sm80(), fp16),
            "a kernel for fp16 inputs cannot read the spec's bf16");
  const auto error = error_of([&] {
    candidate_from_name(parse_spec("linear(m=1024, n=1024, k=1024, dtype=bf16)"), sm80(),
                        "ft_gemm_mma_128x64x16_w2x2_s3_tf32_va4_vb4");
  });
  ASSERT_TRUE(error);
  EXPECT_TRUE(contains(error->what(), "cannot read the spec's bf16")) << error->what();
}

TEST(GemmMmaSpace, SixteenBitConfigurationsBreakingTheTemplatesRulesAreRefused) {
  const MainOp main = parse_spec("linear(m=1024, n=1024, k=1024, dtype=fp16)").main;
  const GemmMmaConfig valid = gemm_mma_default(main, sm80(), Precision::fp16);
  ASSERT_EQ(gemm_mma_rejection(main, sm80(), valid), std::nullopt);
  GemmMmaConfig c = valid;
  c.passes = 3;
  EXPECT_EQ(gemm_mma_rejection(main, sm80(), c), "16-bit inputs take one pass");
  c = valid;
  c.bk = 24;
  EXPECT_TRUE(contains(gemm_mma_rejection(main, sm80(), c).value_or(""), "multiple of 16"));
  c = valid;
  c.mma_tiles_n = 3;
  EXPECT_TRUE(contains(gemm_mma_rejection(main, sm80(), c).value_or(""), "two MMA tiles"));
}

TEST(GemmMmaSpace, SixteenBitDefaultIsValidForOddShapes) {
  for (const char* text :
       {"linear(m=1, n=37, k=6, dtype=bf16)", "linear(m=3, n=5, k=2, dtype=fp16)",
        "matmul(m=1000, n=999, k=78, transpose_b=true, dtype=fp16)",
        "matmul(m=38, n=202, k=5, transpose_a=true, dtype=bf16)"}) {
    const Spec spec = parse_spec(text);
    const Precision precision = native_precision(spec.main.dtype);
    for (const DeviceLimits& limits : {sm80(), sm90()}) {
      const GemmMmaConfig c = gemm_mma_default(spec.main, limits, precision);
      EXPECT_EQ(gemm_mma_rejection(spec.main, limits, c), std::nullopt) << text;
      EXPECT_EQ(c.dtype, spec.main.dtype) << text;
    }
  }
}

// NVRTC accepts the 16-bit kernels: both operand layouts, guarded edges, odd N (outputs
// stored one at a time), 16-bit and fp32 outputs, 16-bit epilogue operands.
class GemmMma16BitCompiles : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(GemmMma16BitCompiles, ForSm80AndSm90) {
  const auto& [text, arch] = GetParam();
  const Spec spec = parse_spec(text);
  const DeviceLimits limits = *DeviceLimits::for_arch(arch);
  const GemmMmaConfig c = gemm_mma_default(spec.main, limits, native_precision(spec.main.dtype));
  ASSERT_EQ(gemm_mma_rejection(spec.main, limits, c), std::nullopt);
  const KernelSource source = generate(spec, c);
  EXPECT_FALSE(source.arch_specific);
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, arch);
  EXPECT_EQ(binary.arch, arch);
  EXPECT_GT(binary.registers, 0) << binary.log;
  EXPECT_EQ(binary.spill_bytes, 0) << source.name << "\n" << binary.log;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmMma16BitCompiles,
    testing::Combine(
        testing::Values(
            "linear(m=1024, n=1024, k=1024, dtype=bf16) -> bias",
            "linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)",
            "linear(m=37, n=201, k=3004, dtype=fp16, out_dtype=fp32) -> add(tensor)",
            "linear(m=50, n=77, k=40, dtype=bf16) -> mul(tensor)",
            "matmul(m=256, n=512, k=96, transpose_a=true, transpose_b=false, dtype=fp16) -> relu",
            "matmul(m=38, n=202, k=5, transpose_a=true, dtype=bf16) -> add(row)"),
        testing::Values("sm_80", "sm_90")),
    [](const auto& info) {
      return std::to_string(info.index / 2) + "_" + std::get<1>(info.param);
    });

}  // namespace
}  // namespace fusetune
