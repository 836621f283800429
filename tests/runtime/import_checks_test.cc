// The checks of a tuning from elsewhere that need the generator, as a specification: a time no GPU
// of its arch could run the spec's work in is refused (issue 20: a forged 1e-6 ms, 137 million
// TFLOP/s, displaced a winner); so is a configuration the generator refuses, in a tuning of this
// build; one that could be real is taken.
#include "runtime/import_checks.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/tuning_key.h"

namespace fusetune {
namespace {

constexpr const char* kSpec = "linear(m=1024, n=1024, k=1024) -> bias -> relu";  // 2.1 GFLOP

struct Imported {
  cache::TuningRecord tuning;
  std::vector<cache::CandidateRecord> candidates;
};

// A tuning of kSpec on an H100 by this build, its winner at `winner_ms`.
Imported imported(double winner_ms) {
  const Spec spec = parse_spec(kSpec);
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  const Candidate winner = search_space(spec, limits, Precision::fp32).at(0);
  Imported i;
  i.tuning.key = tuning_key(spec, "fp32", "NVIDIA H100 80GB HBM3", "sm_90", 132);
  i.tuning.spec = spec.canonical();
  i.tuning.winner = winner.name;
  i.tuning.winner_time_ms = winner_ms;
  i.tuning.winner_config_json = config_json(winner.config);
  cache::CandidateRecord row;
  row.name = winner.name;
  row.config_json = i.tuning.winner_config_json;
  row.outcome = "ok";
  row.time_ms = winner_ms;
  i.candidates.push_back(row);
  return i;
}

TEST(ImportChecks, TheBoundIsTwiceTheDense16BitPeakOfTheArchsFastestGpu) {
  EXPECT_DOUBLE_EQ(peak_tflops_bound("sm_90"), 1980);  // H100 SXM: 989 TFLOP/s bf16
  EXPECT_DOUBLE_EQ(peak_tflops_bound("sm_80"), 624);   // A100: 312
  EXPECT_GT(peak_tflops_bound("sm_100"), peak_tflops_bound("sm_90")) << "later archs: more";
}

TEST(ImportChecks, ATimeThatCouldBeRealIsTaken) {
  const Imported i = imported(0.05);  // 43 TFLOP/s
  EXPECT_EQ(import_problem(i.tuning, i.candidates), std::nullopt);
}

TEST(ImportChecks, ATimeBeyondTheArchsPeakIsRefused) {
  for (double ms : {1e-6, 0.0005}) {  // 2e6 and 4.3e3 TFLOP/s
    const Imported i = imported(ms);
    const std::optional<std::string> problem = import_problem(i.tuning, i.candidates);
    ASSERT_TRUE(problem) << ms;
    EXPECT_NE(problem->find("TFLOP/s"), std::string::npos) << *problem;
    EXPECT_NE(problem->find("1980 TFLOP/s"), std::string::npos) << *problem;
  }
}

TEST(ImportChecks, AConfigurationTheGeneratorRefusesIsRefusedNamingTheTunable) {
  Imported i = imported(0.05);
  nlohmann::json forged = nlohmann::json::parse(i.tuning.winner_config_json);
  forged["bk"] = 0;
  i.tuning.winner_config_json = i.candidates[0].config_json = forged.dump();
  const std::optional<std::string> problem = import_problem(i.tuning, i.candidates);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("gemm_simt.bk"), std::string::npos) << *problem;
  EXPECT_NE(problem->find(i.candidates[0].name), std::string::npos) << *problem;
}

TEST(ImportChecks, AnotherBuildsConfigurationsAreLeftToItButItsTimesAreChecked) {
  Imported i = imported(0.05);
  i.tuning.key.generator_version = "0.0.1+old";
  i.candidates[0].config_json = R"({"family": "gemm_of_the_past"})";
  EXPECT_EQ(import_problem(i.tuning, i.candidates), std::nullopt) << "never used by this build";
  i.candidates[0].time_ms = 1e-6;
  EXPECT_TRUE(import_problem(i.tuning, i.candidates).has_value());
}

}  // namespace
}  // namespace fusetune
