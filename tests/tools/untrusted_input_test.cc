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

}  // namespace
}  // namespace fusetune::testing
