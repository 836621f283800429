#include "tuner/finalist_rounds.h"

#include <algorithm>
#include <optional>

namespace fusetune {

RoundSummary summarize_rounds(std::vector<double> rounds) {
  std::sort(rounds.begin(), rounds.end());
  const std::size_t n = rounds.size();
  const double median = n % 2 ? rounds[n / 2] : (rounds[n / 2 - 1] + rounds[n / 2]) / 2;
  return {median, rounds.front(), rounds.back(),
          median > 0 ? (rounds.back() - rounds.front()) / median : 0};
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
