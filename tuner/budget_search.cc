#include "tuner/budget_search.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace fusetune {
namespace {

// Parents of the next batch: this many of the fastest measured, and each family's fastest.
constexpr std::size_t kBeamWidth = 4;
// The share of a later batch spent on the next best predicted rather than on neighbours.
constexpr std::size_t kExploreDivisor = 4;

}  // namespace

BudgetSearch::BudgetSearch(const std::vector<Candidate>& space) {
  std::vector<std::size_t> rank_in_family(space.size()), family_order;
  std::vector<std::size_t> seen(std::variant_size_v<KernelConfig>, 0);
  for (const Candidate& c : space) {
    Entry entry{c.config.index(), {}, false, std::nullopt};
    const nlohmann::json settings = nlohmann::json::parse(config_json(c.config));
    for (const auto& [name, value] : settings.items())
      entry.settings.push_back(name + "=" + value.dump());
    rank_in_family[entries_.size()] = seen[entry.family]++;
    if (rank_in_family[entries_.size()] == 0) family_order.push_back(entry.family);
    entries_.push_back(std::move(entry));
  }
  // As best_predicted takes them: each family's first, then each one's second, ...
  auto turn = [&](std::size_t i) {
    const auto family = std::ranges::find(family_order, entries_[i].family);
    return std::pair(rank_in_family[i], family - family_order.begin());
  };
  turns_.resize(space.size());
  for (std::size_t i = 0; i < turns_.size(); ++i) turns_[i] = i;
  std::ranges::stable_sort(turns_, {}, turn);
}

void BudgetSearch::measured(std::size_t index, std::optional<double> time_ms) {
  entries_[index].tried = true;
  entries_[index].time_ms = time_ms;
}

std::vector<std::size_t> BudgetSearch::parents() const {
  std::vector<std::size_t> timed;
  for (std::size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].time_ms) timed.push_back(i);
  std::ranges::stable_sort(timed, {}, [&](std::size_t i) { return *entries_[i].time_ms; });
  std::vector<std::size_t> chosen;
  for (std::size_t i : timed) {
    const bool family_new = std::ranges::none_of(
        chosen, [&](std::size_t p) { return entries_[p].family == entries_[i].family; });
    if (chosen.size() < kBeamWidth || family_new) chosen.push_back(i);
  }
  return chosen;
}

int BudgetSearch::differences(std::size_t a, std::size_t b) const {
  if (entries_[a].family != entries_[b].family) return -1;
  const std::vector<std::string>& x = entries_[a].settings;
  const std::vector<std::string>& y = entries_[b].settings;
  // A setting only one of them has counts as a difference.
  int count = static_cast<int>(std::max(x.size(), y.size()) - std::min(x.size(), y.size()));
  for (std::size_t s = 0; s < std::min(x.size(), y.size()); ++s) count += x[s] != y[s];
  return count;
}

std::vector<std::size_t> BudgetSearch::next_batch(std::size_t size) {
  std::vector<std::size_t> batch;
  auto take = [&](std::size_t i) {
    entries_[i].tried = true;
    batch.push_back(i);
  };
  const std::vector<std::size_t> from = parents();
  const std::size_t explore = from.empty() ? size : size / kExploreDivisor;
  for (int distance = 1; distance <= 2; ++distance)
    for (std::size_t parent : from)
      for (std::size_t i = 0; i < entries_.size() && batch.size() + explore < size; ++i)
        if (!entries_[i].tried && differences(parent, i) == distance) take(i);
  for (std::size_t i : turns_)
    if (batch.size() < size && !entries_[i].tried) take(i);
  return batch;
}

FinalistPlan plan_finalists(double seconds, double run_s, int max_finalists, int max_rounds) {
  const int runs = std::max(1, static_cast<int>(std::floor(seconds / std::max(run_s, 1e-6))));
  FinalistPlan plan;
  const int most = std::max(1, max_finalists);
  plan.finalists = std::clamp(runs / 2, std::min({2, runs, most}), most);
  plan.rounds = std::clamp(runs / plan.finalists, 1, std::max(1, max_rounds));
  return plan;
}

}  // namespace fusetune
