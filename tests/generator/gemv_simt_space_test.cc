#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "generator/gemv_simt.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "generator/tunables.h"
#include "runtime/nvrtc.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

constexpr const char* kSeed =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }

const DeviceLimits kH100 = limits_of("sm_90");

// A rows-layout config (W[N,K]), field by field.
GemvSimtConfig rows(int block_m, int warps, int rows_per_warp, int unroll, int vec,
                    int splits = 1) {
  return {GemvLayout::rows, block_m, warps, rows_per_warp, 0, unroll, vec, splits};
}

// A columns-layout config (B[K,N]), field by field.
GemvSimtConfig columns(int block_m, int warps, int column_threads, int unroll, int vec,
                       int splits = 1) {
  return {GemvLayout::columns, block_m, warps, 0, column_threads, unroll, vec, splits};
}

// The matrix-vector candidates of the fp32 search space, typed.
std::vector<GemvSimtConfig> gemv_candidates(const Spec& spec, const DeviceLimits& limits) {
  std::vector<GemvSimtConfig> configs;
  for (const Candidate& c : search_space(spec, limits, Precision::fp32))
    if (const auto* config = std::get_if<GemvSimtConfig>(&c.config)) configs.push_back(*config);
  return configs;
}

// ---- the space of small-M specs, both layouts, on each target arch ----

class SmallMSpace : public testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  const Spec spec_ = parse_spec(std::get<0>(GetParam()));
  const DeviceLimits limits_ = limits_of(std::get<1>(GetParam()));
  const std::vector<GemvSimtConfig> space_ = gemv_simt_space(spec_.main, limits_);
};

TEST_P(SmallMSpace, IsNotEmptyAndEveryCandidatePassesTheConstraints) {
  ASSERT_GE(space_.size(), 10u);
  for (const GemvSimtConfig& c : space_)
    EXPECT_EQ(gemv_simt_rejection(spec_.main, limits_, c), std::nullopt)
        << config_name(spec_.main, c);
}

TEST_P(SmallMSpace, ComesBestPredictedFirstAndIsWhatTheSearchSpaceLists) {
  for (std::size_t i = 1; i < space_.size(); ++i)
    EXPECT_LE(gemv_simt_predicted_cost(spec_.main, limits_, space_[i - 1]),
              gemv_simt_predicted_cost(spec_.main, limits_, space_[i]))
        << config_name(spec_.main, space_[i - 1]) << " before "
        << config_name(spec_.main, space_[i]);
  EXPECT_EQ(gemv_candidates(spec_, limits_), space_);
}

TEST_P(SmallMSpace, UsesTheLayoutOfTheSpecsBAndTheWidestLoadsItsRowsAllow) {
  const bool k_contiguous = spec_.main.b_k_contiguous();
  const std::int64_t row = k_contiguous ? spec_.main.k : spec_.main.n;
  const int widest = row % 4 == 0 ? 4 : row % 2 == 0 ? 2 : 1;
  for (const GemvSimtConfig& c : space_) {
    EXPECT_EQ(c.layout, k_contiguous ? GemvLayout::rows : GemvLayout::columns);
    EXPECT_EQ(c.vec, widest) << config_name(spec_.main, c);
    EXPECT_GE(c.loads_in_flight(), 4) << config_name(spec_.main, c);
    EXPECT_TRUE(c.block_m == spec_.main.m || c.block_m == (spec_.main.m + 1) / 2);
  }
}

TEST_P(SmallMSpace, NamesAreUniqueAndParseBackToTheirConfigs) {
  std::set<std::string> names;
  for (const GemvSimtConfig& c : space_) {
    const std::string name = config_name(spec_.main, c);
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    EXPECT_TRUE(name.starts_with("ft_gemv_simt_")) << name;
    std::string why;
    EXPECT_EQ(parse_config_name<GemvSimtConfig>(name, &why), c) << name << ": " << why;
    const Candidate candidate = candidate_from_name(spec_, limits_, name);
    EXPECT_EQ(candidate.name, name);
    EXPECT_EQ(std::get<GemvSimtConfig>(candidate.config), c) << name;
    EXPECT_EQ(precision_of(candidate.config), Precision::fp32);
  }
}

TEST_P(SmallMSpace, EveryConfigRoundTripsThroughJson) {
  for (const GemvSimtConfig& c : space_) {
    const std::string json = config_json(c);
    EXPECT_EQ(nlohmann::json::parse(json).at("family"), "gemv_simt") << json;
    EXPECT_EQ(std::get<GemvSimtConfig>(config_from_json(json)), c) << json;
  }
}

TEST_P(SmallMSpace, LaunchHasOneBlockPerTileAndSplitAndItsSharedMemory) {
  const MainOp& main = spec_.main;
  for (const GemvSimtConfig& c : space_) {
    const std::string name = config_name(main, c);
    const LaunchGeometry g = launch_geometry(main, c);
    const std::int64_t m_tiles = (main.m + c.block_m - 1) / c.block_m;
    const std::int64_t n_tiles = (main.n + c.block_n() - 1) / c.block_n();
    EXPECT_LT((n_tiles - 1) * c.block_n(), main.n) << name;
    EXPECT_EQ(g.grid, (std::array<unsigned, 3>{unsigned(m_tiles * n_tiles), unsigned(c.splits), 1}))
        << name;
    EXPECT_EQ(g.block, (std::array<unsigned, 3>{unsigned(c.threads()), 1, 1})) << name;
    EXPECT_EQ(g.dynamic_smem_bytes, unsigned(smem_bytes(main, c))) << name;
    EXPECT_LE(g.dynamic_smem_bytes, unsigned(limits_.max_smem_per_block)) << name;
    EXPECT_TRUE(g.tensor_maps.empty()) << name;
    // x's chunk holds whole k-steps and fits the 64 KB it is given.
    const int chunk = x_chunk(main, c);
    EXPECT_GT(chunk, 0) << name;
    EXPECT_EQ(chunk % c.k_step(), 0) << name;
    EXPECT_LE(c.block_m * chunk, kGemvXChunkFloats) << name;
    EXPECT_EQ(g.workspace_bytes == 0, c.splits == 1) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    SpecsAndArchs, SmallMSpace,
    testing::Combine(
        testing::Values("linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=1, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=16, n=4096, k=4096) -> bias -> mul(2.0) -> leaky_relu(0.1)",
                        "linear(m=3, n=999, k=77) -> add(tensor) -> gelu",
                        "linear(m=16, n=520, k=1030) -> relu",
                        "matmul(m=1, n=1024, k=4096) -> bias",
                        "matmul(m=5, n=998, k=300, transpose_a=true) -> silu",
                        "matmul(m=16, n=257, k=64, transpose_a=true, transpose_b=true)"),
        testing::Values("sm_80", "sm_90")));

// ---- where the family applies ----

TEST(GemvSimtSpace, OffersCandidatesForFp32UpTo16RowsOfXAndNowhereElse) {
  for (const char* text : {"linear(m=1, n=1024, k=1024)", "linear(m=16, n=1024, k=1024)",
                           "matmul(m=8, n=100, k=100, transpose_a=true)"}) {
    EXPECT_FALSE(gemv_candidates(parse_spec(text), kH100).empty()) << text;
  }
  for (const char* text : {"linear(m=17, n=1024, k=1024)", kSeed}) {
    const Spec spec = parse_spec(text);
    EXPECT_TRUE(gemv_candidates(spec, kH100).empty()) << text;
    EXPECT_TRUE(gemv_simt_space(spec.main, kH100).empty()) << text;
    EXPECT_EQ(gemv_simt_rejection(spec.main, kH100, rows(1, 8, 2, 4, 4)),
              "the matrix-vector kernel takes at most 16 rows of x")
        << text;
  }
  const Spec small = parse_spec("linear(m=1, n=1024, k=1024)");
  for (Precision precision : {Precision::tf32, Precision::tf32x3})
    for (const Candidate& c : search_space(small, kH100, precision))
      EXPECT_FALSE(std::holds_alternative<GemvSimtConfig>(c.config)) << c.name;
  const Spec bf16 = parse_spec("linear(m=1, n=1024, k=1024, dtype=bf16)");
  EXPECT_TRUE(gemv_simt_space(bf16.main, kH100).empty());
  for (const Candidate& c : search_space(bf16, kH100, Precision::bf16))
    EXPECT_FALSE(std::holds_alternative<GemvSimtConfig>(c.config)) << c.name;
}

TEST(GemvSimtSpace, ComesFirstInTheFp32SpaceAndTakesTurnsWithTheSimtGemmInAShortSweep) {
  const Spec spec = parse_spec(
      "linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> "
      "leaky_relu(0.1)");
  const std::vector<Candidate> space = search_space(spec, kH100, Precision::fp32);
  ASSERT_FALSE(space.empty());
  EXPECT_TRUE(std::holds_alternative<GemvSimtConfig>(space.front().config));
  const std::vector<Candidate> short_space = best_predicted(space, 24);
  ASSERT_EQ(short_space.size(), 24u);
  for (std::size_t i = 0; i < short_space.size(); ++i)
    EXPECT_EQ(std::holds_alternative<GemvSimtConfig>(short_space[i].config), i % 2 == 0)
        << i << ": " << short_space[i].name;
}

TEST(GemvSimtSpace, SizesOfTheSweepShapesSpaces) {
  // Recorded so that a change to the ranges or the constraints shows up here.
  struct Case {
    const char* spec;
    std::size_t size;
  };
  const Case cases[] = {{"linear(m=1, n=1024, k=8192)", 42},
                        {"linear(m=1, n=8192, k=8192)", 24},
                        {"linear(m=16, n=4096, k=4096)", 31}};
  for (const Case& c : cases)
    EXPECT_EQ(gemv_simt_space(parse_spec(c.spec).main, kH100).size(), c.size) << c.spec;
}

// ---- split-K ----

TEST(GemvSimtSpace, SplitsKOnlyWhereTheTilesLeaveMostSmsIdle) {
  const MainOp few_tiles = parse_spec("linear(m=1, n=1024, k=8192)").main;
  std::set<int> splits;
  for (const GemvSimtConfig& c : gemv_simt_space(few_tiles, kH100)) {
    splits.insert(c.splits);
    if (c.splits == 1) continue;
    const std::int64_t tiles = block_count(few_tiles, c);
    EXPECT_LE(2 * tiles, kH100.sm_count) << config_name(few_tiles, c);
    EXPECT_GT(2 * tiles * c.splits, kH100.sm_count) << config_name(few_tiles, c);
    EXPECT_LE(tiles * c.splits, 2 * kH100.sm_count) << config_name(few_tiles, c);
    EXPECT_GE(k_steps_per_split(few_tiles, c), 2) << config_name(few_tiles, c);
  }
  EXPECT_GE(splits.size(), 3u);
  for (const GemvSimtConfig& c :
       gemv_simt_space(parse_spec("linear(m=1, n=8192, k=8192)").main, kH100))
    EXPECT_EQ(c.splits, 1) << "256 or more tiles need no split: " << c.splits;
}

TEST(GemvSimtSpace, SplitKNameWorkspaceAndSourceCarryTheSplits) {
  const Spec spec = parse_spec("linear(m=1, n=1024, k=8192) -> bias -> relu");
  const GemvSimtConfig c = rows(1, 8, 2, 4, 4, 4);
  ASSERT_EQ(gemv_simt_rejection(spec.main, kH100, c), std::nullopt);
  const std::string name = config_name(spec.main, c);
  EXPECT_EQ(name, "ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4");
  const KernelSource source = generate(spec, c);
  EXPECT_EQ(source.name, name);
  // 64 tiles of 16 columns; 4 outputs per finisher: 4 finishers, a warp of them, a float4 each.
  EXPECT_EQ(source.launch.grid, (std::array<unsigned, 3>{64, 4, 1}));
  EXPECT_EQ(partial_floats(c), 128);
  EXPECT_EQ(source.launch.workspace_bytes, 4u * 64 * (4 * 128 + 1));
  EXPECT_NE(source.code.find("SPLITS = 4;"), std::string::npos);
  EXPECT_NE(source.code.find("PARTIAL_FLOATS = 128"), std::string::npos);
  EXPECT_NE(source.code.find("float* __restrict__ workspace)"), std::string::npos);
  EXPECT_NE(source.code.find("ft::gemv_simt<Config>(args.tensors[0], args.tensors[1], args.out, "
                             "workspace, Epilogue{args},\n"
                             "                        ft::row_count<Config>(args));"),
            std::string::npos);
  const KernelSource unsplit = generate(spec, rows(1, 8, 2, 4, 4));
  EXPECT_EQ(unsplit.launch.workspace_bytes, 0u);
  EXPECT_NE(unsplit.code.find("args.out, nullptr, Epilogue{args},\n"), std::string::npos);
}

TEST(GemvSimtSpace, PartialTilesAreAFloat4PerFinisherInWholeWarps) {
  // 16 x 32 outputs: 128 float4s, 128 finishers of a 256-thread block.
  EXPECT_EQ(partial_floats(rows(16, 8, 4, 1, 4)), 4 * 128);
  // 16 x 512 outputs (a 128-column-thread group of 4 columns): 2048 float4s over 256 threads.
  EXPECT_EQ(partial_floats(columns(16, 8, 128, 4, 4)), 4 * 2048);
  // 3 x 8 outputs: 6 float4s, one warp.
  EXPECT_EQ(partial_floats(rows(3, 4, 2, 4, 4)), 4 * 32);
}

// ---- the config the template receives ----

TEST(GemvSimtEmitter, ConfigStructCarriesShapeTunablesChunkAndGuards) {
  const Spec spec = parse_spec("matmul(m=5, n=998, k=300, transpose_a=true) -> silu");
  const GemvSimtConfig c = columns(3, 4, 32, 8, 2);
  ASSERT_EQ(gemv_simt_rejection(spec.main, kH100, c), std::nullopt);
  const std::string code = generate(spec, c).code;
  // 4 groups of k x 8 loads: a step of 32; the chunk covers K (300) rounded up to steps.
  EXPECT_NE(code.find("struct Config {\n"
                      "  static constexpr int M = 5, N = 998, K = 300;\n"
                      "  static constexpr bool A_K_CONTIGUOUS = false, B_K_CONTIGUOUS = false, "
                      "DYNAMIC_M = false;\n"
                      "  static constexpr int BLOCK_M = 3, WARPS = 4;\n"
                      "  static constexpr int COLUMN_THREADS = 32;\n"
                      "  static constexpr int UNROLL = 8, VEC = 2;\n"
                      "  static constexpr int SPLITS = 1;\n"
                      "  static constexpr int X_CHUNK = 320, PARTIAL_FLOATS = 256, "
                      "SMEM_BYTES = 3888;\n"
                      "  static constexpr bool GUARD_M = true, GUARD_N = true, GUARD_K = true;\n"
                      "};\n"),
            std::string::npos)
      << code.substr(code.find("struct Config"), 600);
  EXPECT_NE(code.find("// ---- templates/gemv_simt.cuh ----\n"), std::string::npos);
  EXPECT_EQ(code.find("#include"), std::string::npos);
}

TEST(GemvSimtEmitter, EdgeGuardsFollowTheTileAndTheKStep) {
  struct Case {
    const char* spec;
    GemvSimtConfig config;
    const char* suffix;
  };
  const Case cases[] = {
      {"linear(m=1, n=1024, k=8192)", rows(1, 8, 2, 4, 4), ""},
      {"linear(m=1, n=1000, k=8192)", rows(1, 8, 2, 4, 4), "_gn"},  // 16 columns a block
      {"linear(m=1, n=1024, k=8000)", rows(1, 8, 2, 4, 4), "_gk"},  // a step of 512
      {"linear(m=3, n=1024, k=8192)", rows(2, 8, 2, 4, 4), "_gm"},
      {"linear(m=3, n=1024, k=8192)", rows(3, 8, 2, 4, 4), ""},
      {"matmul(m=1, n=1000, k=66)", columns(1, 4, 64, 4, 4), "_gnk"},  // 256 columns, step 8
  };
  for (const Case& c : cases) {
    const MainOp main = parse_spec(c.spec).main;
    const std::string name = config_name(main, c.config);
    EXPECT_TRUE(name.ends_with(std::string("_v4") + c.suffix)) << c.spec << ": " << name;
  }
}

TEST(GemvSimtEmitter, BothLayoutsCompileWithNvrtcForEachArchWithoutSpilling) {
  struct Case {
    const char* spec;
    GemvSimtConfig config;
  };
  const Case cases[] = {
      {"linear(m=1, n=1024, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
       rows(1, 8, 2, 4, 4, 4)},
      {"matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu",
       columns(3, 4, 32, 8, 2, 4)},
  };
  for (const Case& c : cases)
    for (const std::string arch : {"sm_80", "sm_90"}) {
      // Both are in the H100's spaces (an A100's 108 SMs take the first without split-K).
      const Spec spec = parse_spec(c.spec);
      ASSERT_EQ(gemv_simt_rejection(spec.main, kH100, c.config), std::nullopt);
      const KernelSource source = generate(spec, c.config);
      EXPECT_FALSE(source.arch_specific);
      const CompiledBinary binary = compile_to_cubin(source.code, source.name, arch);
      EXPECT_GT(binary.registers, 0) << binary.log;
      EXPECT_LE(binary.registers, 255) << binary.log;
      EXPECT_EQ(binary.spill_bytes, 0) << binary.log;
      EXPECT_EQ(binary.static_smem_bytes, 0) << binary.log;
    }
}

// ---- constraints and their reasons ----

struct RejectionCase {
  std::string what;
  std::string spec;
  std::string arch;
  GemvSimtConfig config;
  std::optional<std::string> reason;
};

TEST(GemvSimtSpace, EachConstraintSaysWhyItRejects) {
  const std::string m1 = "linear(m=1, n=8192, k=8192)";
  const std::string m16 = "linear(m=16, n=8192, k=8192)";
  const std::string b_kn = "matmul(m=1, n=8192, k=8192)";
  const RejectionCase cases[] = {
      {"a valid rows config", m1, "sm_90", rows(1, 8, 2, 4, 4), std::nullopt},
      {"a valid columns config", b_kn, "sm_90", columns(1, 8, 64, 8, 4), std::nullopt},
      {"bf16 data", "linear(m=1, n=8192, k=8192, dtype=bf16)", "sm_90", rows(1, 8, 2, 4, 4),
       "the FFMA kernel reads fp32 data"},
      {"17 rows of x", "linear(m=17, n=8192, k=8192)", "sm_90", rows(16, 8, 2, 4, 4),
       "the matrix-vector kernel takes at most 16 rows of x"},
      {"rows of a B stored [K,N]", b_kn, "sm_90", rows(1, 8, 2, 4, 4),
       "the rows layout streams a B stored [N,K]; this B is stored [K,N]"},
      {"columns of a W stored [N,K]", m1, "sm_90", columns(1, 8, 64, 8, 4),
       "the columns layout walks a B stored [K,N]; this B is stored [N,K]"},
      {"a rows config with column threads",
       m1,
       "sm_90",
       {GemvLayout::rows, 1, 8, 2, 32, 4, 4, 1},
       "a rows-layout configuration has no column threads"},
      {"a columns config with rows per warp",
       b_kn,
       "sm_90",
       {GemvLayout::columns, 1, 8, 2, 64, 8, 4, 1},
       "a columns-layout configuration has no rows per warp"},
      {"8 rows per warp", m1, "sm_90", rows(1, 4, 8, 2, 4), "a warp streams 1 to 4 rows of W"},
      {"column threads of half a warp", b_kn, "sm_90", columns(1, 8, 16, 8, 4),
       "column threads are whole warps that divide the block"},
      {"column threads beyond the block", b_kn, "sm_90", columns(1, 2, 128, 8, 4),
       "column threads are whole warps that divide the block"},
      {"no rows of x", m1, "sm_90", rows(0, 8, 2, 4, 4), "a block takes 1 to 16 rows of x"},
      {"more rows per block than M", m1, "sm_90", rows(2, 8, 2, 4, 4),
       "a block takes no more rows of x than M"},
      {"a quarter of M per block", m16, "sm_90", rows(4, 8, 2, 4, 4),
       "a block takes at least half the rows of x: each tile of rows reads all of B again"},
      {"one warp", m1, "sm_90", rows(1, 1, 4, 4, 4), "blocks have 2 to 8 warps"},
      {"16 warps", m1, "sm_90", rows(1, 16, 1, 4, 4), "blocks have 2 to 8 warps"},
      {"loads of 3 floats", m1, "sm_90", rows(1, 8, 2, 4, 3),
       "B is loaded 1, 2 or 4 floats at a time"},
      {"16-byte loads from rows of 8190 floats", "linear(m=1, n=8192, k=8190)", "sm_90",
       rows(1, 8, 2, 4, 4),
       "rows of B of 8190 floats are not 16-byte aligned: loads of 4 floats need rows whose "
       "length they divide"},
      {"16-byte loads from rows of B[K,N] with N odd", "matmul(m=1, n=8191, k=8192)", "sm_90",
       columns(1, 8, 64, 8, 4),
       "rows of B of 8191 floats are not 16-byte aligned: loads of 4 floats need rows whose "
       "length they divide"},
      {"8-byte loads where 16-byte ones fit", m1, "sm_90", rows(1, 8, 2, 4, 2),
       "B is loaded in the widest vectors its rows allow"},
      {"unroll 3", m1, "sm_90", rows(1, 8, 2, 3, 4),
       "UNROLL is a power of two, so that k-steps start 16-byte aligned in x"},
      {"two loads in flight", m1, "sm_90", rows(1, 8, 1, 2, 4),
       "each thread keeps at least 4 loads of B in flight"},
      {"32 loads in flight", m1, "sm_90", rows(1, 8, 4, 8, 4),
       "more than 16 loads in flight per thread take registers without adding bandwidth"},
      {"2 columns per block", m1, "sm_90", rows(1, 2, 1, 4, 4),
       "a block covers a multiple of 4 columns (float4s of outputs)"},
      {"512 columns of an 8-column B", "matmul(m=1, n=8, k=8192)", "sm_90",
       columns(1, 8, 128, 8, 4), "a block tile more than twice the matrix wastes most of its work"},
      {"16 rows of x by 4 rows of W by 4 loads", m16, "sm_90", rows(16, 8, 4, 4, 4),
       "needs more than 128 registers per thread"},
      {"split-K with enough tiles", m1, "sm_90", rows(1, 8, 2, 4, 4, 2),
       "split-K only where the tiles fill under half the SMs"},
      {"split-K into too few blocks", "linear(m=1, n=256, k=8192)", "sm_90", rows(1, 8, 2, 4, 4, 2),
       "split-K into more splits fills more SMs"},
      {"split-K into too many blocks", "linear(m=1, n=1024, k=8192)", "sm_90",
       rows(1, 8, 2, 4, 4, 16),
       "split-K into more than two per SM (tiles x splits) only adds partial sums"},
      {"split-K into too short ranges", "linear(m=1, n=64, k=8192)", "sm_90",
       rows(1, 8, 2, 4, 4, 16), "each split keeps at least 2 k-tiles"},
      {"a step longer than x's chunk", m16, "sm_90", rows(16, 8, 1, 16, 4),
       "a chunk of x in shared memory (1024 floats per row) holds no whole k-step"},
  };
  for (const RejectionCase& c : cases) {
    const MainOp main = parse_spec(c.spec).main;
    EXPECT_EQ(gemv_simt_rejection(main, limits_of(c.arch), c.config), c.reason)
        << c.what << ": " << config_name(main, c.config);
  }
}

TEST(GemvSimtSpace, SharedMemoryIsSizedForXOrThePartialSumsWhicheverIsLarger) {
  const MainOp main = parse_spec("matmul(m=16, n=4096, k=4096)").main;
  // x: 16 rows of a 1024-float chunk (16384 floats / 16) plus 4 of padding; partial sums:
  // 8 groups of k x 16 rows x 128 columns.
  const GemvSimtConfig c = columns(16, 8, 32, 4, 4, 8);
  EXPECT_EQ(x_chunk(main, c), 512);  // 4096 / 8 splits
  EXPECT_EQ(smem_bytes(main, c), 4 * (8 * 16 * 128 + 4));
  const GemvSimtConfig m1 = rows(1, 8, 2, 4, 4);
  const MainOp long_k = parse_spec("linear(m=1, n=8192, k=8192)").main;
  EXPECT_EQ(x_chunk(long_k, m1), 8192);
  EXPECT_EQ(smem_bytes(long_k, m1), 4 * (8192 + 4));
}

// ---- names typed by a user ----

TEST(GemvSimtNames, RefuseTextThatIsNotANameAndSayWhy) {
  const Spec spec = parse_spec("linear(m=1, n=1024, k=8192)");
  struct Case {
    std::string name;
    std::string why;
  };
  const Case cases[] = {
      {"ft_gemv_simt_", "it is not of the form ft_gemv_simt_<rows|cols>"},
      {"ft_gemv_simt_diag_m1_w8_r2_u4_v4", "it is not of the form"},
      {"ft_gemv_simt_rows_m1_w8_r2_u4_v4_extra", "it is not of the form"},
      {"ft_gemv_simt_rows_m1_w8_c32_u4_v4", "a rows name gives rows per warp"},
      {"ft_gemv_simt_cols_m1_w8_r2_u4_v4", "a rows name gives rows per warp"},
  };
  for (const Case& c : cases) {
    const std::optional<Error> error = error_of([&] { candidate_from_name(spec, kH100, c.name); });
    ASSERT_TRUE(error) << c.name;
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    const std::string message = error->what();
    EXPECT_NE(message.find(c.why), std::string::npos) << message;
    EXPECT_NE(message.find("ft_gemv_simt_rows_m1_w8_r2_u4_v4_k4"), std::string::npos) << message;
  }
}

TEST(GemvSimtNames, IgnoreGuardLettersAndRefuseConfigsThatCannotRunTheSpec) {
  const Spec spec = parse_spec("linear(m=1, n=1000, k=8192)");
  const Candidate c = candidate_from_name(spec, kH100, "ft_gemv_simt_rows_m1_w8_r2_u4_v4_gk");
  EXPECT_EQ(c.name, "ft_gemv_simt_rows_m1_w8_r2_u4_v4_gn");
  EXPECT_EQ(std::get<GemvSimtConfig>(c.config), rows(1, 8, 2, 4, 4));
  const std::optional<Error> error =
      error_of([&] { candidate_from_name(spec, kH100, "ft_gemv_simt_cols_m1_w8_c64_u8_v4"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(std::string(error->what()),
            "configuration ft_gemv_simt_cols_m1_w8_c64_u8_v4 cannot run this spec on sm_90: the "
            "columns layout walks a B stored [K,N]; this B is stored [N,K]");
}

TEST(GemvSimtJson, RefusesAnUnknownLayoutAndMissingFields) {
  nlohmann::json json = to_json(rows(1, 8, 2, 4, 4));
  json["layout"] = "diagonal";
  const std::optional<Error> unknown = error_of([&] { config_from_json(json.dump()); });
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code(), StatusCode::invalid_argument);
  EXPECT_NE(std::string(unknown->what()).find("diagonal"), std::string::npos);
  json = to_json(rows(1, 8, 2, 4, 4));
  json.erase("unroll");
  const std::optional<Error> missing = error_of([&] { config_from_json(json.dump()); });
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->code(), StatusCode::invalid_argument);
}

}  // namespace
}  // namespace fusetune
