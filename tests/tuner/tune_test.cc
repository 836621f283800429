// What tune() sweeps and what it refuses before it compiles anything.
#include "tuner/tune.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

TEST(Tune, ConvolutionsSweepTheirOwnFamilyAtFp32Only) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_conv_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_90";
    options.max_candidates = 2;
    const Spec spec = parse_spec("conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3) -> relu");
    const TuneReport report = tune(spec, *db, options);
    EXPECT_EQ(report.candidates, 2);
    EXPECT_EQ(report.compiled, 2);
    for (const CandidateResult& r : report.results)
      EXPECT_TRUE(r.name.starts_with("ft_conv_simt_")) << r.name;

    options.precision = Precision::tf32;
    const std::optional<Error> error = error_of([&] { tune(spec, *db, options); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_EQ(std::string(error->what()),
              "conv2d runs at precision fp32 only for now (no tensor-core convolution kernel "
              "yet); tune it with --precision fp32");
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune
