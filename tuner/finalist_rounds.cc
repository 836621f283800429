#include "tuner/finalist_rounds.h"

#include <algorithm>
#include <cmath>
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
  if (median <= 0) return {median, 0, 0};
  if (rounds.size() < 4) {
    const double range = (rounds.back() - rounds.front()) / median;
    return {median, range, range};
  }
  const double middle_half = (quantile(rounds, 0.75) - quantile(rounds, 0.25)) / median;
  return {median, middle_half, middle_half / std::sqrt(static_cast<double>(rounds.size()))};
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
  const RoundSummary& lead = summaries[*leader];
  const double lead_high = lead.median_ms * (1 + lead.noise);
  std::vector<std::size_t> chosen{*leader};
  for (std::size_t i = 0; i < times.size(); ++i)
    if (i != *leader && !times[i].empty() &&
        summaries[i].median_ms * (1 - summaries[i].noise) <= lead_high)
      chosen.push_back(i);
  if (chosen.size() < 2) return {};
  return chosen;
}

}  // namespace fusetune
