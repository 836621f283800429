// What tune() sweeps and what it refuses before it compiles anything.
#include "tuner/tune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "tests/expect_error.h"
#include "tuner/tune_auto.h"

namespace fusetune {
namespace {

TEST(Tune, ConvolutionsSweepTheDirectFamilyAtFp32AndTensorCoresAtTf32) {
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

    for (Precision precision : {Precision::tf32, Precision::tf32x3}) {
      options.precision = precision;
      const TuneReport mma = tune(spec, *db, options);
      EXPECT_EQ(mma.candidates, 2);
      EXPECT_EQ(mma.compiled, 2);
      EXPECT_TRUE(mma.failed.empty());
      for (const CandidateResult& r : mma.results) {
        EXPECT_TRUE(r.name.starts_with("ft_conv_mma_")) << r.name;
        EXPECT_NE(r.name.find(to_string(precision)), std::string::npos) << r.name;
      }
    }

    // Pooled and transposed convolutions run on tensor cores too, the pool in the epilogue.
    options.precision = Precision::tf32;
    for (const char* text : {"conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3) -> max_pool2d(2)",
                             "conv_transpose2d(n=1, c=3, h=8, w=8, k=4, kernel=3, stride=2)"}) {
      const TuneReport report = tune(parse_spec(text), *db, options);
      EXPECT_EQ(report.compiled, 2) << text;
      for (const CandidateResult& r : report.results)
        EXPECT_TRUE(r.name.starts_with("ft_conv_mma_")) << r.name;
    }
    const Spec dilated =
        parse_spec("conv_transpose2d(n=1, c=3, h=8, w=8, k=4, kernel=3, dilation=2)");
    const std::optional<Error> error = error_of([&] { tune(dilated, *db, options); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_EQ(std::string(error->what()),
              "'conv_transpose2d(n=1, c=3, h=8, w=8, k=4, kernel=3, dilation=2)' has no kernel at "
              "precision tf32: conv_mma runs conv_transpose2d without dilation only; the direct "
              "family runs it (--precision fp32)");
  }
  std::filesystem::remove_all(folder);
}

// A sweep of an empty space used to end with exit status 1 and no word of why.
TEST(Tune, AnEmptySearchSpaceSaysWhy) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_empty_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_80";
    options.precision = Precision::bf16;
    const Spec odd_k = parse_spec("linear(m=64, n=64, k=1, dtype=bf16)");
    const std::optional<Error> error = error_of([&] { tune(odd_k, *db, options); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_NE(std::string(error->what()).find("16-bit operands need an even contiguous extent"),
              std::string::npos)
        << error->what();
  }
  std::filesystem::remove_all(folder);
}

TEST(TuneAuto, ConvolutionsTryTensorCoresWhereTheyHaveAKernel) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_auto_conv_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_80";
    options.max_candidates = 1;
    // fp32-level accuracy: 3xTF32 and fp32; a dilated transposed convolution has no 3xTF32
    // kernel.
    const Spec plain = parse_spec("conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3) -> relu");
    const Spec transposed =
        parse_spec("conv_transpose2d(n=1, c=3, h=8, w=8, k=4, kernel=3, dilation=2)");
    const PrecisionPolicy policy = make_precision_policy("auto", 1e-5, plain.main);
    const AutoTuneReport both = tune_auto(plain, *db, policy, options);
    ASSERT_EQ(both.sweeps.size(), 2u);
    EXPECT_EQ(both.sweeps[0].precision, "3xtf32");
    ASSERT_EQ(both.sweeps[0].results.size(), 1u);
    EXPECT_TRUE(both.sweeps[0].results[0].name.starts_with("ft_conv_mma_"));
    EXPECT_EQ(both.sweeps[1].precision, "fp32");
    const AutoTuneReport one = tune_auto(transposed, *db, policy, options);
    ASSERT_EQ(one.sweeps.size(), 1u);
    EXPECT_EQ(one.sweeps[0].precision, "fp32");
  }
  std::filesystem::remove_all(folder);
}

TEST(TuneWithPolicy, ANamedPrecisionIsOneSweepAtThatPrecision) {
  const std::filesystem::path folder =
      std::filesystem::path(::testing::TempDir()) /
      ("tune_with_policy_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_80";
    options.max_candidates = 1;
    const Spec spec = parse_spec("linear(m=64, n=64, k=64) -> relu");
    const PrecisionPolicy policy = make_precision_policy("tf32", std::nullopt, spec.main);
    const AutoTuneReport report = tune_with_policy(spec, *db, policy, options);
    EXPECT_EQ(report.spec, spec.canonical());
    EXPECT_EQ(report.tolerance, 5e-4);
    ASSERT_EQ(report.sweeps.size(), 1u);
    EXPECT_EQ(report.sweeps[0].precision, "tf32");
    EXPECT_EQ(report.sweeps[0].candidates, 1);
    EXPECT_FALSE(report.chosen) << "a compile-only sweep measures no winner";
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune

namespace fusetune {
namespace {

TEST(Tune, RefusesABudgetThatIsNotPositiveOrComesWithACompileOnlySweep) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_budget_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    const Spec spec = parse_spec("linear(m=64, n=64, k=64)");
    TuneOptions options;
    for (double seconds : {0.0, -1.0, std::nan("")}) {
      options.budget_s = seconds;
      const std::optional<Error> error = error_of([&] { tune(spec, *db, options); });
      ASSERT_TRUE(error) << seconds;
      EXPECT_EQ(error->code(), StatusCode::invalid_argument);
      EXPECT_NE(std::string(error->what()).find("positive number of seconds"), std::string::npos);
    }
    options.budget_s = 5;
    options.compile_only = true;
    options.arch = "sm_90";
    const std::optional<Error> error = error_of([&] { tune(spec, *db, options); });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_NE(std::string(error->what()).find("drop the budget"), std::string::npos);
  }
  std::filesystem::remove_all(folder);
}

TEST(Tune, ACompileOnlySweepReportsItsStrategyAndTheSizeOfItsSpace) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_space_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    const Spec spec = parse_spec("conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3) -> relu");
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_90";
    options.max_candidates = 2;
    const TuneReport report = tune(spec, *db, options);
    EXPECT_EQ(report.strategy, "exhaustive");
    EXPECT_FALSE(report.budget_s);
    EXPECT_EQ(report.candidates, 2);
    EXPECT_EQ(report.space_size,
              static_cast<int>(
                  search_space(spec, *DeviceLimits::for_arch("sm_90"), Precision::fp32).size()));
    EXPECT_GT(report.space_size, 2);
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune
