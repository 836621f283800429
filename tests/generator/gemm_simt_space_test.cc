#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "generator/gemm_simt.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"
#include "tests/expect_error.h"
#include "tests/generator/simt_candidates.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }

// A config written out field by field, in GemmSimtConfig's order.
GemmSimtConfig config(int warps_m, int warps_n, int lanes_m, int lanes_n, int rep_m, int rep_n,
                      int bk, int stages, bool spread_fill = true, int min_blocks = 1,
                      int vec_a = 1, int vec_b = 1) {
  return {warps_m, warps_n, lanes_m,     lanes_n,    rep_m, rep_n, bk,
          stages,  false,   spread_fill, min_blocks, vec_a, vec_b};
}

// The guard letters at the end of a procedural name ("" when it has none).
std::string guard_suffix(const std::string& name) {
  static const std::regex suffix("_g([mnk]+)$");
  std::smatch match;
  return std::regex_search(name, match, suffix) ? match[1].str() : "";
}

// ---- the seed's space on each target arch ----

class SeedSpace : public testing::TestWithParam<std::string> {
 protected:
  const Spec spec_ = parse_spec(kSeed);
  const DeviceLimits limits_ = limits_of(GetParam());
  const std::vector<SimtCandidate> space_ = simt_space(spec_, limits_);
};

TEST_P(SeedSpace, HasAtLeast200Candidates) { EXPECT_GE(space_.size(), 200u); }

TEST_P(SeedSpace, EveryCandidatePassesTheConstraints) {
  for (const SimtCandidate& c : space_)
    EXPECT_EQ(gemm_simt_rejection(spec_.main, limits_, c.config), std::nullopt) << c.name;
}

TEST_P(SeedSpace, ComesBestPredictedFirst) {
  for (std::size_t i = 1; i < space_.size(); ++i)
    EXPECT_LE(gemm_simt_predicted_cost(spec_.main, limits_, space_[i - 1].config),
              gemm_simt_predicted_cost(spec_.main, limits_, space_[i].config))
        << space_[i - 1].name << " before " << space_[i].name;
}

TEST_P(SeedSpace, NamesAreUniqueAndEachIsTheConfigsProceduralName) {
  std::set<std::string> names;
  for (const SimtCandidate& c : space_) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
    EXPECT_EQ(c.name, config_name(spec_.main, c.config));
    EXPECT_TRUE(c.name.starts_with("ft_gemm_simt_")) << c.name;
  }
}

TEST_P(SeedSpace, EveryNameParsesBackToItsConfig) {
  for (const SimtCandidate& c : space_)
    EXPECT_EQ(parse_config_name<GemmSimtConfig>(c.name), c.config) << c.name;
}

TEST_P(SeedSpace, EveryConfigRoundTripsThroughJson) {
  for (const SimtCandidate& c : space_) {
    const std::string json = config_json(c.config);
    EXPECT_EQ(std::get<GemmSimtConfig>(config_from_json(json)), c.config) << json;
  }
}

TEST_P(SeedSpace, LaunchGeometryHasOneBlockPerOutputTileAndNoSpare) {
  const MainOp& main = spec_.main;
  for (const SimtCandidate& c : space_) {
    const LaunchGeometry g = launch_geometry(main, c.config);
    const std::int64_t bm = c.config.block_m(), bn = c.config.block_n();
    const std::int64_t m_tiles = (main.m + bm - 1) / bm, n_tiles = (main.n + bn - 1) / bn;
    EXPECT_GE(m_tiles * bm, main.m) << c.name;
    EXPECT_LT((m_tiles - 1) * bm, main.m) << c.name;
    EXPECT_GE(n_tiles * bn, main.n) << c.name;
    EXPECT_LT((n_tiles - 1) * bn, main.n) << c.name;
    EXPECT_EQ(g.grid, (std::array<unsigned, 3>{unsigned(m_tiles * n_tiles), 1, 1})) << c.name;
    EXPECT_EQ(g.block, (std::array<unsigned, 3>{unsigned(c.config.threads()), 1, 1})) << c.name;
    EXPECT_EQ(g.dynamic_smem_bytes, unsigned(c.config.smem_bytes())) << c.name;
  }
}

TEST_P(SeedSpace, ContainsTheDefaultCandidate) {
  const SimtCandidate fallback = simt_default(spec_, limits_);
  EXPECT_TRUE(std::any_of(space_.begin(), space_.end(), [&](const SimtCandidate& c) {
    return c.config == fallback.config;
  })) << fallback.name;
  EXPECT_EQ(fallback.name, config_name(spec_.main, fallback.config));
}

INSTANTIATE_TEST_SUITE_P(Archs, SeedSpace, testing::Values("sm_80", "sm_90"));

// ---- edge guards ----

struct GuardCase {
  std::string spec;
  std::string guards;  // the letters of the _g suffix every candidate carries
};

TEST(GemmSimtSpace, EdgeGuardsFollowTheEdgesThatAreNotTileMultiples) {
  // Every block tile is a power of two from 32 to 256 and BK is 8 or 16, so these shapes need the
  // same guards in every candidate.
  const GuardCase cases[] = {
      {"linear(m=1024, n=8192, k=8192)", ""},
      {"linear(m=1000, n=999, k=77)", "mnk"},
      {"linear(m=1000, n=1024, k=64)", "m"},
      {"linear(m=1024, n=1000, k=64)", "n"},
      {"linear(m=1024, n=1024, k=77)", "k"},
      {"linear(m=1000, n=1024, k=12)", "mk"},
      {"matmul(m=1000, n=999, k=77, transpose_a=true)", "mnk"},
  };
  for (const GuardCase& c : cases) {
    const Spec spec = parse_spec(c.spec);
    const std::vector<SimtCandidate> space = simt_space(spec, limits_of("sm_90"));
    ASSERT_FALSE(space.empty()) << c.spec;
    for (const SimtCandidate& candidate : space) {
      EXPECT_EQ(guard_suffix(candidate.name), c.guards) << c.spec << ": " << candidate.name;
      const EdgeGuards guards = edge_guards(spec.main, candidate.config);
      EXPECT_EQ(guards.m, c.guards.find('m') != std::string::npos) << candidate.name;
      EXPECT_EQ(guards.n, c.guards.find('n') != std::string::npos) << candidate.name;
      EXPECT_EQ(guards.k, c.guards.find('k') != std::string::npos) << candidate.name;
      EXPECT_EQ(parse_config_name<GemmSimtConfig>(candidate.name), candidate.config)
          << candidate.name;
    }
  }
}

TEST(GemmSimtSpace, EdgeGuardsDependOnTheTileWhereSomeTilesDivide) {
  const MainOp main = parse_spec("linear(m=96, n=160, k=24)").main;
  // 32 x 32 x 8 divides all three; 64 x 64 x 16 divides none.
  const GemmSimtConfig small = config(2, 1, 4, 8, 1, 1, 8, 4);
  const GemmSimtConfig large = config(2, 2, 4, 8, 2, 2, 16, 3);
  ASSERT_EQ(small.block_m(), 32);
  ASSERT_EQ(large.block_m(), 64);
  ASSERT_EQ(large.block_n(), 128);
  EXPECT_EQ(guard_suffix(config_name(main, small)), "");
  EXPECT_EQ(guard_suffix(config_name(main, large)), "mnk");
}

// ---- the default for specs never tuned ----

class OddShapes : public testing::TestWithParam<std::string> {};

TEST_P(OddShapes, DefaultCandidateCanRunAndIsTheSpacesChoice) {
  const Spec spec = parse_spec(GetParam());
  for (const std::string arch : {"sm_80", "sm_90"}) {
    const DeviceLimits limits = limits_of(arch);
    const SimtCandidate fallback = simt_default(spec, limits);
    EXPECT_EQ(gemm_simt_rejection(spec.main, limits, fallback.config), std::nullopt)
        << arch << ": " << fallback.name;
    EXPECT_EQ(parse_config_name<GemmSimtConfig>(fallback.name), fallback.config) << fallback.name;
    const std::vector<SimtCandidate> space = simt_space(spec, limits);
    ASSERT_FALSE(space.empty()) << arch;
    EXPECT_TRUE(std::any_of(space.begin(), space.end(),
                            [&](const SimtCandidate& c) { return c.name == fallback.name; }))
        << arch << ": " << fallback.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Specs, OddShapes,
    testing::Values("linear(m=1, n=37, k=5)", "linear(m=1000, n=999, k=77) -> relu",
                    "matmul(m=1000, n=999, k=77, transpose_a=true) -> add(tensor)",
                    "matmul(m=1000, n=999, k=77, transpose_b=true)",
                    "matmul(m=1, n=37, k=5, transpose_a=true, transpose_b=true)",
                    "matmul(m=33, n=7, k=3)", "linear(m=1, n=4000000, k=1)"));

TEST(GemmSimtSpace, DefaultRunsEvenAnExtremelyWideMatrix) {
  // The grid is one-dimensional, so no axis limit of 65535 blocks caps N.
  const Spec spec = parse_spec("linear(m=1, n=20000000, k=1)");
  const DeviceLimits limits = limits_of("sm_90");
  const GemmSimtConfig fallback = gemm_simt_default(spec.main, limits);
  EXPECT_EQ(gemm_simt_rejection(spec.main, limits, fallback), std::nullopt)
      << config_name(spec.main, fallback);
  EXPECT_GE(std::int64_t{launch_geometry(spec.main, fallback).grid[0]} * fallback.block_n(),
            spec.main.n);
}

// ---- constraints and their reasons ----

struct RejectionCase {
  std::string what;
  std::string spec;
  std::string arch;
  GemmSimtConfig config;
  std::optional<std::string> reason;
};

TEST(GemmSimtSpace, EachConstraintSaysWhyItRejects) {
  const std::string seed = kSeed;
  const std::string small = "linear(m=64, n=256, k=64)";
  // 256 x 128 block tile, BK 32 in 4 stages: 200,704 bytes of shared memory.
  const GemmSimtConfig big_stages = config(2, 4, 8, 4, 4, 2, 32, 4);
  const RejectionCase cases[] = {
      {"a valid config", seed, "sm_90", config(2, 2, 4, 8, 2, 2, 16, 3), std::nullopt},
      {"4x4 lanes", seed, "sm_90", config(2, 2, 4, 4, 2, 2, 16, 3),
       "a warp's lane grid must hold 32 lanes"},
      {"one warp", seed, "sm_90", config(1, 1, 4, 8, 4, 2, 16, 3), "blocks have 64 to 256 threads"},
      {"16 x 16 outputs", seed, "sm_90", config(1, 2, 4, 8, 4, 4, 16, 3),
       "more than 128 outputs per thread do not fit in registers"},
      {"4 x 4 outputs on the seed", seed, "sm_90", config(2, 2, 4, 8, 1, 1, 16, 3),
       "a problem this large is faster with at least 64 outputs per thread"},
      {"16-row block tile", small, "sm_90", config(1, 2, 4, 8, 1, 1, 8, 4),
       "block tiles are 32 to 256 along M and N"},
      {"64-row tile on 16 rows", "linear(m=16, n=64, k=64)", "sm_90",
       config(2, 2, 4, 8, 2, 1, 8, 4),
       "a block tile more than twice the matrix wastes most of its work"},
      {"48 rows by 32 threads a pass", small, "sm_90", config(1, 8, 4, 8, 3, 1, 8, 4),
       "the threads must tile the rows of a k-contiguous operand evenly"},
      {"vectors on a k-contiguous operand", seed, "sm_90",
       config(2, 2, 4, 8, 2, 2, 16, 3, true, 1, 1, 2),
       "operands are copied in the widest vectors their rows allow"},
      {"BK 12", seed, "sm_90", config(2, 2, 4, 8, 2, 2, 12, 3),
       "BK is a multiple of 8 and the pipeline has 2+ stages"},
      {"one stage", seed, "sm_90", config(2, 2, 4, 8, 2, 2, 16, 1),
       "BK is a multiple of 8 and the pipeline has 2+ stages"},
      {"BK 0", seed, "sm_90", config(2, 2, 4, 8, 2, 2, 0, 3),
       "BK is a multiple of 8 and the pipeline has 2+ stages"},
      {"200 KB of stages on sm_80", seed, "sm_80", big_stages,
       "too much shared memory for the device"},
      {"200 KB of stages on sm_90", seed, "sm_90", big_stages, std::nullopt},
      {"an occupancy hint below the registers used", seed, "sm_90",
       config(2, 2, 4, 8, 2, 2, 16, 3, false, 2), "the occupancy hint would change nothing"},
      {"an occupancy hint far below the registers needed", seed, "sm_90",
       config(2, 4, 8, 4, 4, 2, 16, 3, false, 2), "the occupancy hint would spill heavily"},
      {"an occupancy hint with spread fills", seed, "sm_90",
       config(2, 4, 4, 8, 2, 2, 16, 3, true, 2),
       "spread fills need the registers the occupancy hint takes away"},
      {"an occupancy hint slightly below the registers needed", seed, "sm_90",
       config(2, 4, 4, 8, 2, 2, 16, 3, false, 2), std::nullopt},
      // 64 x 256 block tile, 8 x 8 outputs per thread, 125,952 bytes of stages.
      {"two blocks of 123 KB", seed, "sm_90", config(2, 4, 4, 8, 2, 2, 32, 3, false, 2),
       "the occupancy hint asks for more shared memory than an SM has"},
  };
  for (const RejectionCase& c : cases) {
    const MainOp main = parse_spec(c.spec).main;
    EXPECT_EQ(gemm_simt_rejection(main, limits_of(c.arch), c.config), c.reason)
        << c.what << ": " << config_name(main, c.config);
  }
  // More tiles than a grid can count: a shape the parser refuses (spec_limits_test.cc), built by
  // hand to show that the family's own rule still holds.
  const MainOp huge{.m = 2000000000, .n = 2000000000, .k = 1};
  EXPECT_EQ(gemm_simt_rejection(huge, limits_of("sm_90"), config(2, 2, 4, 8, 2, 2, 16, 3)),
            "more output tiles than a grid can have");
}

// ---- names typed by a user ----

TEST(CandidateFromName, ReturnsTheConfigANameDescribes) {
  const Spec spec = parse_spec(kSeed);
  const DeviceLimits limits = limits_of("sm_90");
  for (const SimtCandidate& expected :
       {simt_default(spec, limits), simt_space(spec, limits).back()}) {
    const Candidate c = candidate_from_name(spec, limits, expected.name);
    EXPECT_EQ(std::get<GemmSimtConfig>(c.config), expected.config);
    EXPECT_EQ(c.name, expected.name);
  }
}

TEST(CandidateFromName, IgnoresGuardLettersAndWritesTheSpecsOwn) {
  const Spec spec = parse_spec("linear(m=1000, n=999, k=77)");
  const Candidate c = candidate_from_name(spec, limits_of("sm_90"),
                                          "ft_gemm_simt_64x128x16_w2x2_t8x8_s3_m_spread_gk");
  EXPECT_EQ(c.name, "ft_gemm_simt_64x128x16_w2x2_t8x8_s3_m_spread_gmnk");
  const GemmSimtConfig& config = std::get<GemmSimtConfig>(c.config);
  EXPECT_EQ(config.rep_m, 2);
  EXPECT_EQ(config.lanes_m, 4);
  EXPECT_EQ(config.lanes_n, 8);
}

TEST(CandidateFromName, RefusesTextThatIsNotANameAndSaysWhatANameLooksLike) {
  const Spec spec = parse_spec(kSeed);
  struct Case {
    std::string name;
    std::string why;  // part of the message that says what is wrong
  };
  const Case cases[] = {
      {"", "it is not of the form ft_gemm_simt_"},
      {"garbage", "it is not of the form ft_gemm_simt_"},
      {"ft_gemm_simt_128x128x16", "it is not of the form ft_gemm_simt_"},
      {"ft_gemm_simt_128x128x16_w2x2_t16x8_s3_x", "it is not of the form ft_gemm_simt_"},
      {"ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread_extra", "it is not of the form"},
      {"ft_gemm_simt_128x128x16_w2x2_t15x8_s3_m", "thread tiles are multiples of 4"},
      {"ft_gemm_simt_128x128x16_w0x2_t16x8_s3_m", "a block has at least one warp"},
      {"ft_gemm_simt_128x128x16_w2x2_t8x8_s3_m", "8x8 = 64 lanes, not 32"},
      {"ft_gemm_simt_100x128x16_w2x2_t16x8_s3_m", "does not split into 2x2 warps"},
  };
  for (const Case& c : cases) {
    const std::optional<Error> error =
        error_of([&] { candidate_from_name(spec, limits_of("sm_90"), c.name); });
    ASSERT_TRUE(error) << c.name;
    const std::string message = error->what();
    EXPECT_EQ(error->code(), StatusCode::invalid_argument) << c.name;
    EXPECT_TRUE(message.starts_with("'" + c.name + "' names no kernel configuration: ")) << message;
    EXPECT_NE(message.find(c.why), std::string::npos) << message;
    EXPECT_NE(message.find("ft_gemm_simt_128x128x16_w2x2_t16x8_s3_m_spread"), std::string::npos)
        << "shows what a name looks like: " << message;
  }
}

TEST(CandidateFromName, RefusesNumbersTooLargeForAConfigAsAnInvalidName) {
  const Spec spec = parse_spec(kSeed);
  const std::optional<Error> error = error_of([&] {
    candidate_from_name(spec, limits_of("sm_90"),
                        "ft_gemm_simt_99999999999x128x16_w2x2_t16x8_s3_m_spread");
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::invalid_argument);
}

TEST(CandidateFromName, RefusesAConfigThatCannotRunTheSpecAndSaysWhy) {
  const Spec spec = parse_spec(kSeed);
  struct Case {
    std::string name, arch, reason;
  };
  const Case cases[] = {
      {"ft_gemm_simt_256x128x32_w2x4_t16x8_s4_m_spread", "sm_80",
       "too much shared memory for the device"},
      {"ft_gemm_simt_64x256x16_w1x2_t16x16_s3_m_spread", "sm_90",
       "more than 128 outputs per thread do not fit in registers"},
      {"ft_gemm_simt_64x128x16_w2x2_t8x8_s3_m_occ2", "sm_90",
       "the occupancy hint would change nothing"},
      {"ft_gemm_simt_64x128x16_w2x2_t8x8_s3_m_spread_va4", "sm_90",
       "operands are copied in the widest vectors their rows allow"},
      {"ft_gemm_simt_64x128x0_w2x2_t8x8_s3_m_spread", "sm_90",
       "BK is a multiple of 8 and the pipeline has 2+ stages"},
  };
  for (const Case& c : cases) {
    const std::optional<Error> error =
        error_of([&] { candidate_from_name(spec, limits_of(c.arch), c.name); });
    ASSERT_TRUE(error) << c.name;
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_EQ(std::string(error->what()),
              "configuration " + c.name + " cannot run this spec on " + c.arch + ": " + c.reason);
  }
}

// ---- how operands that are not k-contiguous are copied ----

struct VectorCase {
  std::string spec;
  int vec_a, vec_b;
  std::string suffix;  // the vector part of every name
};

TEST(GemmSimtSpace, OperandsNotKContiguousAreCopiedInTheWidestVectorsTheirRowsAllow) {
  const VectorCase cases[] = {
      {"matmul(m=64, n=256, k=64)", 1, 4, "_vb4"},
      {"matmul(m=64, n=258, k=64)", 1, 2, "_vb2"},
      {"matmul(m=64, n=257, k=64)", 1, 1, "_vb1"},
      {"matmul(m=64, n=256, k=64, transpose_b=true)", 1, 1, ""},
      {"matmul(m=260, n=64, k=64, transpose_a=true, transpose_b=true)", 4, 1, "_va4"},
      {"matmul(m=258, n=64, k=64, transpose_a=true)", 2, 4, "_va2_vb4"},
      {"matmul(m=257, n=63, k=64, transpose_a=true)", 1, 1, "_va1_vb1"},
      {"linear(m=257, n=258, k=64)", 1, 1, ""},
  };
  for (const VectorCase& c : cases) {
    const Spec spec = parse_spec(c.spec);
    const std::vector<SimtCandidate> space = simt_space(spec, limits_of("sm_90"));
    ASSERT_FALSE(space.empty()) << c.spec;
    for (const SimtCandidate& candidate : space) {
      EXPECT_EQ(candidate.config.vec_a, c.vec_a) << candidate.name;
      EXPECT_EQ(candidate.config.vec_b, c.vec_b) << candidate.name;
      static const std::regex vectors("(_va\\d)?(_vb\\d)?(_g[mnk]+)?$");
      std::smatch match;
      ASSERT_TRUE(std::regex_search(candidate.name, match, vectors));
      EXPECT_EQ(match[1].str() + match[2].str(), c.suffix) << candidate.name;
    }
    EXPECT_EQ(simt_default(spec, limits_of("sm_90")).config.vec_b, c.vec_b) << c.spec;
  }
}

}  // namespace
}  // namespace fusetune

namespace fusetune {
namespace {

TEST(GemmSimtSplitK, AppearsOnlyWhereTheTilesLeaveMostSmsIdleAndFillsHalfToTwiceTheSms) {
  const DeviceLimits limits = limits_of("sm_90");
  const MainOp few_tiles = parse_spec("linear(m=1, n=1024, k=8192)").main;
  std::set<int> splits;
  for (const GemmSimtConfig& c : gemm_simt_space(few_tiles, limits)) {
    splits.insert(c.splits);
    if (c.splits == 1) continue;
    const std::int64_t blocks = block_count(few_tiles, c) * c.splits;
    EXPECT_GT(2 * blocks, limits.sm_count) << config_name(few_tiles, c);
    EXPECT_LE(blocks, 2 * limits.sm_count) << config_name(few_tiles, c);
    EXPECT_GE(k_tiles_per_split(few_tiles, c), 2 * c.stages) << config_name(few_tiles, c);
  }
  EXPECT_GE(splits.size(), 3u);
  EXPECT_GT(gemm_simt_space(few_tiles, limits).front().splits, 1)
      << "a split config is not predicted best for 1 x 1024 x 8192";
  for (const GemmSimtConfig& c : gemm_simt_space(parse_spec(kSeed).main, limits))
    EXPECT_EQ(c.splits, 1) << config_name(parse_spec(kSeed).main, c);
}

TEST(GemmSimtSplitK, NameJsonLaunchAndSourceCarryTheSplits) {
  const Spec spec = parse_spec("linear(m=1, n=1024, k=8192) -> bias -> relu");
  const DeviceLimits limits = limits_of("sm_90");
  const std::vector<GemmSimtConfig> space = gemm_simt_space(spec.main, limits);
  const GemmSimtConfig c = *std::ranges::find_if(space, [](const auto& x) { return x.splits > 1; });
  const std::string name = config_name(spec.main, c);
  EXPECT_TRUE(name.find(fmt::format("_k{}", c.splits)) != std::string::npos) << name;
  EXPECT_EQ(parse_config_name<GemmSimtConfig>(name), c);
  EXPECT_EQ(from_json<GemmSimtConfig>(to_json(c)), c);
  const KernelSource source = generate(spec, c);
  EXPECT_EQ(source.launch.grid[0], block_count(spec.main, c));
  EXPECT_EQ(source.launch.grid[1], static_cast<unsigned>(c.splits));
  EXPECT_EQ(source.launch.workspace_bytes,
            4u * block_count(spec.main, c) * (c.splits * c.block_m() * c.block_n() + 1));
  EXPECT_NE(source.code.find(fmt::format("SPLITS = {};", c.splits)), std::string::npos);
  EXPECT_NE(source.code.find("float* __restrict__ workspace)"), std::string::npos);
}

}  // namespace
}  // namespace fusetune
