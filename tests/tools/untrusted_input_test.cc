// The fusetune program given input from elsewhere, as a specification: odd files as databases,
// damaged or forged imports, and names that carry terminal escapes. Nothing crashes, hangs or
// writes where it should not; every refusal says what happened and what to do.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cache/database.h"
#include "tests/tools/program_run.h"

namespace fusetune::testing {
namespace {

namespace fs = std::filesystem;

class UntrustedInputTest : public ProgramTest {};

TEST_F(UntrustedInputTest, AFifoOrALoopOfLinksAsTheDatabaseIsRefusedByEveryCommand) {
  ASSERT_EQ(mkfifo(path("fifo.db").c_str(), 0600), 0);
  fs::create_symlink("loop.db", path("loop.db"));
  for (const std::string name : {"fifo.db", "loop.db"}) {
    for (const std::string& command : std::vector<std::string>{
             "cache ls", "cache show 'linear(m=64, n=64, k=64)'", "cache prune --dry-run",
             "cache prune", "cache export " + path("out.json"),
             "tune 'linear(m=64, n=64, k=64)' --compile-only --arch sm_80"}) {
      const ProgramRun run = fusetune(command + " --db " + path(name), 20);
      EXPECT_EQ(run.exit_code, 1) << command << ": " << run.output;
      EXPECT_NE(run.output.find(path(name) + ": a"), std::string::npos) << command << run.output;
      EXPECT_EQ(run.output.find("unexpected error"), std::string::npos) << command << run.output;
    }
  }
  EXPECT_FALSE(fs::exists(path("out.json")));
}

// Text that would drive a terminal: clear the screen, set the window title, ring the bell.
constexpr const char* kEscapes = "\x1b[2J\x1b]0;owned\x07";

bool has_control_characters(const std::string& text) {
  return std::ranges::any_of(text,
                             [](unsigned char c) { return (c < 0x20 && c != '\n') || c == 0x7f; });
}

// A configuration the generator reads.
constexpr const char* kGemmSimtConfig =
    R"({"family": "gemm_simt", "warps_m": 2, "warps_n": 2, "lanes_m": 4, "lanes_n": 8,
        "rep_m": 4, "rep_n": 2, "bk": 16, "stages": 3, "lane_n_fastest": false,
        "spread_fill": true, "min_blocks": 1, "vec_a": 1, "vec_b": 1})";

// A database whose texts carry escapes and a byte that is not UTF-8, as one from elsewhere may.
void store_hostile_tuning(const std::string& file) {
  auto db = cache::Database::open(file);
  const std::string name = std::string("ft_") + kEscapes;
  cache::TuningRecord t;
  t.key = {.signature = "linear(m=64, n=64, k=64)",
           .precision = "fp32",
           .device_name = std::string("GPU ") + kEscapes + "\xff",
           .arch = "sm_90",
           .sm_count = 132,
           .nvrtc_version = "0.0",
           .generator_version = "0.0.0"};
  t.spec = std::string("linear(m=64, n=64, k=64)") + kEscapes;
  t.winner = name;
  t.winner_time_ms = 1.0;
  t.winner_config_json = kGemmSimtConfig;
  t.created_at = t.updated_at = "2025-01-02T03:04:05Z";
  const std::int64_t id = db->store_tuning(t);
  cache::CandidateRecord row;
  row.name = name;
  row.config_json = kGemmSimtConfig;
  row.outcome = "ok";
  row.time_ms = 1.0;
  row.message = std::string("boom") + kEscapes;
  row.measured_at = "2025-01-02T03:04:05Z";
  db->store_candidate(id, row);
}

TEST_F(UntrustedInputTest, EscapesInStoredTextNeverReachTheTerminal) {
  store_hostile_tuning(path("tuning.db"));
  for (const std::string command :
       {"cache ls", "cache show 'linear(m=64, n=64, k=64)'",
        "cache explain 'linear(m=64, n=64, k=64)'", "cache prune --dry-run"}) {
    const ProgramRun run = fusetune(command + " " + db_);
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.output;
    EXPECT_FALSE(has_control_characters(run.output)) << command << ": " << run.output;
    EXPECT_NE(run.output.find("\\x1b[2J"), std::string::npos) << "shown, escaped: " << run.output;
  }
}

TEST_F(UntrustedInputTest, JsonOutputStaysValidJsonWhateverTheStoredText) {
  store_hostile_tuning(path("tuning.db"));
  for (const std::string command :
       {"cache ls --json", "cache show 'linear(m=64, n=64, k=64)' --json",
        "cache explain 'linear(m=64, n=64, k=64)' --json"}) {
    const ProgramRun run = fusetune(command + " " + db_ + " 2>/dev/null");
    ASSERT_EQ(run.exit_code, 0) << command << ": " << run.output;
    EXPECT_FALSE(has_control_characters(run.output)) << command << ": " << run.output;
    const nlohmann::json j = nlohmann::json::parse(run.output);  // throws on invalid JSON
    EXPECT_EQ(j["tunings"][0]["winner"], std::string("ft_") + kEscapes) << command;
  }
}

TEST_F(UntrustedInputTest, EscapesInAFileToImportNeverReachTheTerminalThroughAMessage) {
  const std::string file = write_file(
      "bad.json",
      nlohmann::json{
          {"format", "fusetune-tunings"},
          {"version", 1},
          {"exported_at", "2025-01-02T03:04:05Z"},
          {"tunings", {{{"signature", std::string("linear") + kEscapes}, {"sm_count", "many"}}}}}
          .dump());
  const ProgramRun run = fusetune("cache import " + file + " " + db_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("\"precision\" is missing"), std::string::npos) << run.output;
  EXPECT_FALSE(has_control_characters(run.output)) << run.output;
}

// A tuning whose winner's configuration has BK 0 (a division by zero, were it generated) and a row
// whose configuration is no configuration at all.
void store_forged_tuning(const std::string& file) {
  auto db = cache::Database::open(file);
  nlohmann::json forged = nlohmann::json::parse(kGemmSimtConfig);
  forged["bk"] = 0;
  cache::TuningRecord t;
  t.key = {.signature = "linear(m=64, n=64, k=64)",
           .precision = "fp32",
           .device_name = "GPU",
           .arch = "sm_90",
           .sm_count = 132,
           .nvrtc_version = "0.0",
           .generator_version = "0.0.0"};
  t.spec = t.key.signature;
  t.winner = "ft_forged";
  t.winner_time_ms = 1.0;
  t.winner_config_json = forged.dump();
  t.created_at = t.updated_at = "2025-01-02T03:04:05Z";
  const std::int64_t id = db->store_tuning(t);
  cache::CandidateRecord row;
  row.name = "ft_forged";
  row.config_json = forged.dump();
  row.outcome = "ok";
  row.time_ms = 1.0;
  row.measured_at = "2025-01-02T03:04:05Z";
  db->store_candidate(id, row);
  row.name = "ft_nothing";
  row.config_json = "{}";
  row.time_ms = 2.0;
  db->store_candidate(id, row);
}

TEST_F(UntrustedInputTest, ShowAndExplainListARefusedConfigurationAsRefused) {
  store_forged_tuning(path("tuning.db"));
  for (const std::string command : {"cache show", "cache explain"}) {
    const ProgramRun run = fusetune(command + " 'linear(m=64, n=64, k=64)' --json " + db_);
    ASSERT_EQ(run.exit_code, 0) << command << ": " << run.output;
    const nlohmann::json results = nlohmann::json::parse(run.output)["tunings"][0]["results"];
    ASSERT_EQ(results.size(), 2u) << command;
    for (const nlohmann::json& result : results) {
      EXPECT_TRUE(result["config"].is_null()) << result;
      EXPECT_TRUE(result["config_refused"].is_string()) << result;
    }
    EXPECT_NE(results[0]["config_refused"].get<std::string>().find("gemm_simt.bk"),
              std::string::npos)
        << results[0];
  }
  const ProgramRun text = fusetune("cache explain 'linear(m=64, n=64, k=64)' " + db_);
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("refused    the winner's configuration"), std::string::npos)
      << text.output;
}

// The generator and NVRTC versions of this build, as `fusetune info` prints them.
std::pair<std::string, std::string> build_versions() {
  const std::string info = fusetune("info").output;
  const std::size_t generator = info.find("(generator ") + 11;
  const std::size_t nvrtc = info.find("NVRTC ") + 6;
  return {info.substr(generator, info.find(')', generator) - generator),
          info.substr(nvrtc, info.find('\n', nvrtc) - nvrtc)};
}

// An export of one tuning of `spec` on an H100 by this build, with `results` (from `tune --json`)
// as its candidates at `times`, the first the winner.
std::string export_of(const std::string& spec, const nlohmann::json& results,
                      const std::vector<double>& times) {
  const auto [generator, nvrtc] = build_versions();
  nlohmann::json candidates = nlohmann::json::array();
  for (std::size_t i = 0; i < times.size(); ++i)
    candidates.push_back({{"name", results[i]["name"]},
                          {"config_json", results[i]["config"].dump()},
                          {"outcome", "ok"},
                          {"time_ms", times[i]},
                          {"rel_err", 1e-7},
                          {"registers", 64},
                          {"smem_bytes", 8192},
                          {"spill_bytes", 0},
                          {"message", ""},
                          {"binary_key", ""},
                          {"measured_at", "2025-01-02T03:04:05Z"}});
  const nlohmann::json tuning = {{"signature", spec},
                                 {"precision", "fp32"},
                                 {"device_name", "NVIDIA H100 80GB HBM3"},
                                 {"arch", "sm_90"},
                                 {"sm_count", 132},
                                 {"nvrtc_version", nvrtc},
                                 {"generator_version", generator},
                                 {"spec", spec},
                                 {"driver_version", 13000},
                                 {"tuning_seconds", 9.5},
                                 {"created_at", "2025-01-02T03:04:05Z"},
                                 {"updated_at", "2025-01-02T03:04:05Z"},
                                 {"winner", results[0]["name"]},
                                 {"winner_time_ms", times[0]},
                                 {"winner_rel_err", 1e-7},
                                 {"winner_config_json", results[0]["config"].dump()},
                                 {"candidates", candidates}};
  return nlohmann::json{{"format", "fusetune-tunings"},
                        {"version", 1},
                        {"exported_at", "2025-01-02T03:04:05Z"},
                        {"tunings", {tuning}}}
      .dump();
}

class ImportTest : public UntrustedInputTest {
 protected:
  void SetUp() override {
    UntrustedInputTest::SetUp();
    const ProgramRun sweep = fusetune("tune '" + std::string(kSpec) +
                                      "' --compile-only --arch sm_90 --max-candidates 3 --json "
                                      "--db " +
                                      path("sweep.db"));
    ASSERT_EQ(sweep.exit_code, 0) << sweep.output;
    results_ = nlohmann::json::parse(sweep.output)["results"];
    ASSERT_GE(results_.size(), 3u);
  }
  // Imports `text` into the test's database; the summary, or the refusal.
  ProgramRun import(const std::string& text, const std::string& name = "in.json") {
    return fusetune("cache import " + write_file(name, text) + " --json " + db_);
  }
  std::string listed() { return fusetune("cache ls --json " + db_).output; }

  static constexpr const char* kSpec = "linear(m=1024, n=1024, k=1024) -> relu";  // 2.1 GFLOP
  nlohmann::json results_;
};

TEST_F(ImportTest, ATimeNoGpuOfTheArchCouldRunIsRefusedAndNothingImported) {
  const ProgramRun run = import(export_of(kSpec, results_, {1e-6, 0.05}));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("TFLOP/s, beyond the 1980 TFLOP/s no sm_90 GPU reaches"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("Nothing was merged"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(path("tuning.db"))) << "refused before the database was opened";
}

TEST_F(ImportTest, AConfigurationTheGeneratorRefusesIsRefusedNamingTheSpecAndTunable) {
  nlohmann::json forged = results_;
  forged[0]["config"]["bk"] = 0;
  const ProgramRun run = import(export_of(kSpec, forged, {0.05, 0.06}));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("gemm_simt.bk"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(kSpec), std::string::npos) << run.output;
}

TEST_F(ImportTest, AFasterImportedResultWaitsForTuneBeforeItDisplacesTheLocalWinner) {
  ASSERT_EQ(import(export_of(kSpec, results_, {0.05, 0.06})).exit_code, 0);
  const std::string local_winner = results_[0]["name"];
  const nlohmann::json swapped = nlohmann::json::array({results_[1], results_[0]});
  const ProgramRun run =
      fusetune("cache import " +
               write_file("faster.json", export_of(kSpec, swapped, {0.03, 0.05})) + " " + db_);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("1 winners measured here stay until faster results"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("tune --misses"), std::string::npos) << run.output;
  EXPECT_EQ(nlohmann::json::parse(listed())["tunings"][0]["winner"], local_winner);
}

TEST_F(ImportTest, CubinsComeAlongOnlyWithTrustBinaries) {
  {
    auto db = cache::Database::open(path("shard.db"));
    cache::TuningRecord t;
    t.key = {"linear(m=64, n=64, k=64)", "fp32", "GPU", "sm_90", 132, "0.0", "0.0.0"};
    t.spec = t.key.signature;
    t.winner = "ft_w";
    t.winner_time_ms = 1.0;
    t.winner_config_json = kGemmSimtConfig;
    t.created_at = t.updated_at = "2025-01-02T03:04:05Z";
    cache::CandidateRecord row;
    row.name = "ft_w";
    row.config_json = kGemmSimtConfig;
    row.outcome = "ok";
    row.time_ms = 1.0;
    row.binary_key = "bin-w";
    row.measured_at = "2025-01-02T03:04:05Z";
    db->store_candidate(db->store_tuning(t), row);
    cache::BinaryRecord binary;
    binary.key = "bin-w";
    binary.arch = "sm_90";
    binary.nvrtc_version = "0.0";
    binary.cubin = {'x'};
    db->store_binary(binary);
  }
  ASSERT_EQ(
      fusetune("cache export " + path("shard.json") + " --with-binaries --db " + path("shard.db"))
          .exit_code,
      0);
  for (const std::string& command : std::vector<std::string>{"cache import " + path("shard.json"),
                                                             "cache merge " + path("shard.db")}) {
    fs::remove(path("tuning.db"));
    const ProgramRun plain = fusetune(command + " --json " + db_);
    ASSERT_EQ(plain.exit_code, 0) << plain.output;
    EXPECT_EQ(nlohmann::json::parse(plain.output)["binaries_copied"], 0) << command;
    EXPECT_EQ(nlohmann::json::parse(plain.output)["binaries_left_out"], 1) << command;
    fs::remove(path("tuning.db"));
    const ProgramRun trusted = fusetune(command + " --trust-binaries --json " + db_);
    ASSERT_EQ(trusted.exit_code, 0) << trusted.output;
    EXPECT_EQ(nlohmann::json::parse(trusted.output)["binaries_copied"], 1) << command;
  }
}

}  // namespace
}  // namespace fusetune::testing
