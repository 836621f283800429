#include "tuner/finalist_rounds.h"

#include <algorithm>
#include <optional>

namespace fusetune {

namespace {

// The q-quantile of sorted values, interpolated linearly between the two nearest.
double quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(position);
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

RoundSummary summarize_rounds(std::vector<double> rounds) {
  std::sort(rounds.begin(), rounds.end());
  const double median = quantile(rounds, 0.5);
  const bool quartiles = rounds.size() >= 4;
  const double low = quartiles ? quantile(rounds, 0.25) : rounds.front();
  const double high = quartiles ? quantile(rounds, 0.75) : rounds.back();
  return {median, low, high, median > 0 ? (high - low) / median : 0};
}

std::vector<std::size_t> contenders(const std::vector<std::vector<double>>& times) {
  std::optional<std::size_t> leader;
  std::vector<RoundSummary> summaries(times.size());
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (times[i].empty()) continue;
    summaries[i] = summarize_rounds(times[i]);
    if (!leader || summaries[i].median_ms < summaries[*leader].median_ms) leader = i;
  }
  if (!leader) return {};
  std::vector<std::size_t> chosen{*leader};
  for (std::size_t i = 0; i < times.size(); ++i)
    if (i != *leader && !times[i].empty() && summaries[i].low_ms <= summaries[*leader].high_ms)
      chosen.push_back(i);
  if (chosen.size() < 2) return {};
  return chosen;
}

}  // namespace fusetune
