// What `fusetune tune --specs` shows of a list's tuning: a line per spec as it finishes, a
// summary table, and one JSON document holding each spec's report.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tuner/tune_auto.h"

namespace fusetune::cli {

// What became of one spec of the list.
struct SpecOutcome {
  std::string spec;                      // canonical
  std::optional<AutoTuneReport> report;  // empty when tuning the spec threw
  bool is_auto = false;                  // tuned under --precision auto
  std::string error;                     // what was thrown, when `report` is empty
  int device = 0;                        // the GPU it was tuned on (unused when compile-only)
  double seconds = 0;                    // wall time spent on it in this run

  bool succeeded() const { return report && report->succeeded(); }
};

// Why the spec failed, in full; empty when it succeeded.
std::string failure(const SpecOutcome& outcome);

// One line: "ft_gemm_... 0.123 ms at fp32, tuned in 12.3 s", "compiled 24/24 in 3.1 s", or
// "failed: ..." (the whole message, which may run over several lines).
std::string result_line(const SpecOutcome& outcome);

// A row per spec: spec, precision, winner, ms, result (from cache, tuned, compiled N/M, failed)
// and the seconds spent on it now.
std::string summary_table(const std::vector<SpecOutcome>& outcomes);

// {"database", "specs", "succeeded", "failed": [specs], "reports": [...]}, where each report is
// what `fusetune tune SPEC --json` prints, or {"spec", "error"} for a spec whose tuning threw.
nlohmann::json to_json(const std::vector<SpecOutcome>& outcomes, const std::string& database);

}  // namespace fusetune::cli
