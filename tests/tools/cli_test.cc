// The fusetune program as a user runs it: commands that need no GPU, end to end.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

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

// One tuning of `spec` on a made-up GPU as `cache export` writes it, with the given candidates.
nlohmann::json tuning_entry(const std::string& spec, const std::string& device,
                            const std::vector<nlohmann::json>& candidates,
                            const std::string& winner, double winner_ms) {
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
          {"winner_config_json", ""},
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

  const ProgramRun explain = fusetune("cache explain '" + spec + "' --json --db " + a);
  ASSERT_EQ(explain.exit_code, 0) << explain.output;
  const nlohmann::json e = nlohmann::json::parse(explain.output);
  ASSERT_EQ(e["tunings"].size(), 2u);
  const nlohmann::json& on_a =
      e["tunings"][0]["device"] == "GPU A" ? e["tunings"][0] : e["tunings"][1];
  EXPECT_EQ(on_a["explanation"]["winner"]["name"], r[1]["name"]) << "the merged faster row";
  EXPECT_EQ(on_a["explanation"]["runner_up"]["name"], r[0]["name"]);
  EXPECT_DOUBLE_EQ(on_a["explanation"]["margin_percent"].get<double>(), 25.0);
  EXPECT_EQ(on_a["explanation"]["failures"]["compile_error"], 1);
  EXPECT_EQ(on_a["results"].size(), 3u);
  const ProgramRun text = fusetune("cache explain '" + spec + "' --precision fp32 --db " + a);
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("25.0% slower than the winner"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("1 failed (compile_error 1)"), std::string::npos) << text.output;

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

}  // namespace
