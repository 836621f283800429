// Shows a sweep's progress on standard error: a bar redrawn in place on a terminal, a line
// every tenth of the way otherwise (logs, CI).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "tuner/tune.h"

namespace fusetune::cli {

class ProgressBar final : public TuneObserver {
 public:
  explicit ProgressBar(std::string verb);  // "tuning", "compiling"
  void started(int candidates, const std::string& device, std::string_view precision,
               std::optional<double> budget_s) override;
  void finished_candidate(const CandidateResult& result, int done, int total,
                          std::optional<double> best_ms) override;
  void screened() override;

 private:
  // How far the sweep is, 0 to 1: the share of the space screened, or under a budget the share
  // of its time spent (a budgeted search screens a part of the space it cannot name ahead).
  double fraction(int done, int total, double seconds) const;

  std::string verb_;
  bool terminal_;
  std::optional<double> budget_s_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fusetune::cli
