// The fusetune program as a user runs it: commands that need no GPU, end to end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/database.h"
#include "fusetune/status.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct ProgramRun {
  int exit_code;
  std::string output;  // standard output and standard error
};

fs::path program() { return fs::read_symlink("/proc/self/exe").parent_path() / "fusetune"; }

// Runs the fusetune program built beside this test with `arguments` (shell-quoted by caller).
ProgramRun fusetune(const std::string& arguments) {
  FILE* pipe = popen((program().string() + " " + arguments + " 2>&1").c_str(), "r");
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
  // Writes `text` to the file `name` in the test's folder; returns its path.
  std::string write_file(const std::string& name, const std::string& text) {
    std::ofstream(folder_ / name) << text;
    return (folder_ / name).string();
  }
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
  EXPECT_EQ(bad.exit_code, 2) << "an option value that names nothing is bad usage";
  EXPECT_NE(bad.output.find("names no kernel configuration"), std::string::npos) << bad.output;
}

TEST_F(CliTest, ABadSpecPointsAtTheCharacterAndIsAUsageError) {
  const ProgramRun run =
      fusetune("tune 'linear(m=64, n=64, k=64) -> mul(2.0' --compile-only " + db_);
  EXPECT_EQ(run.exit_code, 2);
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

// A compile-only sweep's cubins are what production loads (Options::no_compile) run from, so a
// prune keeps them, and --dry-run says so first.
TEST_F(CliTest, ACompileOnlySweepListsNoTuningYetAndAPruneKeepsItsCubins) {
  ASSERT_EQ(
      fusetune("tune 'linear(m=64, n=64, k=64)' --compile-only --arch sm_80 " + db_).exit_code, 0);
  const ProgramRun run = fusetune("cache ls " + db_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("0 tuned problems"), std::string::npos) << run.output;
  const std::int64_t stored = fusetune::cache::Database::open((folder_ / "tuning.db").string(),
                                                              fusetune::cache::OpenMode::read_only)
                                  ->binary_count();
  ASSERT_GT(stored, 0);
  const ProgramRun dry = fusetune("cache prune --dry-run " + db_);
  EXPECT_NE(dry.output.find("would remove 0 tunings and 0 binaries"), std::string::npos)
      << dry.output;
  const ProgramRun pruned = fusetune("cache prune " + db_);
  EXPECT_NE(pruned.output.find("removed 0 tunings and 0 binaries"), std::string::npos)
      << pruned.output;
  EXPECT_EQ(fusetune::cache::Database::open((folder_ / "tuning.db").string(),
                                            fusetune::cache::OpenMode::read_only)
                ->binary_count(),
            stored);
}

// Small specs, compiled for sm_90 two candidates each, so that lists stay fast.
constexpr const char* kCompileTwo = " --compile-only --arch sm_90 --max-candidates 2 --json ";

std::vector<std::string> specs_of(const nlohmann::json& document) {
  std::vector<std::string> specs;
  for (const nlohmann::json& report : document["reports"]) specs.push_back(report["spec"]);
  return specs;
}

TEST_F(CliTest, SpecsTunesEachSpecOnceInCanonicalOrderSkippingCommentsAndBlankLines) {
  const std::string list = write_file("list.txt",
                                      "# small problems\n"
                                      "linear(m=64, n=64, k=64) -> relu\n"
                                      "\n"
                                      "linear(m=64,n=64,k=64)->mul(2)  # scaled\n"
                                      "linear(m=64, n=64, k=64)   ->  relu\n");
  const ProgramRun run = fusetune("tune --specs " + list + kCompileTwo + db_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json document = nlohmann::json::parse(run.output);
  EXPECT_EQ(specs_of(document), (std::vector<std::string>{"linear(m=64, n=64, k=64) -> mul(2.0)",
                                                          "linear(m=64, n=64, k=64) -> relu"}));
  EXPECT_EQ(document["specs"], 2);
  EXPECT_TRUE(document["failed"].empty()) << document["failed"];
  for (const nlohmann::json& report : document["reports"]) {
    EXPECT_EQ(report["compile_only"], true) << "each is the report `tune SPEC --json` prints";
    EXPECT_EQ(report["compiled"], 2);
  }

  const ProgramRun text = fusetune("tune --specs " + list + " --compile-only --arch sm_90 " +
                                   "--max-candidates 2 " + db_);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("[2/2] linear(m=64, n=64, k=64) -> relu"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("compiled 2/2 (2 found in the database)"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("2 specs from " + list + ": 2 succeeded, 0 failed"), std::string::npos)
      << text.output;
}

TEST_F(CliTest, SpecsNamesEveryBadLineWithItsCaretAndTunesNothing) {
  const std::string list = write_file("list.txt",
                                      "linear(m=64, n=64, k=64) -> relu\n"
                                      "linear(m=64, n=64, k=64) -> mul(2.0\n"
                                      "# a comment\n"
                                      "linear(m=64, n=64, k=64) -> rleu\n");
  const ProgramRun run = fusetune("tune --specs " + list + kCompileTwo + db_);
  EXPECT_EQ(run.exit_code, 2) << "a list that does not parse is bad usage\n" << run.output;
  EXPECT_NE(run.output.find(list + ":2: invalid spec: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(list + ":4: invalid spec: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("\n  linear(m=64, n=64, k=64) -> mul(2.0\n  "), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find('^'), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(folder_ / "tuning.db")) << "nothing may be tuned";
}

TEST_F(CliTest, ASpecThatFailsLeavesTheOthersToBeTunedAndTheExitStatusOne) {
  // A dilated transposed convolution has no TF32 kernel.
  const std::string transposed =
      "conv_transpose2d(n=1, c=3, h=8, w=8, k=4, kernel=3, dilation=2) -> tanh";
  const std::string list =
      write_file("list.txt", transposed + "\nlinear(m=64, n=64, k=64) -> relu\n");
  const ProgramRun run = fusetune("tune --specs " + list + kCompileTwo + "--precision tf32 " + db_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const nlohmann::json document = nlohmann::json::parse(run.output);
  EXPECT_EQ(document["failed"], nlohmann::json::array({transposed}));
  EXPECT_EQ(document["succeeded"], 1);
  ASSERT_EQ(specs_of(document).size(), 2u);
  EXPECT_NE(document["reports"][0]["error"].get<std::string>().find("no kernel at precision tf32"),
            std::string::npos)
      << document["reports"][0];
  EXPECT_EQ(document["reports"][1]["compiled"], 2);

  const ProgramRun text =
      fusetune("tune --specs " + list + " --compile-only --arch sm_90 --precision tf32 " + db_);
  EXPECT_EQ(text.exit_code, 1) << text.output;
  EXPECT_NE(text.output.find("failed: '" + transposed + "' has no kernel"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("1 succeeded, 1 failed"), std::string::npos) << text.output;
}

TEST_F(CliTest, ShardsPartitionTheListTheSameWayWhateverTheOrderOfItsLines) {
  const std::vector<std::string> lines = {"linear(m=32,n=64,k=64)",   "linear(m=48, n=64, k=64)",
                                          "linear(m=64, n=64, k=64)", "linear(m=80, n=64, k=64)",
                                          "linear(m=96, n=64, k=64)", "linear(m=32, n=64, k=64)"};
  std::string forward, backward;
  for (const std::string& line : lines) forward += line + "\n";
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) backward += *line + "\n";
  const std::string lists[] = {write_file("forward.txt", forward),
                               write_file("backward.txt", backward)};
  std::vector<std::vector<std::string>> shares[2];
  for (int order = 0; order < 2; ++order)
    for (int index = 0; index < 3; ++index) {
      const ProgramRun run =
          fusetune("tune --specs " + lists[order] + " --shard " + std::to_string(index) + "/3" +
                   " --compile-only --arch sm_90 --max-candidates 1 --json " + db_);
      ASSERT_EQ(run.exit_code, 0) << run.output;
      shares[order].push_back(specs_of(nlohmann::json::parse(run.output)));
    }
  EXPECT_EQ(shares[0], shares[1]) << "the shares depend on the list, not on its order";
  std::multiset<std::string> all;
  for (const std::vector<std::string>& share : shares[0]) all.insert(share.begin(), share.end());
  EXPECT_EQ(all, (std::multiset<std::string>{"linear(m=32, n=64, k=64)", "linear(m=48, n=64, k=64)",
                                             "linear(m=64, n=64, k=64)", "linear(m=80, n=64, k=64)",
                                             "linear(m=96, n=64, k=64)"}))
      << "every spec in exactly one share; the duplicate once";
  EXPECT_EQ(shares[0][0],
            (std::vector<std::string>{"linear(m=32, n=64, k=64)", "linear(m=80, n=64, k=64)"}));
}

TEST_F(CliTest, ListOptionsOutOfPlaceAreUsageErrors) {
  const std::string list = write_file("list.txt", "linear(m=64, n=64, k=64)\n");
  const struct {
    std::string arguments;
    std::string message;
  } cases[] = {
      {"--specs " + list + " --shard 3/3", "--shard takes I/N with 0 <= I < N"},
      {"--specs " + list + " --shard 1", "--shard takes I/N"},
      {"'linear(m=64, n=64, k=64)' --shard 0/2", "--shard requires --specs"},
      {"--specs " + list + " --devices 0,1 --compile-only", "excludes"},
      {"--specs " + list + " --devices 0,-1", "--devices"},
      {"'linear(m=64, n=64, k=64)' --specs " + list, "excludes"},
      {"--specs " + list + " --system " + list, "excludes"},  // lists read no system layer
      {"", "a SPEC, --specs FILE or --misses is required"},
  };
  for (const auto& c : cases) {
    const ProgramRun run = fusetune("tune " + c.arguments + " " + db_);
    EXPECT_EQ(run.exit_code, 2) << c.arguments << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.arguments << "\n" << run.output;
  }
  EXPECT_FALSE(fs::exists(folder_ / "tuning.db"));
}

TEST_F(CliTest, ABudgetMustBeAPositiveNumberOfSecondsAndNeedsAGpuSweep) {
  const std::string spec = "'linear(m=64, n=64, k=64)'";
  const std::string list = write_file("list.txt", "linear(m=64, n=64, k=64)\n");
  const std::string positive = "the budget must be a positive number of seconds, e.g. 5";
  const struct {
    std::string arguments;
    std::string message;
  } cases[] = {
      {spec + " --budget-s 0", positive + " (a quarter of an exhaustive sweep's time is a good "
                                          "start); got '0'"},
      {spec + " --budget-s -3", positive},
      {spec + " --budget-s abc", positive},
      {spec + " --budget-s 5s", positive},
      {spec + " --budget-s nan", positive},
      {spec + " --budget-s 1e400", positive},
      {spec + " --budget-s 5 --compile-only", "drop --budget-s, or drop --compile-only"},
      {"--specs " + list + " --budget-s 5 --compile-only --arch sm_80", "drop --budget-s"},
      {spec + " --precision auto --budget-s 5 --compile-only", "drop --budget-s"},
  };
  for (const auto& c : cases) {
    const ProgramRun run = fusetune("tune " + c.arguments + " " + db_);
    EXPECT_EQ(run.exit_code, 2) << c.arguments << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.arguments << "\n" << run.output;
  }
  EXPECT_FALSE(fs::exists(folder_ / "tuning.db"));
}

TEST_F(CliTest, TuneHelpDescribesTheBudget) {
  const ProgramRun run = fusetune("tune --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--budget-s"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("neighbours of the fastest"), std::string::npos) << run.output;
}

TEST_F(CliTest, BenchAgainstAnotherDatabaseIsOffered) {
  const ProgramRun run = fusetune("bench --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--against-db"), std::string::npos) << run.output;
}

TEST_F(CliTest, BenchesTimeAConstantWeightOnRequest) {
  for (const std::string command : {"bench --help", "bench-shapes --help"}) {
    const ProgramRun run = fusetune(command);
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_NE(run.output.find("--constant-weight"), std::string::npos) << run.output;
  }
}

TEST_F(CliTest, BenchesDrawNormalInputsOnRequestAndRefuseOtherDistributions) {
  for (const std::string command : {"bench", "bench-shapes"}) {
    const ProgramRun help = fusetune(command + " --help");
    EXPECT_NE(help.output.find("--inputs"), std::string::npos) << help.output;
    const std::string spec = command == "bench" ? " 'linear(m=8, n=8, k=8)'" : "";
    const ProgramRun bad = fusetune(command + spec + " --inputs gaussian");
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("gaussian"), std::string::npos) << bad.output;
  }
}

// Starts the fusetune program with `arguments`, its output into `log`; returns its process id.
pid_t start_fusetune(const std::vector<std::string>& arguments, const fs::path& log) {
  std::vector<std::string> words = {program().string()};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

// The cubins the database at `path` holds; 0 while it is missing or still being set up.
std::int64_t stored_binaries(const fs::path& path) {
  try {
    return fusetune::cache::Database::open(path, fusetune::cache::OpenMode::read_only)
        ->binary_count();
  } catch (const fusetune::Error&) {
    return 0;
  }
}

// A compile-only sweep killed with SIGKILL part-way: every cubin it committed is intact, and
// running it again compiles only the rest.
TEST_F(CliTest, ASweepKilledPartWayLosesNoCubinAndTheRerunCompilesOnlyTheRest) {
  const fs::path db = folder_ / "tuning.db";
  // The seed at fp32: big GEMM templates, each a fraction of a second to compile, one at a time,
  // so that the sweep is still running for seconds after the first cubins are stored.
  constexpr int kCandidates = 24;
  const std::vector<std::string> command = {
      "tune",
      "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)",
      "--compile-only",
      "--arch",
      "sm_90",
      "--max-candidates",
      std::to_string(kCandidates),
      "--jobs",
      "1",
      "--json",
      "--db",
      db.string()};
  const pid_t pid = start_fusetune(command, folder_ / "killed.log");
  ASSERT_GT(pid, 0);
  // Polled, not slept for: a loaded machine may take a long while to store the first cubins.
  constexpr std::int64_t kStoredBeforeKill = 3;
  std::int64_t seen = 0;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (seen < kStoredBeforeKill && std::chrono::steady_clock::now() < deadline &&
         waitpid(pid, &status, WNOHANG) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = stored_binaries(db);
  }
  kill(pid, SIGKILL);  // also ends the run should the deadline have passed
  const pid_t reaped = waitpid(pid, &status, 0);
  ASSERT_GE(seen, kStoredBeforeKill) << "no cubins stored in 5 minutes";
  ASSERT_TRUE(reaped == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the sweep ended before it was killed; give it more candidates";

  std::int64_t stored = 0;
  {
    const auto database = fusetune::cache::Database::open(db.string());
    const fusetune::Status integrity = database->check_integrity();
    EXPECT_TRUE(integrity.ok()) << integrity.message();
    stored = database->binary_count();
    EXPECT_GE(stored, seen) << "a committed cubin was lost";
  }

  std::string same_command;
  for (const std::string& word : command) same_command += " '" + word + "'";
  const ProgramRun run = fusetune(same_command);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json report = nlohmann::json::parse(run.output);
  EXPECT_EQ(report["candidates"], kCandidates);
  EXPECT_EQ(report["compiled"], kCandidates);
  EXPECT_EQ(report["from_database"], stored) << "every stored cubin found, none compiled again";
}

// One tuning of `spec` on a made-up GPU as `cache export` writes it, with the given candidates, of
// which `winner` is one (an import refuses a winner that names no candidate).
nlohmann::json tuning_entry(const std::string& spec, const std::string& device,
                            const std::vector<nlohmann::json>& candidates,
                            const std::string& winner, double winner_ms) {
  std::string winner_config;
  for (const nlohmann::json& c : candidates)
    if (c["name"] == winner) winner_config = c["config_json"];
  return {{"signature", spec},
          {"precision", "fp32"},
          {"device_name", device},
          {"arch", "sm_80"},
          {"sm_count", 108},
          {"nvrtc_version", "13.0"},
          {"generator_version", "0.0.0+test"},  // no build's: prune removes it
          {"spec", spec},
          {"driver_version", 575},
          {"tuning_seconds", 9.5},
          {"created_at", "2025-01-02T03:04:05Z"},
          {"updated_at", "2025-01-02T03:04:05Z"},
          {"winner", winner},
          {"winner_time_ms", winner_ms},
          {"winner_rel_err", 1e-7},
          {"winner_config_json", winner_config},
          {"candidates", candidates}};
}

// A candidate row for the sweep's result `result` (whose configuration the commands read).
nlohmann::json candidate_entry(const nlohmann::json& result, const std::string& outcome,
                               std::optional<double> ms) {
  return {{"name", result["name"]},
          {"config_json", result["config"].dump()},
          {"outcome", outcome},
          {"time_ms", ms ? nlohmann::json(*ms) : nlohmann::json()},
          {"rel_err", ms ? nlohmann::json(1e-7) : nlohmann::json()},
          {"registers", 64},
          {"smem_bytes", 8192},
          {"spill_bytes", 0},
          {"message", ms ? "" : "it did not compile"},
          {"binary_key", ""},
          {"measured_at", "2025-01-02T03:04:05Z"}};
}

// A sweep's result under another name.
nlohmann::json renamed(nlohmann::json result, const std::string& name) {
  result["name"] = name;
  return result;
}

void write_export(const fs::path& path, const std::vector<nlohmann::json>& tunings) {
  std::ofstream(path) << nlohmann::json{
      {"format", "fusetune-tunings"},
      {"version", 1},
      {"exported_at", "2025-01-02T03:04:05Z"},
      {"tunings", tunings}}.dump(2);
}

TEST_F(CliTest, TuningResultsTravelMergeCompareExplainAndArePruned) {
  const ProgramRun sweep =
      fusetune("tune 'linear(m=64, n=64, k=64) -> relu' --compile-only --arch sm_80 --json " + db_);
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  const nlohmann::json report = nlohmann::json::parse(sweep.output);
  const std::string spec = report["spec"];  // no scalars: the spec is its own signature
  const nlohmann::json& r = report["results"];
  ASSERT_GE(r.size(), 3u);
  write_export(folder_ / "a.json",
               {tuning_entry(spec, "GPU A",
                             {candidate_entry(r[0], "ok", 1.0), candidate_entry(r[1], "ok", 1.25),
                              candidate_entry(r[2], "compile_error", std::nullopt)},
                             r[0]["name"], 1.0)});
  write_export(
      folder_ / "b.json",
      {tuning_entry(spec, "GPU A", {candidate_entry(r[1], "ok", 0.8)}, r[1]["name"], 0.8),
       tuning_entry(spec, "GPU B", {candidate_entry(r[0], "ok", 2.0)}, r[0]["name"], 2.0)});
  const std::string a = (folder_ / "a.db").string(), b = (folder_ / "b.db").string();
  const ProgramRun import_a =
      fusetune("cache import " + (folder_ / "a.json").string() + " --json --db " + a);
  ASSERT_EQ(import_a.exit_code, 0) << import_a.output;
  EXPECT_EQ(nlohmann::json::parse(import_a.output)["tunings_added"], 1);
  ASSERT_EQ(fusetune("cache import " + (folder_ / "b.json").string() + " --db " + b).exit_code, 0);

  const ProgramRun diff = fusetune("cache diff " + a + " " + b + " --json");
  ASSERT_EQ(diff.exit_code, 0) << diff.output;
  const nlohmann::json d = nlohmann::json::parse(diff.output);
  EXPECT_EQ(d["only_in_a"].size(), 0u);
  ASSERT_EQ(d["only_in_b"].size(), 1u);
  EXPECT_EQ(d["only_in_b"][0]["device"], "GPU B");
  ASSERT_EQ(d["different_winners"].size(), 1u);
  EXPECT_EQ(d["different_winners"][0]["a_winner"], r[0]["name"]);
  EXPECT_EQ(d["different_winners"][0]["b_winner"], r[1]["name"]);
  EXPECT_DOUBLE_EQ(d["different_winners"][0]["ratio"].get<double>(), 0.8);

  const ProgramRun merge = fusetune("cache merge " + b + " --json --db " + a);
  ASSERT_EQ(merge.exit_code, 0) << merge.output;
  const nlohmann::json m = nlohmann::json::parse(merge.output);
  EXPECT_EQ(m["tunings_added"], 1);
  EXPECT_EQ(m["tunings_merged"], 1);
  EXPECT_EQ(m["candidates_replaced"], 1);
  EXPECT_EQ(m["winners_to_reverify"], 1) << "B's faster row is timed here before it wins";

  const ProgramRun explain = fusetune("cache explain '" + spec + "' --json --db " + a);
  ASSERT_EQ(explain.exit_code, 0) << explain.output;
  const nlohmann::json e = nlohmann::json::parse(explain.output);
  ASSERT_EQ(e["tunings"].size(), 2u);
  const nlohmann::json& on_a =
      e["tunings"][0]["device"] == "GPU A" ? e["tunings"][0] : e["tunings"][1];
  EXPECT_EQ(on_a["explanation"]["winner"]["name"], r[0]["name"]) << "the winner measured here";
  EXPECT_EQ(on_a["explanation"]["unconfirmed_challenger"], r[1]["name"]) << "the merged faster row";
  EXPECT_EQ(on_a["explanation"]["runner_up"]["name"], r[1]["name"]);
  EXPECT_DOUBLE_EQ(on_a["explanation"]["margin_percent"].get<double>(), -20.0);
  EXPECT_TRUE(on_a["explanation"]["chosen_as"].is_null()) << "the rule would pick the faster row";
  EXPECT_EQ(on_a["explanation"]["failures"]["compile_error"], 1);
  EXPECT_EQ(on_a["results"].size(), 3u);
  const ProgramRun text = fusetune("cache explain '" + spec + "' --precision fp32 --db " + a);
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("merged from elsewhere, ranks ahead of the winner"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("1 failed (compile_error 1)"), std::string::npos) << text.output;
  // Made by another generator: show and ls say the hard key that makes it stale.
  EXPECT_NE(text.output.find("stale: a hard key differs (generator 0.0.0+test"), std::string::npos)
      << text.output;
  const nlohmann::json listed = nlohmann::json::parse(fusetune("cache ls --json --db " + a).output);
  ASSERT_FALSE(listed["tunings"].empty());
  EXPECT_NE(listed["tunings"][0]["stale"].get<std::string>().find("generator 0.0.0+test"),
            std::string::npos);

  const std::string out = (folder_ / "out.json").string();
  EXPECT_EQ(fusetune("cache export " + out + " --spec '" + spec + "' --db " + a).exit_code, 0);
  const ProgramRun again = fusetune("cache export " + out + " --db " + a);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;

  const ProgramRun dry = fusetune("cache prune --dry-run --db " + a);
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_NE(dry.output.find("would remove 2 tunings"), std::string::npos) << dry.output;
  const ProgramRun pruned = fusetune("cache prune --db " + a);
  EXPECT_NE(pruned.output.find("removed 2 tunings"), std::string::npos) << pruned.output;
  EXPECT_NE(fusetune("cache ls --db " + a).output.find("0 tuned problems"), std::string::npos);
}

TEST_F(CliTest, CacheCommandsRefuseBadFilesWithStatusOneAndMissingArgumentsWithTwo) {
  const ProgramRun missing =
      fusetune("cache import " + (folder_ / "missing.json").string() + " " + db_);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no such file"), std::string::npos) << missing.output;

  std::ofstream(folder_ / "cut.json") << R"({"format": "fusetune-tunings", "version": 1, "tun)";
  const ProgramRun cut = fusetune("cache import " + (folder_ / "cut.json").string() + " " + db_);
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.output.find("not valid JSON"), std::string::npos) << cut.output;
  EXPECT_FALSE(fs::exists(folder_ / "tuning.db")) << "a bad file creates no database";

  const ProgramRun merge = fusetune("cache merge " + (folder_ / "cut.json").string() + " " + db_);
  EXPECT_EQ(merge.exit_code, 1);
  EXPECT_NE(merge.output.find("not an SQLite file"), std::string::npos) << merge.output;

  EXPECT_EQ(fusetune("cache import " + db_).exit_code, 2);
  EXPECT_EQ(fusetune("cache diff " + (folder_ / "a.db").string()).exit_code, 2);
}

// A team's system database under the user's: `cache ls` and `cache show` list both, tagged by
// layer, a user tuning hiding the system one of the same key; the system file stays as it was.
TEST_F(CliTest, CacheLsAndShowListTheUserAndSystemLayersTagged) {
  const ProgramRun sweep = fusetune(
      "tune 'linear(m=64, n=64, k=64) -> relu' --compile-only --arch sm_80 --max-candidates 1 "
      "--json " +
      db_);
  ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
  const nlohmann::json report = nlohmann::json::parse(sweep.output);
  const std::string spec = report["spec"];
  const nlohmann::json& row = report["results"][0];  // a configuration `cache show` can read
  const auto tuned = [&](const std::string& device, const std::string& winner, double ms) {
    return tuning_entry(spec, device, {candidate_entry(renamed(row, winner), "ok", ms)}, winner,
                        ms);
  };
  write_export(folder_ / "system.json",
               {tuned("GPU A", "team-a", 2.0), tuned("GPU B", "team-b", 3.0)});
  write_export(folder_ / "user.json",
               {tuned("GPU B", "mine-b", 1.5), tuned("GPU C", "mine-c", 1.0)});
  const std::string system = (folder_ / "system.db").string(),
                    user = (folder_ / "user.db").string();
  ASSERT_EQ(
      fusetune("cache import " + (folder_ / "system.json").string() + " --db " + system).exit_code,
      0);
  ASSERT_EQ(
      fusetune("cache import " + (folder_ / "user.json").string() + " --db " + user).exit_code, 0);
  std::ifstream system_file(system, std::ios::binary);
  const std::string before{std::istreambuf_iterator<char>(system_file), {}};

  const ProgramRun ls = fusetune("cache ls --system " + system + " --db " + user + " --json");
  ASSERT_EQ(ls.exit_code, 0) << ls.output;
  const nlohmann::json listed = nlohmann::json::parse(ls.output);
  EXPECT_EQ(listed["system_database"], system);
  std::set<std::string> seen;
  for (const nlohmann::json& t : listed["tunings"])
    seen.insert(t["winner"].get<std::string>() + "@" + t["layer"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"mine-b@user", "mine-c@user", "team-a@system"}));

  const ProgramRun text = fusetune("cache ls --system " + system + " --db " + user);
  EXPECT_NE(text.output.find("3 tuned problems"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("system"), std::string::npos) << text.output;

  // $FUSETUNE_SYSTEM_DB is the default; show reads the candidates from the layer that has them.
  setenv("FUSETUNE_SYSTEM_DB", system.c_str(), 1);
  const ProgramRun shown = fusetune("cache show '" + spec + "' --json --db " + user);
  unsetenv("FUSETUNE_SYSTEM_DB");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const nlohmann::json s = nlohmann::json::parse(shown.output);
  ASSERT_EQ(s["tunings"].size(), 3u);
  for (const nlohmann::json& t : s["tunings"])
    if (t["layer"] == "system") {
      EXPECT_EQ(t["device"], "GPU A");
      ASSERT_EQ(t["results"].size(), 1u);
      EXPECT_EQ(t["results"][0]["name"], "team-a");
      EXPECT_EQ(t["results"][0]["config"], row["config"]);
    }

  std::ifstream again(system, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(again), {}), before);
  const ProgramRun info = fusetune("info --system " + system);
  EXPECT_NE(info.output.find("system database " + system), std::string::npos) << info.output;
}

TEST_F(CliTest, InfoNamesTheWorkerThatTuneWouldStart) {
  const ProgramRun info = fusetune("info " + db_);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  const std::string beside = (program().parent_path() / "fusetune-worker").string();
  EXPECT_NE(info.output.find("\nworker " + beside + "\n"), std::string::npos) << info.output;
}

}  // namespace
