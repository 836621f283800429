// The fusetune program as a user runs it: commands that need no GPU, end to end.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;

struct ProgramRun {
  int exit_code;
  std::string output;  // standard output and standard error
};

// Runs the fusetune program built beside this test with `arguments` (shell-quoted by caller).
ProgramRun fusetune(const std::string& arguments) {
  const fs::path program = fs::read_symlink("/proc/self/exe").parent_path() / "fusetune";
  FILE* pipe = popen((program.string() + " " + arguments + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 4096> chunk;
  while (std::size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::path(::testing::TempDir()) / ("cli_" + std::to_string(std::random_device{}()));
    fs::create_directories(folder_);
    db_ = "--db " + (folder_ / "tuning.db").string();
  }
  void TearDown() override { fs::remove_all(folder_); }
  fs::path folder_;
  std::string db_;
};

TEST_F(CliTest, AutoCompilesEveryPrecisionWithinTheToleranceAndRefusesAnUnreachableOne) {
  const ProgramRun run = fusetune(
      "tune 'linear(m=64, n=64, k=64) -> relu' --compile-only --arch sm_80 --json "
      "--precision auto --tolerance 5e-4 " +
      db_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json report = nlohmann::json::parse(run.output);
  EXPECT_EQ(report["precision"], "auto");
  EXPECT_EQ(report["tolerance"], 5e-4);
  EXPECT_TRUE(report["chosen_precision"].is_null()) << "a compile-only sweep measures nothing";
  ASSERT_EQ(report["sweeps"].size(), 3u);
  EXPECT_EQ(report["sweeps"][0]["precision"], "tf32");
  EXPECT_EQ(report["sweeps"][1]["precision"], "3xtf32");
  EXPECT_EQ(report["sweeps"][2]["precision"], "fp32");

  const ProgramRun unreachable =
      fusetune("tune 'linear(m=64, n=64, k=64)' --precision auto --tolerance 1e-9 " + db_);
  EXPECT_NE(unreachable.exit_code, 0);
  EXPECT_NE(unreachable.output.find("give a larger --tolerance"), std::string::npos)
      << unreachable.output;
}

TEST_F(CliTest, CompileOnlySweepAtEveryPrecisionReportsJson) {
  for (const std::string precision : {"fp32", "tf32", "3xtf32"}) {
    const ProgramRun run = fusetune(
        "tune 'linear(m=64, n=64, k=64) -> relu' --compile-only --arch sm_80 "
        "--json --precision " +
        precision + " " + db_);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const nlohmann::json report = nlohmann::json::parse(run.output);
    EXPECT_EQ(report["precision"], precision);
    EXPECT_EQ(report["compile_only"], true);
    EXPECT_GT(report["candidates"].get<int>(), 0);
    EXPECT_EQ(report["compiled"], report["candidates"]);
    EXPECT_TRUE(report["failed"].empty()) << report["failed"];
    const std::string first = report["results"][0]["name"];
    EXPECT_EQ(first.starts_with("ft_gemm_mma_"), precision != "fp32") << first;
  }
}

TEST_F(CliTest, GenPrintsTheDefaultOrANamedCandidate) {
  const ProgramRun default_source = fusetune("gen 'linear(m=64, n=64, k=64)' --precision 3xtf32");
  ASSERT_EQ(default_source.exit_code, 0) << default_source.output;
  EXPECT_NE(default_source.output.find("static constexpr int PASSES = 3;"), std::string::npos);
  const ProgramRun bad = fusetune("gen 'linear(m=64, n=64, k=64)' --config ft_gemm_simt_nonsense");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("names no kernel configuration"), std::string::npos) << bad.output;
}

TEST_F(CliTest, ABadSpecPointsAtTheCharacterAndFails) {
  const ProgramRun run =
      fusetune("tune 'linear(m=64, n=64, k=64) -> mul(2.0' --compile-only " + db_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("invalid spec"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find('^'), std::string::npos) << run.output;
}

TEST_F(CliTest, AnUnknownPrecisionIsAUsageError) {
  const ProgramRun run = fusetune("tune 'linear(m=64, n=64, k=64)' --precision bf17 " + db_);
  EXPECT_EQ(run.exit_code, 2) << run.output;  // CLI11's usage errors
}

TEST_F(CliTest, CacheLsWithoutADatabaseSaysSoAndCreatesNone) {
  const ProgramRun run = fusetune("cache ls " + db_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("no tuning database yet"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(folder_ / "tuning.db"));
}

TEST_F(CliTest, CacheLsAfterACompileOnlySweepListsNoTuningYet) {
  ASSERT_EQ(
      fusetune("tune 'linear(m=64, n=64, k=64)' --compile-only --arch sm_80 " + db_).exit_code, 0);
  const ProgramRun run = fusetune("cache ls " + db_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("0 tuned problems"), std::string::npos) << run.output;
}

}  // namespace
