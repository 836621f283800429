// The fusetune program given input from elsewhere, as a specification: odd files as databases,
// damaged or forged imports, and names that carry terminal escapes. Nothing crashes, hangs or
// writes where it should not; every refusal says what happened and what to do.
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace fusetune::testing
