// `fusetune cache plot SPEC` as a user runs it: an SVG picture of a stored tuning's landscape, one
// panel per tunable with the costliest first, every candidate marked by its fate and named in its
// tooltip; refused, saying why, where there is nothing to draw. None needs a GPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/tools/program_run.h"
#include "tests/tools/stored_sweep.h"

namespace fusetune::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSpec = "linear(m=256, n=256, k=256) -> relu";

int occurrences(const std::string& text, const std::string& part) {
  int count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class CachePlotTest : public ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    sweep_ = store_sweep(path("tuning.db"), kSpec);
  }
  StoredSweep sweep_;
};

TEST_F(CachePlotTest, DrawsEveryCandidateByItsFateWithTheDecidingTunableFirst) {
  const ProgramRun run = fusetune("cache plot '" + std::string(kSpec) + "' " + db_ + " --out " +
                                  path("landscape.svg"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("wrote " + path("landscape.svg")), std::string::npos) << run.output;
  const std::string svg = file_text(folder_ / "landscape.svg");
  ASSERT_TRUE(svg.starts_with("<?xml")) << svg.substr(0, 200);
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_EQ(occurrences(svg, "<g "), occurrences(svg, "</g>"));

  const int panels = occurrences(svg, "<g class=\"panel\"");
  ASSERT_GE(panels, 2) << "the space varies more than one tunable";
  const std::size_t first_panel = svg.find("<g class=\"panel\"");
  EXPECT_EQ(svg.find(std::string("data-tunable=\"") + kDecidingTunable + "\""),
            svg.find("data-tunable=", first_panel))
      << "the tunable that decides the time is the costliest, so the first panel";
  // Each panel draws every candidate of the family once, the winner in gold, named on hovering.
  EXPECT_EQ(occurrences(svg, "<title>" + sweep_.winner + ": "), panels);
  EXPECT_EQ(occurrences(svg, "<polygon class=\"winner\""), panels + 1) << "and in the legend";
  EXPECT_EQ(occurrences(svg, "<path class=\"failed\""), panels * sweep_.failed + 1);
  EXPECT_EQ(occurrences(svg, "<polygon class=\"over-tolerance\""),
            panels * sweep_.over_tolerance + 1);
  EXPECT_EQ(occurrences(svg, "<circle class=\"screened\""), panels * sweep_.screened + 1);
  const int timed = sweep_.candidates - sweep_.failed - sweep_.over_tolerance - sweep_.screened;
  EXPECT_EQ(occurrences(svg, "<circle class=\"timed\""), panels * (timed - 1) + 1);
  EXPECT_NE(svg.find(fmt::format("{} candidates: {} timed in full, {} screened out, {} over "
                                 "tolerance, {} failed",
                                 sweep_.candidates, timed, sweep_.screened, sweep_.over_tolerance,
                                 sweep_.failed)),
            std::string::npos);
}

TEST_F(CachePlotTest, WritesBesideTheUserNamedAfterTheSpecAndPrecisionByDefault) {
  const std::string command = "cd '" + folder_.string() + "' && " + program().string() +
                              " cache plot '" + kSpec + "' " + db_ + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_TRUE(fs::exists(folder_ / "linear_m_256_n_256_k_256_relu.fp32.svg"));
}

TEST_F(CachePlotTest, RefusesWhereThereIsNothingToDrawSayingWhy) {
  const ProgramRun untuned =
      fusetune("cache plot 'linear(m=64, n=64, k=64)' " + db_ + " --out " + path("untuned.svg"));
  EXPECT_EQ(untuned.exit_code, 1) << untuned.output;
  EXPECT_NE(untuned.output.find("holds no tuning of 'linear(m=64, n=64, k=64)', so there is "
                                "nothing to plot; `fusetune tune \"linear(m=64, n=64, k=64)\"`"),
            std::string::npos)
      << untuned.output;
  const ProgramRun other_precision =
      fusetune("cache plot '" + std::string(kSpec) + "' --precision tf32 " + db_);
  EXPECT_EQ(other_precision.exit_code, 1) << other_precision.output;
  EXPECT_NE(other_precision.output.find("at precision tf32"), std::string::npos)
      << other_precision.output;
  const ProgramRun bad_spec = fusetune("cache plot 'linear(m=64, n=64)' " + db_);
  EXPECT_EQ(bad_spec.exit_code, 2) << bad_spec.output;
  const ProgramRun no_database =
      fusetune("cache plot '" + std::string(kSpec) + "' --db " + path("missing.db"));
  EXPECT_EQ(no_database.exit_code, 1) << no_database.output;
  EXPECT_FALSE(fs::exists(folder_ / "missing.db"));
  EXPECT_FALSE(fs::exists(folder_ / "untuned.svg")) << "a refusal writes nothing";
}

}  // namespace
}  // namespace fusetune::testing
