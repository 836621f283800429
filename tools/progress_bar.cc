#include "tools/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace fusetune::cli {

ProgressBar::ProgressBar(std::string verb)
    : verb_(std::move(verb)), terminal_(isatty(STDERR_FILENO) == 1) {}

void ProgressBar::started(int candidates, const std::string& device, std::string_view precision,
                          std::optional<double> budget_s) {
  start_ = std::chrono::steady_clock::now();
  last_decile_ = -1;  // a sweep under --precision auto is several sweeps, one per precision
  budget_s_ = budget_s;
  if (budget_s)
    fmt::print(stderr, "{} within {:.1f} s, from {} candidates at {} on {}\n", verb_, *budget_s,
               candidates, precision, device);
  else
    fmt::print(stderr, "{} {} candidates at {} on {}\n", verb_, candidates, precision, device);
}

double ProgressBar::fraction(int done, int total, double seconds) const {
  if (budget_s_) return std::min(1.0, seconds / *budget_s_);
  return total ? static_cast<double>(done) / total : 1.0;
}

void ProgressBar::finished_candidate(const CandidateResult& result, int done, int total,
                                     std::optional<double> best_ms) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string best = best_ms ? fmt::format("  best {:.3f} ms", *best_ms) : "";
  const std::string count =
      budget_s_ ? fmt::format("{:>4} screened", done) : fmt::format("{:>4}/{}", done, total);
  const std::string time = budget_s_ ? fmt::format("{:.0f}/{:.0f} s", seconds, *budget_s_)
                                     : fmt::format("{:.0f} s", seconds);
  const double part = fraction(done, total, seconds);
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(part * kWidth);
    fmt::print(stderr, "\r\x1b[2K[{}{}] {}{}  {}  {}", std::string(filled, '#'),
               std::string(kWidth - filled, '.'), count, best, time, result.name);
    if (done == total) fmt::print(stderr, "\r\x1b[2K");
    std::fflush(stderr);
    return;
  }
  const int decile = static_cast<int>(part * 10);
  if (decile != last_decile_) {
    last_decile_ = decile;
    fmt::print(stderr, "{} candidates{}  {}\n", count, best, time);
  }
}

void ProgressBar::screened() {
  if (!terminal_) return;
  fmt::print(stderr, "\r\x1b[2K");  // the bar of a budgeted search, which stops part-way
  std::fflush(stderr);
}

}  // namespace fusetune::cli
