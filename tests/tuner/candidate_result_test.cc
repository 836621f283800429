// Stored rows read back as results, as a specification: a row's configuration is checked as a
// generated one before a sweep re-runs, re-times or reports it; a row whose configuration the
// generator refuses is left out, and reading it alone says why.
#include "tuner/candidate_result.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {


cache::CandidateRecord row(const Candidate& c, std::string config_json) {
  cache::CandidateRecord r;
  r.name = c.name;
  r.config_json = std::move(config_json);
  r.outcome = "ok";
  r.time_ms = 1.0;
  return r;
}

TEST(StoredResults, RowsWhoseConfigurationTheGeneratorRefusesAreLeftOut) {
  const Spec spec = parse_spec("linear(m=1024, n=1024, k=1024) -> bias -> relu");
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  const std::vector<Candidate> space = search_space(spec, limits, Precision::fp32);
  nlohmann::json forged = nlohmann::json::parse(config_json(space[1].config));
  forged["bk"] = 0;
  const std::vector<cache::CandidateRecord> rows = {
      row(space[0], config_json(space[0].config)), row(space[1], forged.dump()),
      row(space[2], "{}"), row(space[3], config_json(space[3].config))};
  const std::vector<CandidateResult> results = stored_results(rows, spec, limits);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].config, space[0].config);
  EXPECT_EQ(results[1].config, space[3].config);

  const std::optional<Error> error = error_of([&] { from_record(rows[1], spec, limits); });
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->what()).find("gemm_simt.bk"), std::string::npos) << error->what();
}

}  // namespace
}  // namespace fusetune
