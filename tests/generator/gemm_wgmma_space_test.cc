// The Hopper warpgroup-MMA family: its names, its search space, its rejections and the source
// it emits (compiled with NVRTC, which needs no GPU).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "fusetune/status.h"
#include "generator/gemm_wgmma.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"
#include "runtime/nvrtc.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";
constexpr const char* kWgmmaPrefix = "ft_gemm_wgmma_";
constexpr const char* kMmaPrefix = "ft_gemm_mma_";

constexpr Precision kTensorPrecisions[] = {Precision::tf32, Precision::tf32x3};

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }
DeviceLimits sm90() { return limits_of("sm_90"); }
DeviceLimits sm80() { return limits_of("sm_80"); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Output tiles of `c` on `main`, counted here rather than by the code under test.
std::int64_t tiles_of(const MainOp& main, const GemmWgmmaConfig& c) {
  return ((main.m + c.block_m - 1) / c.block_m) * ((main.n + c.block_n - 1) / c.block_n);
}

// ---- names and JSON ----

TEST(GemmWgmmaNames, EveryConfigOfTheSeedsSpaceRoundTripsThroughItsName) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : kTensorPrecisions) {
    const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, sm90(), precision);
    ASSERT_FALSE(space.empty()) << to_string(precision);
    std::set<std::string> names;
    for (const GemmWgmmaConfig& c : space) {
      const std::string name = config_name(spec.main, c);
      EXPECT_TRUE(starts_with(name, kWgmmaPrefix)) << name;
      EXPECT_TRUE(names.insert(name).second) << "two configs share the name " << name;
      std::string why;
      const std::optional<GemmWgmmaConfig> parsed = parse_config_name<GemmWgmmaConfig>(name, &why);
      ASSERT_TRUE(parsed) << name << ": " << why;
      EXPECT_EQ(*parsed, c) << name;

      const Candidate candidate = candidate_from_name(spec, sm90(), name);
      ASSERT_TRUE(std::holds_alternative<GemmWgmmaConfig>(candidate.config)) << name;
      EXPECT_EQ(std::get<GemmWgmmaConfig>(candidate.config), c) << name;
      EXPECT_EQ(candidate.name, name);
    }
  }
}

TEST(GemmWgmmaNames, GuardedShapesRoundTripToo) {
  // No dimension a multiple of any tile: every name carries guard letters, which parsing skips.
  const Spec spec = parse_spec("linear(m=1000, n=1000, k=1000) -> relu");
  for (Precision precision : kTensorPrecisions) {
    const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, sm90(), precision);
    ASSERT_FALSE(space.empty()) << to_string(precision);
    for (const GemmWgmmaConfig& c : space) {
      const std::string name = config_name(spec.main, c);
      EXPECT_TRUE(std::regex_search(name, std::regex("_p[0-9]+_g[mnk]+$"))) << name;
      EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name), c) << name;
      EXPECT_EQ(candidate_from_name(spec, sm90(), name).name, name);
    }
  }
}

TEST(GemmWgmmaNames, NamesTellTheTunablesApart) {
  const MainOp main = parse_spec(kSeed).main;
  const GemmWgmmaConfig base;
  std::vector<GemmWgmmaConfig> variants(9, base);
  variants[1].block_m = 256;
  variants[2].block_n = 64;
  variants[3].stages = 5;
  variants[4].consumers = 1;
  variants[5].passes = 1;
  variants[6].cluster = 2;
  variants[7].splits = 4;
  variants[8].tma_store = true;
  std::set<std::string> names;
  for (const GemmWgmmaConfig& c : variants) {
    const std::string name = config_name(main, c);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name), c) << name;
  }
  GemmWgmmaConfig fewer_blocks = base;
  fewer_blocks.blocks = 7;
  EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(config_name(main, fewer_blocks)), fewer_blocks);
}

TEST(GemmWgmmaNames, JsonRoundTrips) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : kTensorPrecisions)
    for (const GemmWgmmaConfig& c : gemm_wgmma_space(spec.main, sm90(), precision)) {
      const std::string name = config_name(spec.main, c);
      EXPECT_EQ(from_json<GemmWgmmaConfig>(to_json(c)), c) << name;
      EXPECT_EQ(from_json<GemmWgmmaConfig>(nlohmann::json::parse(to_json(c).dump())), c) << name;
      const KernelConfig config = c;
      const KernelConfig back = config_from_json(config_json(config));
      ASSERT_TRUE(std::holds_alternative<GemmWgmmaConfig>(back)) << config_json(config);
      EXPECT_EQ(back, config) << name;
    }
}

TEST(GemmWgmmaNames, MalformedNamesAreRefusedWithAReason) {
  for (const char* name : {
           "ft_gemm_wgmma_128x128_c2_s4_fp32_p132",          // no fp32 wgmma
           "ft_gemm_wgmma_128x128_s4_3xtf32_p132",           // no consumers
           "ft_gemm_wgmma_99999x128_c2_s4_3xtf32_p132",      // a number too long
           "ft_gemm_wgmma_128x128_c2_s4_3xtf32",             // no blocks
           "ft_gemm_wgmma_128x128_c2_s4_3xtf32_p132_x",      // trailing text
           "ft_gemm_wgmma_128x256_c2_s3_tf32_ra_p132",       // in-kernel rounding, since removed
           "ft_gemm_wgmma_128x128_c2_s4_3xtf32_x2_k2_p132",  // cluster before splits
           "ft_gemm_mma_128x128x16_w2x2_s3_3xtf32_va4_vb4",  // another family
           "",
       }) {
    std::string why;
    EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name, &why), std::nullopt) << name;
    EXPECT_FALSE(why.empty()) << name;
    EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name), std::nullopt) << name;  // `why` is optional
  }
}

TEST(GemmWgmmaNames, CandidateFromNameExplainsMalformedAndImpossibleNames) {
  const Spec spec = parse_spec(kSeed);
  const auto malformed =
      error_of([&] { candidate_from_name(spec, sm90(), "ft_gemm_wgmma_128x128_s4_3xtf32_p132"); });
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->code(), StatusCode::invalid_argument);
  EXPECT_TRUE(contains(malformed->what(), "ft_gemm_wgmma_128x128_s4_3xtf32_p132"))
      << malformed->what();

  // Well formed, but the seed on an H100 needs one block per SM (132), and sm_80 has no wgmma.
  const auto wrong_blocks =
      error_of([&] { candidate_from_name(spec, sm90(), "ft_gemm_wgmma_128x128_c2_s4_3xtf32_p7"); });
  ASSERT_TRUE(wrong_blocks);
  EXPECT_EQ(wrong_blocks->code(), StatusCode::invalid_argument);
  const auto wrong_arch = error_of(
      [&] { candidate_from_name(spec, sm80(), "ft_gemm_wgmma_128x128_c2_s4_3xtf32_p108"); });
  ASSERT_TRUE(wrong_arch);
  EXPECT_EQ(wrong_arch->code(), StatusCode::invalid_argument);
  EXPECT_TRUE(contains(wrong_arch->what(), "sm_80")) << wrong_arch->what();
}

// ---- the space ----

TEST(GemmWgmmaSpace, SeedHasCandidatesOnlyOnHopperAndOnlyForTensorPrecisions) {
  const MainOp main = parse_spec(kSeed).main;
  for (Precision precision : kTensorPrecisions) {
    EXPECT_FALSE(gemm_wgmma_space(main, sm90(), precision).empty()) << to_string(precision);
    for (const char* arch : {"sm_80", "sm_86", "sm_89"})
      EXPECT_TRUE(gemm_wgmma_space(main, limits_of(arch), precision).empty())
          << arch << " " << to_string(precision);
  }
  EXPECT_TRUE(gemm_wgmma_space(main, sm90(), Precision::fp32).empty());
}

TEST(GemmWgmmaSpace, IsEmptyForOperandsTmaOrWgmmaCannotRead) {
  for (const char* text : {
           "linear(m=64, n=64, k=30)",  // rows of 120 bytes
           "linear(m=1024, n=8192, k=8190)",
           "matmul(m=256, n=510, k=128)",  // B [K,N] read four columns at a time
       }) {
    const MainOp main = parse_spec(text).main;
    for (Precision precision : kTensorPrecisions)
      EXPECT_TRUE(gemm_wgmma_space(main, sm90(), precision).empty())
          << text << " " << to_string(precision);
  }
  // Both operands K-contiguous: a matmul with B stored [N,K] is as good as a linear.
  const MainOp transposed_b = parse_spec("matmul(m=256, n=512, k=128, transpose_b=true)").main;
  for (Precision precision : kTensorPrecisions)
    EXPECT_FALSE(gemm_wgmma_space(transposed_b, sm90(), precision).empty()) << to_string(precision);
}

// fp32 operands stored the other way (A [K,M], B [K,N]) are copied as stored by the TMA into a
// staging area of each stage, and written K-major by the producer's helper warps: searched at
// TF32 and 3xTF32, never in a cluster, and no untuned spec's default; 16-bit ones are not read.
TEST(GemmWgmmaSpace, Fp32OperandsStoredTheOtherWayAreSearchedWithoutClusters) {
  for (const char* text : {"matmul(m=256, n=512, k=128)",
                           "matmul(m=256, n=512, k=130, "
                           "transpose_a=true)",
                           "matmul(m=256, n=512, k=128, transpose_a=true, transpose_b=true)"}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : {Precision::tf32, Precision::tf32x3}) {
      const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, sm90(), precision);
      EXPECT_FALSE(space.empty()) << text << " " << to_string(precision);
      for (const GemmWgmmaConfig& c : space) EXPECT_EQ(c.cluster, 1) << text;
      EXPECT_FALSE(std::holds_alternative<GemmWgmmaConfig>(
          default_candidate(spec, sm90(), precision).config))
          << text;
    }
    const std::string bf16 = std::string(text).insert(std::string(text).size() - 1, ", dtype=bf16");
    EXPECT_TRUE(gemm_wgmma_space(parse_spec(bf16).main, sm90(), Precision::bf16).empty()) << bf16;
  }
  // B stored [K, N]: its map covers it as stored, in boxes of 32 k rows by 32 columns, and each
  // stage has room for it as it lands.
  const Spec spec = parse_spec("matmul(m=256, n=512, k=128)");
  for (const GemmWgmmaConfig& c : gemm_wgmma_space(spec.main, sm90(), Precision::tf32)) {
    const LaunchGeometry launch = generate(spec, c).launch;
    const TensorMapSpec& b = launch.tensor_maps.at(1);
    EXPECT_EQ(b.rows, 128);
    EXPECT_EQ(b.cols, 512);
    EXPECT_EQ(b.box_rows, 32);
    EXPECT_EQ(b.box_cols, 32);
    EXPECT_EQ(c.smem_bytes(spec.main) -
                  c.smem_bytes(parse_spec("matmul(m=256, n=512, k=128, transpose_b=true)").main),
              c.stages * c.block_n * 128)
        << config_name(spec.main, c);
  }
}

TEST(GemmWgmmaSpace, EveryConfigIsValidAndFitsTheDevice) {
  const DeviceLimits limits = sm90();
  for (const char* text : {kSeed, "linear(m=256, n=256, k=64)", "linear(m=1000, n=1000, k=1000)",
                           "matmul(m=96, n=4000, k=512, transpose_b=true) -> relu"}) {
    const MainOp main = parse_spec(text).main;
    for (Precision precision : kTensorPrecisions) {
      const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(main, limits, precision);
      EXPECT_FALSE(space.empty()) << text << " " << to_string(precision);
      for (const GemmWgmmaConfig& c : space) {
        const std::string name = config_name(main, c);
        EXPECT_EQ(gemm_wgmma_rejection(main, limits, c), std::nullopt) << text << " " << name;
        EXPECT_EQ(c.precision(), precision) << name;
        EXPECT_EQ(c.passes, precision == Precision::tf32x3 ? 3 : 1) << name;
        // The TMA ring alone (A and B tiles, B's small part at 3xTF32) is a lower bound.
        const int ring = c.stages * (c.block_m + c.block_n * (c.passes == 3 ? 2 : 1)) * 32 * 4;
        EXPECT_GE(c.smem_bytes(main), ring) << name;
        EXPECT_LE(c.smem_bytes(main), limits.max_smem_per_block) << name;
        EXPECT_EQ(c.blocks, std::min<std::int64_t>(tiles_of(main, c) * c.splits, limits.sm_count))
            << text << " " << name;
        EXPECT_GE(c.block_m, 64 * c.consumers) << name;
        EXPECT_EQ(c.block_m % (64 * c.consumers), 0) << name;
        EXPECT_EQ(c.block_n % 8, 0) << name;
        EXPECT_LE(c.block_n, 256) << name;
      }
    }
  }
}

TEST(GemmWgmmaSpace, SmallProblemsUseOneBlockPerTile) {
  // 256x256 in 128x128 tiles: 4 tiles, far fewer than 132 SMs.
  const MainOp main = parse_spec("linear(m=256, n=256, k=64)").main;
  bool saw_fewer_blocks_than_sms = false;
  for (Precision precision : kTensorPrecisions)
    for (const GemmWgmmaConfig& c : gemm_wgmma_space(main, sm90(), precision)) {
      EXPECT_LT(c.blocks, sm90().sm_count) << config_name(main, c);
      saw_fewer_blocks_than_sms = true;
    }
  EXPECT_TRUE(saw_fewer_blocks_than_sms);
}

TEST(GemmWgmmaSpace, SplitKAppearsOnlyWhereTheTilesLeaveMostSmsIdle) {
  const DeviceLimits limits = sm90();
  const MainOp few_tiles = parse_spec("linear(m=16, n=1024, k=8192)").main;
  for (Precision precision : kTensorPrecisions) {
    std::set<int> splits;
    for (const GemmWgmmaConfig& c : gemm_wgmma_space(few_tiles, limits, precision)) {
      splits.insert(c.splits);
      const std::int64_t units = tiles_of(few_tiles, c) * c.splits;
      EXPECT_LE(units, 2 * limits.sm_count) << config_name(few_tiles, c);
      EXPECT_GE(k_tiles_per_split(few_tiles, c), 4) << config_name(few_tiles, c);
      EXPECT_LT((c.splits - 1) * k_tiles_per_split(few_tiles, c), k_tile_count(few_tiles))
          << config_name(few_tiles, c) << ": a split without k-tiles";
    }
    EXPECT_GE(splits.size(), 4u) << to_string(precision);
    EXPECT_TRUE(splits.count(1)) << to_string(precision);
    // Predicted: a split config first, as 8 tiles of 64 k-tiles leave 124 SMs idle otherwise.
    EXPECT_GT(gemm_wgmma_space(few_tiles, limits, precision).front().splits, 1);
  }
  for (Precision precision : kTensorPrecisions)
    for (const GemmWgmmaConfig& c : gemm_wgmma_space(parse_spec(kSeed).main, limits, precision))
      EXPECT_EQ(c.splits, 1) << config_name(parse_spec(kSeed).main, c);
}

TEST(GemmWgmmaSpace, ComesBestPredictedFirst) {
  const MainOp main = parse_spec(kSeed).main;
  for (Precision precision : kTensorPrecisions) {
    const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(main, sm90(), precision);
    for (std::size_t i = 1; i < space.size(); ++i)
      EXPECT_LE(gemm_wgmma_predicted_cost(main, sm90(), space[i - 1]),
                gemm_wgmma_predicted_cost(main, sm90(), space[i]))
          << config_name(main, space[i]);
  }
}

// ---- the generator's entry points ----

TEST(GemmWgmmaSearchSpace, ListsWgmmaCandidatesBeforeMmaSyncOnes) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : kTensorPrecisions) {
    const std::vector<Candidate> space = search_space(spec, sm90(), precision);
    const auto first_mma = std::find_if(space.begin(), space.end(), [](const Candidate& c) {
      return !std::holds_alternative<GemmWgmmaConfig>(c.config);
    });
    const std::size_t wgmma_count = static_cast<std::size_t>(first_mma - space.begin());
    EXPECT_EQ(wgmma_count, gemm_wgmma_space(spec.main, sm90(), precision).size());
    EXPECT_GT(wgmma_count, 0u) << to_string(precision);
    EXPECT_NE(first_mma, space.end()) << "no mma.sync candidates at " << to_string(precision);
    for (std::size_t i = 0; i < space.size(); ++i) {
      const Candidate& c = space[i];
      EXPECT_EQ(precision_of(c.config), precision) << c.name;
      EXPECT_EQ(c.name, config_name(spec.main, c.config));
      if (i < wgmma_count) {
        EXPECT_TRUE(starts_with(c.name, kWgmmaPrefix)) << c.name;
      } else {
        EXPECT_TRUE(std::holds_alternative<GemmMmaConfig>(c.config)) << c.name;
        EXPECT_TRUE(starts_with(c.name, kMmaPrefix)) << c.name;
      }
    }
  }
}

TEST(GemmWgmmaSearchSpace, ListsNoWgmmaCandidatesOnAmpere) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : kTensorPrecisions) {
    const std::vector<Candidate> space = search_space(spec, sm80(), precision);
    EXPECT_FALSE(space.empty()) << to_string(precision);
    for (const Candidate& c : space) {
      EXPECT_FALSE(std::holds_alternative<GemmWgmmaConfig>(c.config)) << c.name;
      EXPECT_FALSE(starts_with(c.name, kWgmmaPrefix)) << c.name;
    }
  }
  for (const Candidate& c : search_space(spec, sm90(), Precision::fp32))
    EXPECT_FALSE(std::holds_alternative<GemmWgmmaConfig>(c.config)) << c.name;
}

TEST(GemmWgmmaSearchSpace, DefaultIsAWgmmaConfigOnHopperOnly) {
  const Spec spec = parse_spec(kSeed);
  for (Precision precision : kTensorPrecisions) {
    const Candidate hopper = default_candidate(spec, sm90(), precision);
    ASSERT_TRUE(std::holds_alternative<GemmWgmmaConfig>(hopper.config)) << hopper.name;
    EXPECT_TRUE(starts_with(hopper.name, kWgmmaPrefix)) << hopper.name;
    EXPECT_EQ(precision_of(hopper.config), precision);
    EXPECT_EQ(gemm_wgmma_rejection(spec.main, sm90(), std::get<GemmWgmmaConfig>(hopper.config)),
              std::nullopt);
    const Candidate ampere = default_candidate(spec, sm80(), precision);
    EXPECT_TRUE(std::holds_alternative<GemmMmaConfig>(ampere.config)) << ampere.name;
  }
  // Operands wgmma cannot read fall back to mma.sync on Hopper too.
  const Candidate fallback =
      default_candidate(parse_spec("matmul(m=256, n=512, k=128)"), sm90(), Precision::tf32x3);
  EXPECT_TRUE(std::holds_alternative<GemmMmaConfig>(fallback.config)) << fallback.name;
}

// ---- rejections ----

struct RejectionCase {
  std::string what;
  std::string spec;
  std::string arch;
  GemmWgmmaConfig config;
  std::string reason_mentions;  // a word of the reason that tells this rule from the others
};

// The seed's valid 3xTF32 default, and a valid TF32 128x256 tile, changed one field at a time.
std::vector<RejectionCase> rejection_cases() {
  const GemmWgmmaConfig base;  // 128x128, 2 consumers, 4 stages, 3xTF32, 132 blocks
  GemmWgmmaConfig wide = base;
  wide.block_n = 256, wide.stages = 3, wide.passes = 1;
  std::vector<RejectionCase> cases;
  auto add = [&](std::string what, std::string spec, std::string arch, GemmWgmmaConfig c,
                 std::string mentions) {
    cases.push_back({std::move(what), std::move(spec), std::move(arch), c, std::move(mentions)});
  };
  GemmWgmmaConfig c = base;
  c.blocks = 108;  // one per SM of an A100
  add("ampere", kSeed, "sm_80", c, "sm_90");
  c = base, c.dtype = DataType::bf16, c.passes = 1;
  add("transposed_a_bf16", "matmul(m=1024, n=8192, k=8192, transpose_a=true, dtype=bf16)", "sm_90",
      c, "16-bit");
  c = base, c.cluster = 2;
  add("b_stored_k_by_n_in_a_cluster", "matmul(m=1024, n=8192, k=8192)", "sm_90", c,
      "without a cluster");
  add("a_stored_k_by_m_odd_m", "matmul(m=1022, n=8192, k=8192, transpose_a=true)", "sm_90", base,
      "M a multiple of 4");
  add("k_not_multiple_of_4", "linear(m=1024, n=8192, k=8190)", "sm_90", base, "multiple of 4");
  c = base, c.block_m = 64;  // two consumers need 128 rows
  add("block_m_64_for_two_consumers", kSeed, "sm_90", c, "64 rows");
  c = base, c.block_m = 192;
  add("block_m_192_for_two_consumers", kSeed, "sm_90", c, "64 rows");
  c = base, c.block_m = 100, c.consumers = 1;
  add("block_m_100", kSeed, "sm_90", c, "64 rows");
  c = base, c.block_n = 264;
  add("block_n_264", kSeed, "sm_90", c, "multiple of 8");
  c = base, c.block_n = 100;
  add("block_n_100", kSeed, "sm_90", c, "multiple of 8");
  c = base, c.passes = 2;
  add("two_passes", kSeed, "sm_90", c, "pass");
  c = base, c.cluster = 3;
  add("three_block_cluster", kSeed, "sm_90", c, "two blocks per cluster");
  c = base, c.cluster = 2, c.splits = 2;
  add("cluster_with_split_k", kSeed, "sm_90", c, "no split-K");
  c = base, c.cluster = 2;  // 384 rows: 3 tile rows, one left without a partner
  add("cluster_over_odd_tile_rows", "linear(m=384, n=8192, k=8192)", "sm_90", c,
      "even number of tile rows");
  c = base, c.cluster = 2, c.block_n = 24;
  add("cluster_halving_b_unaligned", kSeed, "sm_90", c, "multiple of 16");
  c = base, c.consumers = 3, c.block_m = 192;
  add("three_consumers", kSeed, "sm_90", c, "consumer");
  c = base, c.stages = 1;
  add("one_stage", kSeed, "sm_90", c, "stages");
  c = base, c.blocks = 131;
  add("fewer_blocks_than_sms", kSeed, "sm_90", c, "persistent");
  c = base, c.blocks = 133;
  add("more_blocks_than_sms", kSeed, "sm_90", c, "persistent");
  // 256x256 in 128x128 tiles: 4 tiles, so 4 blocks, not 132.
  add("more_blocks_than_tiles", "linear(m=256, n=256, k=64)", "sm_90", base, "persistent");
  c = base, c.splits = 2;  // the seed's 512 tiles fill every SM already
  add("split_k_with_many_tiles", kSeed, "sm_90", c, "half the SMs");
  c = base, c.splits = 0;
  add("zero_splits", kSeed, "sm_90", c, "1 or more");
  // 16 x 8192 x 8192 in 128x128 tiles: 64 tiles.
  c = base, c.splits = 8, c.blocks = 132;
  add("split_k_into_too_many_units", "linear(m=16, n=8192, k=8192)", "sm_90", c, "two per SM");
  // 16 x 1024 x 256: 8 tiles, 8 k-tiles, so 4 splits leave 2 k-tiles each.
  c = base, c.splits = 4, c.blocks = 32;
  add("split_k_too_short", "linear(m=16, n=1024, k=256)", "sm_90", c, "4 k-tiles");
  const std::string seed_bf16 = "linear(m=1024, n=8192, k=8192, dtype=bf16)";
  c = base, c.passes = 1, c.dtype = DataType::bf16;
  add("bf16_k_not_multiple_of_8", "linear(m=1024, n=8192, k=8188, dtype=bf16)", "sm_90", c,
      "multiple of 8");
  add("bf16_config_for_fp32_spec", kSeed, "sm_90", c, "cannot read");
  add("fp32_config_for_bf16_spec", seed_bf16, "sm_90", base, "cannot read");
  c = base, c.dtype = DataType::fp16;
  add("fp16_three_passes", "linear(m=1024, n=8192, k=8192, dtype=fp16)", "sm_90", c, "16-bit");
  c = base, c.passes = 1, c.dtype = DataType::fp16, c.tma_store = true;
  add("tma_store_of_another_output_type",
      "linear(m=1024, n=8192, k=8192, dtype=fp16, out_dtype=fp32)", "sm_90", c, "inputs' type");
  c = base, c.tma_store = true, c.splits = 2;
  add("tma_store_with_split_k", "linear(m=128, n=1024, k=8192)", "sm_90", c, "no split-K");
  c = base, c.passes = 1, c.dtype = DataType::bf16, c.tma_store = true, c.blocks = 16;
  add("tma_store_of_rows_not_16_byte_multiples", "linear(m=1024, n=124, k=8192, dtype=bf16)",
      "sm_90", c, "16 bytes");
  c = base, c.passes = 1, c.dtype = DataType::bf16, c.tma_store = true, c.block_n = 96;
  add("tma_store_of_part_strips", seed_bf16, "sm_90", c, "128-byte strips");
  c = wide, c.tma_store = true;  // 3 stages of 48 KB and a 128 KB fp32 staging area
  add("tma_store_staging_too_big", kSeed, "sm_90", c, "shared memory");
  c = wide, c.stages = 8;
  add("128x256_8_stages", kSeed, "sm_90", c, "shared memory");
  c = base, c.block_n = 256, c.stages = 8;
  add("128x256_8_stages_3xtf32", kSeed, "sm_90", c, "shared memory");
  return cases;
}

class GemmWgmmaRejection : public testing::TestWithParam<RejectionCase> {};

TEST(GemmWgmmaRejectionBase, TheConfigsTheCasesChangeAreValid) {
  const MainOp main = parse_spec(kSeed).main;
  GemmWgmmaConfig base;
  EXPECT_EQ(gemm_wgmma_rejection(main, sm90(), base), std::nullopt);
  GemmWgmmaConfig wide = base;
  wide.block_n = 256, wide.stages = 3, wide.passes = 1;
  EXPECT_EQ(gemm_wgmma_rejection(main, sm90(), wide), std::nullopt);
  // The small problem takes the base config with one block per tile; sm_80 takes nothing.
  GemmWgmmaConfig four_blocks = base;
  four_blocks.blocks = 4;
  EXPECT_EQ(
      gemm_wgmma_rejection(parse_spec("linear(m=256, n=256, k=64)").main, sm90(), four_blocks),
      std::nullopt);
  // A matmul with B stored [N,K] is accepted: the transposed_a case fails on A alone.
  EXPECT_EQ(gemm_wgmma_rejection(
                parse_spec("matmul(m=1024, n=8192, k=8192, transpose_b=true)").main, sm90(), base),
            std::nullopt);
}

TEST_P(GemmWgmmaRejection, GivesAReason) {
  const RejectionCase& c = GetParam();
  const MainOp main = parse_spec(c.spec).main;
  const std::optional<std::string> reason = gemm_wgmma_rejection(main, limits_of(c.arch), c.config);
  ASSERT_TRUE(reason) << config_name(main, c.config) << " accepted for " << c.spec;
  EXPECT_FALSE(reason->empty());
  EXPECT_TRUE(contains(*reason, c.reason_mentions))
      << "expected a reason mentioning '" << c.reason_mentions << "', got: " << *reason;
}

INSTANTIATE_TEST_SUITE_P(Cases, GemmWgmmaRejection, testing::ValuesIn(rejection_cases()),
                         [](const auto& info) { return info.param.what; });

TEST(GemmWgmmaRejectionLimits, SharedMemoryDecidesTheDeepestRing) {
  // Adding stages to a valid tile is refused exactly when the bytes pass the device's limit.
  const MainOp main = parse_spec(kSeed).main;
  const DeviceLimits limits = sm90();
  GemmWgmmaConfig c;
  c.block_n = 256, c.passes = 1;
  bool refused_some = false;
  for (c.stages = 2; c.stages <= 12; ++c.stages) {
    const bool fits = c.smem_bytes(main) <= limits.max_smem_per_block;
    EXPECT_EQ(gemm_wgmma_rejection(main, limits, c) == std::nullopt, fits)
        << config_name(main, c) << ": " << c.smem_bytes(main) << " bytes";
    refused_some |= !fits;
  }
  EXPECT_TRUE(refused_some);
}

// ---- the emitter ----

TEST(GemmWgmmaEmitter, SourceLaunchAndTensorMapsFollowTheConfigAndShape) {
  // Distinct M, N and K, so that swapped extents show.
  for (const char* text : {"linear(m=512, n=768, k=256) -> bias -> relu",
                           "matmul(m=384, n=640, k=96, transpose_b=true) -> mul(2.0)"}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : kTensorPrecisions) {
      const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, sm90(), precision);
      ASSERT_FALSE(space.empty()) << text << " " << to_string(precision);
      for (const GemmWgmmaConfig& c : space) {
        const KernelSource source = generate(spec, c);
        const std::string& name = source.name;
        EXPECT_EQ(name, config_name(spec.main, c));
        EXPECT_TRUE(source.arch_specific) << name;
        EXPECT_EQ(target_arch(source, "sm_90"), "sm_90a") << name;

        const LaunchGeometry& launch = source.launch;
        EXPECT_EQ(launch.block[0], 128u * static_cast<unsigned>(c.consumers + 1)) << name;
        EXPECT_EQ(launch.block[1], 1u);
        EXPECT_EQ(launch.block[2], 1u);
        EXPECT_EQ(launch.grid[0], static_cast<unsigned>(c.blocks)) << name;
        EXPECT_EQ(launch.grid[1], 1u);
        EXPECT_EQ(launch.grid[2], 1u);
        EXPECT_EQ(launch.dynamic_smem_bytes, static_cast<unsigned>(c.smem_bytes(spec.main)))
            << name;

        ASSERT_EQ(launch.tensor_maps.size(), c.tma_store ? 3u : 2u) << name;
        const TensorMapSpec a = launch.tensor_maps[0], b = launch.tensor_maps[1];
        EXPECT_EQ(a.tensor, 0);
        EXPECT_EQ(a.rows, spec.main.m) << name;
        EXPECT_EQ(a.cols, spec.main.k) << name;
        EXPECT_EQ(a.box_rows, c.block_m) << name;
        EXPECT_EQ(a.box_cols, 32) << name;
        EXPECT_EQ(b.tensor, 1);
        EXPECT_EQ(b.rows, spec.main.n) << name;
        EXPECT_EQ(b.cols, spec.main.k) << name;
        EXPECT_EQ(b.box_rows, c.block_n / c.cluster) << name << ": each block's share of B";
        EXPECT_EQ(b.box_cols, 32) << name;

        const std::string instruction =
            "wgmma.mma_async.sync.aligned.m64n" + std::to_string(c.block_n) + "k8.f32.tf32.tf32";
        EXPECT_TRUE(contains(source.code, instruction)) << name << " lacks " << instruction;
        EXPECT_TRUE(contains(source.code, "const __grid_constant__ ft::TensorMap map0")) << name;
        EXPECT_TRUE(contains(source.code, "const __grid_constant__ ft::TensorMap map1")) << name;
        EXPECT_EQ(contains(source.code, "ft::TensorMap map2"), c.tma_store) << name;
        if (c.tma_store) {
          // The output, in 128-byte strips (32 floats) of each consumer's rows.
          const TensorMapSpec o = launch.tensor_maps[2];
          EXPECT_EQ(o.tensor, TensorMapSpec::kOutput) << name;
          EXPECT_EQ(o.rows, spec.main.m) << name;
          EXPECT_EQ(o.cols, spec.main.n) << name;
          EXPECT_EQ(o.box_rows, c.block_m / c.consumers) << name;
          EXPECT_EQ(o.box_cols, 32) << name;
          EXPECT_FALSE(o.round_to_tf32) << name;
          EXPECT_TRUE(contains(source.code, "(&map0, &map1, &map2, ")) << name;
        }
        EXPECT_TRUE(contains(source.code, "void __launch_bounds__(" +
                                              std::to_string(128 * (c.consumers + 1)) + ", "))
            << name;
        EXPECT_TRUE(contains(source.code, "\n" + name + "(")) << name << ": entry not found";
        EXPECT_EQ(contains(source.code, "__cluster_dims__(2, 1, 1)"), c.cluster == 2) << name;
      }
    }
  }
}

TEST(GemmWgmmaEmitter, OtherFamiliesAreNotArchSpecificAndTakeNoTensorMaps) {
  const Spec spec = parse_spec(kSeed);
  const std::vector<Candidate> others = {
      default_candidate(spec, sm90(), Precision::fp32),    // SIMT
      default_candidate(spec, sm80(), Precision::tf32x3),  // mma.sync
      default_candidate(spec, sm80(), Precision::tf32),
  };
  ASSERT_TRUE(std::holds_alternative<GemmSimtConfig>(others[0].config)) << others[0].name;
  ASSERT_TRUE(std::holds_alternative<GemmMmaConfig>(others[1].config)) << others[1].name;
  for (const Candidate& c : others) {
    const KernelSource source = generate(spec, c.config);
    EXPECT_FALSE(source.arch_specific) << c.name;
    EXPECT_EQ(target_arch(source, "sm_90"), "sm_90") << c.name;
    EXPECT_TRUE(source.launch.tensor_maps.empty()) << c.name;
    EXPECT_FALSE(contains(source.code, "ft::TensorMap map")) << c.name;
    EXPECT_FALSE(contains(source.code, "wgmma.mma_async")) << c.name;
  }
}

TEST(GemmWgmmaEmitter, SplitKTakesAWorkspaceSizedForEveryPartialTileAndCounter) {
  const Spec spec = parse_spec("linear(m=16, n=1024, k=8192) -> bias -> relu");
  GemmWgmmaConfig c;
  c.block_m = 64, c.consumers = 1;  // 64x128 tiles: 8
  c.splits = 8, c.blocks = 64;
  ASSERT_EQ(gemm_wgmma_rejection(spec.main, sm90(), c), std::nullopt);
  const std::string name = config_name(spec.main, c);
  EXPECT_TRUE(contains(name, "_64x128_c1_s4_3xtf32_k8_p64")) << name;
  EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name), c);
  EXPECT_EQ(from_json<GemmWgmmaConfig>(to_json(c)), c);
  const KernelSource source = generate(spec, c);
  EXPECT_EQ(source.launch.workspace_bytes, 4u * 8 * (8 * 64 * 128 + 1));
  EXPECT_TRUE(contains(source.code, "float* __restrict__ workspace)")) << "no workspace parameter";
  EXPECT_TRUE(contains(source.code, "SPLITS = 8;"));
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, "sm_90a");
  EXPECT_GT(binary.registers, 0) << binary.log;

  c.splits = 1, c.blocks = 8;
  const KernelSource unsplit = generate(spec, c);
  EXPECT_EQ(unsplit.launch.workspace_bytes, 0u);
  EXPECT_FALSE(contains(unsplit.code, "workspace)"));
  EXPECT_FALSE(contains(config_name(spec.main, c), "_k")) << config_name(spec.main, c);
}

TEST(GemmWgmmaSpace, SixteenBitInputsGetTheirOwnConfigsOnly) {
  for (const auto& [dtype, precision] :
       {std::pair{DataType::bf16, Precision::bf16}, std::pair{DataType::fp16, Precision::fp16}}) {
    const Spec spec = parse_spec(
        fmt::format("linear(m=1024, n=8192, k=8192, dtype={}) -> bias -> relu", to_string(dtype)));
    const std::vector<GemmWgmmaConfig> space = gemm_wgmma_space(spec.main, sm90(), precision);
    ASSERT_FALSE(space.empty()) << to_string(dtype);
    for (const GemmWgmmaConfig& c : space) {
      EXPECT_EQ(c.dtype, dtype);
      EXPECT_EQ(c.precision(), precision);
      EXPECT_EQ(c.passes, 1);
      const std::string name = config_name(spec.main, c);
      EXPECT_TRUE(contains(name, fmt::format("_{}_", to_string(dtype)))) << name;
      EXPECT_EQ(parse_config_name<GemmWgmmaConfig>(name), c) << name;
      EXPECT_EQ(from_json<GemmWgmmaConfig>(to_json(c)), c) << name;
    }
    // The fp32 precisions have nothing for 16-bit data, and 16-bit ones nothing for fp32.
    for (Precision p : kTensorPrecisions)
      EXPECT_TRUE(gemm_wgmma_space(spec.main, sm90(), p).empty());
    EXPECT_TRUE(gemm_wgmma_space(parse_spec(kSeed).main, sm90(), precision).empty());
  }
}

TEST(GemmWgmmaNames, StoredConfigsWithInKernelRoundingReadAsTodaysKernel) {
  // Results stored while TF32 rounded A (and B) in the kernel carry both flags; the TMA now
  // rounds both operands whatever they say.
  GemmWgmmaConfig tf32;
  tf32.passes = 1, tf32.block_n = 256, tf32.stages = 3;
  nlohmann::json json = to_json(tf32);
  json["round_a"] = true;
  json["round_b"] = false;
  EXPECT_EQ(from_json<GemmWgmmaConfig>(json), tf32);
}

TEST(GemmWgmmaLaunch, TheTmaRoundsTf32OperandsOnly) {
  std::map<Precision, int> walked;
  for (const char* text : {kSeed, "linear(m=1024, n=8192, k=8192, dtype=bf16)"}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : {Precision::tf32, Precision::tf32x3, Precision::bf16}) {
      for (const GemmWgmmaConfig& c : gemm_wgmma_space(spec.main, sm90(), precision)) {
        ++walked[precision];
        const LaunchGeometry g = launch_geometry(spec.main, c);
        ASSERT_EQ(g.tensor_maps.size(), c.tma_store ? 3u : 2u);
        for (int operand : {0, 1})
          EXPECT_EQ(g.tensor_maps[operand].round_to_tf32, precision == Precision::tf32)
              << config_name(spec.main, c);
      }
    }
  }
  // Each precision had kernels to check.
  EXPECT_GT(walked[Precision::tf32], 0);
  EXPECT_GT(walked[Precision::tf32x3], 0);
  EXPECT_GT(walked[Precision::bf16], 0);
}

TEST(GemmWgmmaSpace, TheTmaStoreIsTriedWhereItsStagingFits) {
  const Spec bf16 = parse_spec("linear(m=1024, n=8192, k=8192, dtype=bf16) -> bias");
  int staged = 0;
  for (const GemmWgmmaConfig& c : gemm_wgmma_space(bf16.main, sm90(), Precision::bf16)) {
    if (!c.tma_store) continue;
    ++staged;
    GemmWgmmaConfig direct = c;
    direct.tma_store = false;
    // The staging area holds the whole tile in the output's (the inputs') type.
    EXPECT_EQ(c.smem_bytes(bf16.main) - direct.smem_bytes(bf16.main), c.block_m * c.block_n * 2)
        << config_name(bf16.main, c);
  }
  EXPECT_GT(staged, 0);
}

TEST(GemmWgmmaNames, StoredConfigsWithoutADtypeReadAsFp32) {
  nlohmann::json json = to_json(GemmWgmmaConfig{});
  json.erase("dtype");
  EXPECT_EQ(from_json<GemmWgmmaConfig>(json).dtype, DataType::fp32);
}

TEST(GemmWgmmaEmitter, SixteenBitKernelsCompileWithNvrtcForSm90a) {
  // A plain tile, a guarded fp32-output one, and split-K, in both 16-bit types.
  for (const char* text :
       {"linear(m=1024, n=8192, k=8192, dtype=bf16) -> bias -> mul(2.0) -> leaky_relu(0.1)",
        "linear(m=100, n=300, k=264, dtype=fp16, out_dtype=fp32) -> add(row) -> mul(tensor)",
        "linear(m=16, n=1024, k=8192, dtype=bf16) -> bias -> add(tensor) -> gelu",
        "linear(m=37, n=200, k=3000, dtype=fp16) -> add(column)"}) {
    SCOPED_TRACE(text);
    const Spec spec = parse_spec(text);
    const std::vector<GemmWgmmaConfig> space =
        gemm_wgmma_space(spec.main, sm90(), native_precision(spec.main.dtype));
    ASSERT_FALSE(space.empty());
    const KernelSource source = generate(spec, space.front());
    EXPECT_TRUE(contains(source.code, "k16.f32")) << source.name;
    const CompiledBinary binary = compile_to_cubin(source.code, source.name, "sm_90a");
    ASSERT_GE(binary.cubin.size(), 4u);
    EXPECT_EQ(std::string(binary.cubin.data(), 4),
              "\x7f"
              "ELF");
  }
}

TEST(GemmWgmmaEmitter, CompilesWithNvrtcForSm90a) {
  const Spec spec = parse_spec(kSeed);
  const Candidate candidate = default_candidate(spec, sm90(), Precision::tf32x3);
  ASSERT_TRUE(std::holds_alternative<GemmWgmmaConfig>(candidate.config)) << candidate.name;
  const KernelSource source = generate(spec, candidate.config);
  const std::string arch = target_arch(source, "sm_90");
  ASSERT_EQ(arch, "sm_90a");
  const CompiledBinary binary = compile_to_cubin(source.code, source.name, arch);
  EXPECT_EQ(binary.arch, arch);
  EXPECT_GT(binary.registers, 0) << binary.log;
  ASSERT_GE(binary.cubin.size(), 4u);
  EXPECT_EQ(std::string(binary.cubin.data(), 4),
            "\x7f"
            "ELF");
}

}  // namespace
}  // namespace fusetune
