#include "tools/landscape.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "fusetune/status.h"
#include "generator/generator.h"

namespace fusetune::cli {
namespace {

Fate fate_of(const cache::TuningRecord& tuning, const cache::CandidateRecord& c) {
  if (!tuning.winner.empty() && c.name == tuning.winner && c.time_ms) return Fate::winner;
  if (c.outcome == "ok" && c.time_ms) return Fate::timed;
  if (c.outcome == "slower" && c.time_ms) return Fate::screened;
  if (c.outcome == "wrong_result") return Fate::over_tolerance;
  return Fate::failed;
}

// "gemm_simt.bm" -> "128" for every tunable of the stored configuration, as the family's table
// reads it (generator.h); nullopt where this build cannot read it.
std::optional<std::map<std::string, std::string>> settings_of(const std::string& config_json) {
  std::map<std::string, std::string> settings;
  try {
    for (const std::string& setting : tunable_settings(config_from_json(config_json))) {
      const std::size_t equals = setting.find('=');
      std::string value = setting.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      settings[setting.substr(0, equals)] = value;
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  if (settings.empty()) return std::nullopt;
  settings["family"] = settings.begin()->first.substr(0, settings.begin()->first.find('.'));
  return settings;
}

std::optional<double> number(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Numbers by value before words by text: bm reads 32, 64, 128, not 128, 32, 64.
bool value_before(const std::string& a, const std::string& b) {
  const std::optional<double> x = number(a), y = number(b);
  if (x && y) return *x < *y;
  if (x || y) return x.has_value();
  return a < b;
}

double cost_of_worst_value(const std::vector<LandscapePoint>& points, const std::string& key) {
  std::map<std::string, double> best;  // per value
  for (const LandscapePoint& p : points) {
    const auto setting = p.settings.find(key);
    if (!p.time_ms || setting == p.settings.end()) continue;
    const auto [it, added] = best.emplace(setting->second, *p.time_ms);
    if (!added) it->second = std::min(it->second, *p.time_ms);
  }
  if (best.size() < 2) return 1;
  const auto [fastest, slowest] = std::ranges::minmax_element(
      best, [](const auto& a, const auto& b) { return a.second < b.second; });
  return fastest->second > 0 ? slowest->second / fastest->second : 1;
}

}  // namespace

Landscape landscape_of(const cache::TuningRecord& tuning,
                       const std::vector<cache::CandidateRecord>& candidates) {
  Landscape landscape;
  std::map<std::string, std::set<std::string>> values;  // per tunable
  for (const cache::CandidateRecord& c : candidates) {
    std::optional<std::map<std::string, std::string>> settings = settings_of(c.config_json);
    if (!settings) {
      ++landscape.unreadable;
      continue;
    }
    for (const auto& [key, value] : *settings) values[key].insert(value);
    const Fate fate = fate_of(tuning, c);
    const bool timed = fate == Fate::winner || fate == Fate::timed || fate == Fate::screened;
    landscape.points.push_back({.name = c.name,
                                .outcome = c.outcome,
                                .fate = fate,
                                .time_ms = timed ? c.time_ms : std::nullopt,
                                .settings = std::move(*settings)});
    if (!timed) continue;
    landscape.fastest_ms = std::min(landscape.fastest_ms.value_or(*c.time_ms), *c.time_ms);
    landscape.slowest_ms = std::max(landscape.slowest_ms.value_or(*c.time_ms), *c.time_ms);
  }
  for (auto& [key, seen] : values) {
    if (seen.size() < 2) {
      if (key != "family") landscape.fixed.push_back(key + "=" + *seen.begin());
      continue;
    }
    TunableAxis axis{.key = key, .values = {seen.begin(), seen.end()}};
    std::ranges::sort(axis.values, value_before);
    axis.cost_of_worst_value = cost_of_worst_value(landscape.points, key);
    landscape.axes.push_back(std::move(axis));
  }
  std::ranges::stable_sort(landscape.axes, [](const TunableAxis& a, const TunableAxis& b) {
    return a.cost_of_worst_value > b.cost_of_worst_value;
  });
  return landscape;
}

}  // namespace fusetune::cli
