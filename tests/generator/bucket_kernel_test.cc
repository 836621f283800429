// Kernels of a bucket of row counts (m=lo..hi): which families make them, what their source and
// launch say, that they compile with NVRTC for sm_80 and sm_90a (a sample of each family), and
// the buckets `fusetune tune --buckets` makes of a range.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "generator/generator.h"
#include "generator/row_buckets.h"
#include "generator/spec_parser.h"
#include "generator/tile_grid.h"
#include "runtime/nvrtc.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

DeviceLimits limits_of(const std::string& arch) { return DeviceLimits::for_arch(arch).value(); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The first `per_family` candidates of each family in `space`.
std::vector<Candidate> sample(const std::vector<Candidate>& space, std::size_t per_family) {
  std::vector<Candidate> chosen;
  std::vector<std::size_t> taken(std::variant_size_v<KernelConfig>, 0);
  for (const Candidate& c : space)
    if (taken[c.config.index()]++ < per_family) chosen.push_back(c);
  return chosen;
}

std::set<std::string> families_in(const std::vector<Candidate>& space) {
  std::set<std::string> families;
  for (const Candidate& c : space) families.insert(c.name.substr(0, c.name.find('_', 8)));
  return families;
}

TEST(BucketKernel, OnlyFamiliesWhoseRowsComeAtLaunchAreSearched) {
  const DeviceLimits h100 = limits_of("sm_90");
  EXPECT_EQ(families_in(search_space(parse_spec("linear(m=1..16, n=1024, k=512) -> relu"), h100,
                                     Precision::fp32)),
            (std::set<std::string>{"ft_gemm_simt", "ft_gemv_simt"}));
  const Spec tf32 = parse_spec("linear(m=1025..2048, n=1024, k=512) -> relu");
  EXPECT_EQ(families_in(search_space(tf32, h100, Precision::tf32)),
            (std::set<std::string>{"ft_gemm_mma"}))
      << "warpgroup MMA kernels are compiled for one row count";
  EXPECT_TRUE(families_in(search_space(tf32.at_rows(2048), h100, Precision::tf32))
                  .contains("ft_gemm_wgmma"));
  // A stored or named configuration of such a family is refused for a bucket.
  const Candidate wgmma = search_space(tf32.at_rows(2048), h100, Precision::tf32).front();
  ASSERT_TRUE(std::holds_alternative<GemmWgmmaConfig>(wgmma.config));
  const std::optional<Error> error =
      error_of([&] { validated_config(tf32, h100, config_json(wgmma.config)); });
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(contains(error->what(), "compiled for one row count")) << error->what();
  EXPECT_EQ(default_candidate(tf32, h100, Precision::tf32).config.index(),
            KernelConfig(GemmMmaConfig{}).index());
}

TEST(BucketKernel, ItsSourceTakesTheRowsAtLaunchAndGuardsThem) {
  const Spec bucket = parse_spec("linear(m=2049..4096, n=8192, k=8192) -> bias -> relu");
  const Candidate c = default_candidate(bucket, limits_of("sm_90"), Precision::fp32);
  const KernelSource source = generate(bucket, c.config);
  EXPECT_TRUE(contains(source.code,
                       "static constexpr int M = 4096, N = 8192, K = 8192;  "
                       "// M: the most rows, of 2049..4096\n"));
  EXPECT_TRUE(contains(source.code, "DYNAMIC_M = true;\n"));
  EXPECT_TRUE(contains(source.code, "GUARD_M = true"));
  EXPECT_TRUE(contains(source.code, "ft::row_count<Config>(args)"));
  EXPECT_TRUE(c.name.ends_with("_gm")) << c.name;
  // The same configuration at one shape has its rows compiled in.
  const KernelSource fixed = generate(bucket.at_rows(4096), c.config);
  EXPECT_TRUE(contains(fixed.code, "DYNAMIC_M = false;\n"));
  EXPECT_TRUE(contains(fixed.code, "GUARD_M = false"));
  EXPECT_EQ(fixed.launch.rows, RowGrid{});
}

TEST(BucketKernel, ItsGridFollowsTheRowsOfEachLaunch) {
  const Spec bucket = parse_spec("linear(m=17..32, n=1000, k=64) -> relu");
  for (const Candidate& c : search_space(bucket, limits_of("sm_80"), Precision::fp32)) {
    SCOPED_TRACE(c.name);
    const LaunchGeometry g = generate(bucket, c.config).launch;
    ASSERT_GT(g.rows.tile_rows, 0);
    EXPECT_EQ(g.rows.max_rows, 32);
    for (const std::int64_t rows : {17, 20, 31, 32}) {
      const std::array<unsigned, 3> grid = grid_at_rows(g, rows);
      // The grid of the same configuration compiled for these rows alone.
      EXPECT_EQ(grid, generate(bucket.at_rows(rows), c.config).launch.grid) << rows;
    }
    EXPECT_EQ(grid_at_rows(g, 32), g.grid) << "as written: at the top";
    EXPECT_TRUE(error_of([&] { grid_at_rows(g, 33); }).has_value()) << "past the workspace";
    EXPECT_TRUE(error_of([&] { grid_at_rows(g, 0); }).has_value());
  }
}

// A sample: each family's first two candidates of a few buckets, for both targets (the whole
// spaces are the GPU tests' and compile_space's).
TEST(BucketKernel, ASampleOfEachFamilyCompilesForSm80AndSm90a) {
  struct Case {
    const char* spec;
    Precision precision;
  };
  const Case cases[] = {
      {"linear(m=1..16, n=1000, k=520) -> bias -> mul(2.0) -> leaky_relu(0.1)", Precision::fp32},
      {"matmul(m=17..96, n=200, k=300) -> add(row) -> mul(tensor) -> gelu", Precision::fp32},
      {"linear(m=100..300, n=264, k=200) -> bias -> relu", Precision::tf32x3},
      {"linear(m=5..77, n=200, k=264, dtype=bf16) -> bias -> gelu(tanh)", Precision::bf16},
  };
  std::set<std::string> families;
  for (const Case& c : cases) {
    for (const std::string arch : {"sm_80", "sm_90"}) {
      const Spec spec = parse_spec(c.spec);
      for (const Candidate& candidate :
           sample(search_space(spec, limits_of(arch), c.precision), 2)) {
        SCOPED_TRACE(candidate.name + " " + arch);
        const KernelSource source = generate(spec, candidate.config);
        EXPECT_NO_THROW(compile_to_cubin(source.code, source.name, target_arch(source, arch)));
        families.insert(candidate.name.substr(0, candidate.name.find('_', 8)));
      }
    }
  }
  EXPECT_EQ(families, (std::set<std::string>{"ft_gemm_simt", "ft_gemv_simt", "ft_gemm_mma"}));
}

TEST(RowBuckets, ARangeSplitsIntoPowerOfTwoBucketsAfterTheFirstSixteen) {
  auto texts = [](const char* range) {
    std::vector<std::string> out;
    for (const Spec& s : power_of_two_buckets(parse_spec(range))) out.push_back(s.canonical());
    return out;
  };
  const std::vector<std::string> seed = texts("linear(m=1..4096, n=8, k=8) -> relu");
  ASSERT_EQ(seed.size(), 9u);
  EXPECT_EQ(seed.front(), "linear(m=1..16, n=8, k=8) -> relu");
  EXPECT_EQ(seed[1], "linear(m=17..32, n=8, k=8) -> relu");
  EXPECT_EQ(seed.back(), "linear(m=2049..4096, n=8, k=8) -> relu");
  // Cut to the range; a piece of one row count is a shape.
  EXPECT_EQ(
      texts("linear(m=100..513, n=8, k=8)"),
      (std::vector<std::string>{"linear(m=100..128, n=8, k=8)", "linear(m=129..256, n=8, k=8)",
                                "linear(m=257..512, n=8, k=8)", "linear(m=513, n=8, k=8)"}));
  EXPECT_EQ(texts("linear(m=7, n=8, k=8)"), (std::vector<std::string>{"linear(m=7, n=8, k=8)"}));
}

TEST(RowBuckets, TheNarrowestServingBucketComesFirstAndOthersAreLeftOut) {
  const std::vector<std::string> tuned = {
      "linear(m=1..4096, n=8, k=8) -> relu",    "linear(m=2049..4096, n=8, k=8) -> relu",
      "linear(m=2049..4096, n=8, k=8) -> relu",  // tuned at another precision
      "linear(m=3000, n=8, k=8) -> relu",        // a shape, not a bucket
      "linear(m=2049..4096, n=8, k=8) -> gelu",  // another chain
      "linear(m=1..2048, n=8, k=8) -> relu",     // other rows
      "linear(m=1..4096, n=8, k=8) -> @@",       // a text this build does not read
  };
  const std::vector<Spec> buckets =
      buckets_serving(parse_spec("linear(m=3000, n=8, k=8) -> relu"), tuned);
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].canonical(), "linear(m=2049..4096, n=8, k=8) -> relu");
  EXPECT_EQ(buckets[1].canonical(), "linear(m=1..4096, n=8, k=8) -> relu");
}

}  // namespace
}  // namespace fusetune
