// Usage errors of the fusetune program: each is refused with exit status 2 and a message that
// says what to write instead, before anything is read, compiled or written. None needs a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tests/tools/fusetune_program.h"

namespace fusetune {
namespace {

namespace fs = std::filesystem;
using testing::ProgramRun;
using testing::run_fusetune;

constexpr int kUsage = 2;  // README: "Exit codes: 0 done, 1 failed, 2 bad usage, 3 no GPU"
const std::string kSpec = "'linear(m=64, n=64, k=64)'";
const std::string kCompileOne = " --compile-only --arch sm_80 --max-candidates 1 ";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CliUsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::path(::testing::TempDir()) / ("usage_" + std::to_string(std::random_device{}()));
    fs::create_directories(folder_);
    db_ = " --db " + (folder_ / "tuning.db").string();
  }
  void TearDown() override { fs::remove_all(folder_); }

  // Runs `arguments` (with db_ where the command takes --db), which must be refused as bad usage
  // with `message` in the output and leave no database behind.
  void expect_usage_error(const std::string& arguments, const std::string& message,
                          const std::string& environment = "") {
    const bool takes_db = !arguments.starts_with("gen ");
    const ProgramRun run = run_fusetune(arguments + (takes_db ? db_ : ""), environment);
    EXPECT_EQ(run.exit_code, kUsage) << arguments << "\n" << run.output;
    EXPECT_TRUE(contains(run.output, message)) << arguments << "\n" << run.output;
    EXPECT_FALSE(fs::exists(folder_ / "tuning.db")) << arguments;
  }

  fs::path folder_;
  std::string db_;
};

TEST_F(CliUsageTest, ABadSpecIsBadUsageAndPointsAtTheCharacter) {
  expect_usage_error("tune 'linear(m=64, n=64, k=64) -> mul(2.0'" + kCompileOne,
                     "expected ')' to close the arguments of mul");
  expect_usage_error("gen 'linear(m=64, n=64, k=64) -> rleu'", "did you mean 'relu'?");
  // Once printed as a kernel with a grid of 0 blocks.
  expect_usage_error("gen 'linear(m=2147483647, n=2147483647, k=2147483647)'",
                     "m=2147483647 is too large: a GEMM's m, n and k are at most 1073741824");
  const ProgramRun run = run_fusetune("gen 'linear(m=64, n=64)'");
  EXPECT_EQ(run.exit_code, kUsage) << run.output;
  EXPECT_TRUE(contains(run.output, "\n  linear(m=64, n=64)\n                   ^")) << run.output;
}

TEST_F(CliUsageTest, EveryCommandThatTakesASpecRefusesABadOneAsBadUsage) {
  const std::string bad = "'linear(m=64, n=64) -> relu'";
  for (const std::string& command :
       {"tune " + bad, "tune " + bad + " --compile-only", "bench " + bad, "cache show " + bad,
        "cache explain " + bad, "cache plot " + bad,
        "cache export " + (folder_ / "out.json").string() + " --spec " + bad})
    expect_usage_error(command, "missing argument k of linear");
  expect_usage_error("bench-shapes --epilogue '-> rleu'", "did you mean 'relu'?");
  expect_usage_error("bench-shapes --precision auto --epilogue '-> rleu'", "did you mean 'relu'?");
  expect_usage_error("bench-shapes --m 0", "m=0");
}

// Option values the generator refuses for the spec they go with: bad usage too, found before any
// GPU or database is asked for.
TEST_F(CliUsageTest, AnOptionValueThatDoesNotFitTheSpecIsBadUsage) {
  expect_usage_error("gen " + kSpec + " --config ft_gemm_simt_nonsense",
                     "'ft_gemm_simt_nonsense' names no kernel configuration");
  expect_usage_error("tune " + kSpec + " --compile-only --precision bf16",
                     "precision bf16 multiplies bf16 inputs and this spec's are fp32");
  expect_usage_error("bench " + kSpec + " --precision fp16", "precision fp16 multiplies");
  expect_usage_error("tune " + kSpec + " --compile-only --precision auto --tolerance 1e-9",
                     "give a larger --tolerance");
  expect_usage_error("info --gpu --json", "--gpu excludes --json");
}

TEST_F(CliUsageTest, ASpecThatStartsWithADashIsToldToFollowDoubleDash) {
  const ProgramRun gen = run_fusetune("gen '-> relu'");
  EXPECT_EQ(gen.exit_code, kUsage) << gen.output;
  EXPECT_TRUE(contains(gen.output,
                       "'-> relu' starts with '-', so it was read as an option; if it "
                       "is the spec, put -- before it: fusetune gen -- '-> relu'"))
      << gen.output;
  expect_usage_error("tune '->relu' --compile-only",
                     "put -- before it: fusetune tune --compile-only --db ");
  // After --, it reaches the parser, which says what is wrong with it.
  expect_usage_error("gen -- '-> relu'", "expected a main op");
}

TEST_F(CliUsageTest, AToleranceMustBeARelativeErrorBelowOne) {
  const std::string below_one = "an output of zeros has a relative error of 1";
  const std::string positive = "is not a positive number";
  const struct {
    std::string tolerance;
    std::string message;
  } cases[] = {
      {"1e308", below_one}, {"1", below_one},          {"2.5", below_one},
      {"inf", positive},    {"nan", positive},         {"0", positive},
      {"-1e-5", positive},  {"1e-5x", "not a number"}, {"abc", "not a number"},
  };
  for (const auto& c : cases) {
    expect_usage_error("tune " + kSpec + kCompileOne + "--tolerance " + c.tolerance, c.message);
    expect_usage_error(
        "tune " + kSpec + kCompileOne + "--precision auto --tolerance " + c.tolerance, c.message);
  }
  const ProgramRun loose = run_fusetune("tune " + kSpec + kCompileOne + "--tolerance 0.5" + db_);
  EXPECT_EQ(loose.exit_code, 0) << loose.output;
}

TEST_F(CliUsageTest, MaxCandidatesIsACountOfZeroOrMore) {
  const std::string count = "--max-candidates takes a number of candidates";
  expect_usage_error("tune " + kSpec + " --compile-only --max-candidates -1", count);
  expect_usage_error("tune " + kSpec + " --compile-only --max-candidates 2.5", count);
  expect_usage_error("bench-shapes --max-candidates -1", count);
}

TEST_F(CliUsageTest, CountsAndSecondsOfOtherOptionsAreRefusedOutOfRange) {
  expect_usage_error("tune " + kSpec + " --compile-only --top -1", "--top");
  expect_usage_error("tune " + kSpec + " --compile-only --jobs -2", "--jobs");
  expect_usage_error("tune " + kSpec + " --timeout 0", "--timeout");
  expect_usage_error("tune " + kSpec + " --timeout nan", "--timeout");
  expect_usage_error("bench " + kSpec + " --rounds 0", "--rounds");
  expect_usage_error("bench-shapes --rounds -1", "--rounds");
}

TEST_F(CliUsageTest, ASystemDatabaseNamedOnTheCommandLineMustExist) {
  const std::string missing = (folder_ / "sytsem.db").string();
  const std::string message = "--system names no file: " + missing;
  expect_usage_error("tune " + kSpec + kCompileOne + "--system " + missing, message);
  expect_usage_error("cache ls --system " + missing, message);
  expect_usage_error("cache show " + kSpec + " --system " + missing, message);
  expect_usage_error("info --system " + missing, message);
  // The environment's default stays lenient, as README says: a missing file is no layer.
  const ProgramRun run = run_fusetune("cache ls" + db_, "FUSETUNE_SYSTEM_DB=" + missing);
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST_F(CliUsageTest, AnAgainstDatabaseMustExist) {
  const std::string missing = (folder_ / "other.db").string();
  expect_usage_error("bench " + kSpec + " --against-db " + missing,
                     "--against-db names no file: " + missing);
}

TEST_F(CliUsageTest, ADumpFolderThatCannotBeWrittenIsSaidOnce) {
  // A path below a regular file can be created by no one, root included.
  std::ofstream(folder_ / "file") << "not a folder";
  const std::string dump = (folder_ / "file" / "dump").string();
  const ProgramRun run = run_fusetune(
      "tune 'linear(m=64, n=64, k=64)' --compile-only --arch sm_80 --max-candidates 2" + db_,
      "FUSETUNE_DUMP=" + dump);
  EXPECT_EQ(run.exit_code, 0) << "the dump is a debugging aid; compiling goes on\n" << run.output;
  const std::string warning = "FUSETUNE_DUMP=" + dump + ": cannot write";
  const std::size_t first = run.output.find(warning);
  EXPECT_NE(first, std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(warning, first + 1), std::string::npos) << "once, not per compile\n"
                                                                    << run.output;
}

}  // namespace
}  // namespace fusetune
