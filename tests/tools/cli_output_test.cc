// What the fusetune program prints for scripts: every --json document carries the schema version
// README documents; `info --json` describes the installation and `--version` the build. None
// needs a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/tools/program_run.h"
#include "tests/tools/stored_sweep.h"

namespace fusetune::testing {
namespace {

constexpr int kSchemaVersion = 1;  // README, "The command line"
constexpr const char* kSpec = "linear(m=256, n=256, k=256) -> relu";

class CliOutputTest : public ProgramTest {};

// The JSON document `arguments` prints; a test failure (and null) where it is not one.
nlohmann::json json_of(const std::string& arguments) {
  const ProgramRun run = fusetune(arguments);
  EXPECT_EQ(run.exit_code, 0) << arguments << "\n" << run.output;
  try {
    return nlohmann::json::parse(run.output);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << arguments << " printed no JSON document (" << e.what() << "):\n" << run.output;
    return nullptr;
  }
}

TEST_F(CliOutputTest, EveryJsonDocumentCarriesTheSchemaVersion) {
  store_sweep(path("tuning.db"), kSpec, 6);
  store_sweep(path("other.db"), kSpec, 3);
  const std::string spec = std::string("'") + kSpec + "'";
  const std::string list = write_file("list.txt", "linear(m=64, n=64, k=64)\n");
  ASSERT_EQ(fusetune("cache export " + path("out.json") + " " + db_).exit_code, 0);
  const std::vector<std::string> commands = {
      "info --json",
      "cache ls --json " + db_,
      "cache show " + spec + " --json " + db_,
      "cache explain " + spec + " --json " + db_,
      "cache diff " + path("tuning.db") + " " + path("other.db") + " --json",
      "cache merge " + path("other.db") + " --json " + db_,
      "cache import " + path("out.json") + " --json --db " + path("new.db"),
      // One compile, then its cubin serves the list.
      "tune 'linear(m=64, n=64, k=64)' --compile-only --arch sm_90 --max-candidates 1 --json " +
          db_,
      "tune --specs " + list + " --compile-only --arch sm_90 --max-candidates 1 --json " + db_,
  };
  for (const std::string& command : commands) {
    const nlohmann::json document = json_of(command);
    ASSERT_TRUE(document.is_object()) << command;
    EXPECT_EQ(document.value("schema_version", 0), kSchemaVersion) << command << "\n" << document;
  }
}

TEST_F(CliOutputTest, InfoJsonNamesTheVersionsTheDatabasesAndTheGpuOrWhyThereIsNone) {
  const nlohmann::json info = json_of("info --json " + db_);
  EXPECT_TRUE(std::regex_match(info.value("fusetune_version", ""), std::regex(R"(\d+\.\d+\.\d+)")))
      << info;
  EXPECT_TRUE(
      info.value("generator_version", "").starts_with(info.value("fusetune_version", "") + "+"))
      << info;
  EXPECT_FALSE(info.value("nvrtc_version", "").empty()) << info;
  EXPECT_EQ(info["database"], path("tuning.db"));
  EXPECT_EQ(info["database_exists"], false);
  EXPECT_TRUE(info.contains("system_database")) << info;
  EXPECT_NE(info["gpu"].is_null(), info["gpu_problem"].is_null())
      << "a GPU, or the reason there is none\n"
      << info;
  EXPECT_FALSE(std::filesystem::exists(folder_ / "tuning.db")) << "info creates no database";
}

TEST_F(CliOutputTest, VersionNamesTheGeneratorFingerprintAndNvrtc) {
  const ProgramRun run = fusetune("--version");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex(R"(^fusetune \d+\.\d+\.\d+\n)")))
      << run.output;
  EXPECT_TRUE(
      std::regex_search(run.output, std::regex(R"(\ngenerator \d+\.\d+\.\d+\+[0-9a-f]{12}\n)")))
      << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex(R"(\nNVRTC \d+\.\d+\n)"))) << run.output;
}

}  // namespace
}  // namespace fusetune::testing
