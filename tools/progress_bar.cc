#include "tools/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace fusetune::cli {

ProgressBar::ProgressBar(std::string verb)
    : verb_(std::move(verb)), terminal_(isatty(STDERR_FILENO) == 1) {}

void ProgressBar::started(int candidates, const std::string& device, std::string_view precision) {
  start_ = std::chrono::steady_clock::now();
  last_decile_ = -1;  // a sweep under --precision auto is several sweeps, one per precision
  fmt::print(stderr, "{} {} candidates at {} on {}\n", verb_, candidates, precision, device);
}

void ProgressBar::finished_candidate(const CandidateResult& result, int done, int total,
                                     std::optional<double> best_ms) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string best = best_ms ? fmt::format("  best {:.3f} ms", *best_ms) : "";
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = total ? done * kWidth / total : kWidth;
    fmt::print(stderr, "\r\x1b[2K[{}{}] {:>4}/{}{}  {:.0f} s  {}", std::string(filled, '#'),
               std::string(kWidth - filled, '.'), done, total, best, seconds, result.name);
    if (done == total) fmt::print(stderr, "\r\x1b[2K");
    std::fflush(stderr);
    return;
  }
  const int decile = total ? done * 10 / total : 10;
  if (decile != last_decile_) {
    last_decile_ = decile;
    fmt::print(stderr, "{:>4}/{} candidates{}  {:.0f} s\n", done, total, best, seconds);
  }
}

}  // namespace fusetune::cli
