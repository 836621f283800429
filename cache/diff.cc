#include "cache/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace fusetune::cache {
namespace {

auto key_order(const TuningKey& k) {
  return std::tie(k.signature, k.precision, k.device_name, k.arch, k.sm_count, k.nvrtc_version,
                  k.generator_version);
}

struct KeyLess {
  bool operator()(const TuningKey& x, const TuningKey& y) const {
    return key_order(x) < key_order(y);
  }
};

using TuningsByKey = std::map<TuningKey, TuningRecord, KeyLess>;

TuningsByKey by_key(Database& db) {
  TuningsByKey tunings;
  for (TuningRecord& tuning : db.tunings()) tunings.emplace(tuning.key, std::move(tuning));
  return tunings;
}

TuningDiff compare(const TuningKey& key, const TuningRecord* a, const TuningRecord* b) {
  TuningDiff diff;
  diff.key = key;
  diff.spec = a != nullptr ? a->spec : b->spec;
  if (a != nullptr) {
    diff.a_winner = a->winner;
    diff.a_time_ms = a->winner_time_ms;
  }
  if (b != nullptr) {
    diff.b_winner = b->winner;
    diff.b_time_ms = b->winner_time_ms;
  }
  using Kind = TuningDiff::Kind;
  diff.kind = b == nullptr             ? Kind::only_in_a
              : a == nullptr           ? Kind::only_in_b
              : a->winner == b->winner ? Kind::same_winner
                                       : Kind::different_winners;
  return diff;
}

}  // namespace

std::optional<double> TuningDiff::ratio() const {
  if (!a_time_ms || !b_time_ms || *a_time_ms <= 0) return std::nullopt;
  return *b_time_ms / *a_time_ms;
}

std::vector<TuningDiff> diff_databases(Database& a, Database& b) {
  const TuningsByKey in_a = by_key(a);
  const TuningsByKey in_b = by_key(b);
  std::vector<TuningDiff> diffs;
  for (const auto& [key, tuning] : in_a) {
    auto other = in_b.find(key);
    diffs.push_back(compare(key, &tuning, other != in_b.end() ? &other->second : nullptr));
  }
  for (const auto& [key, tuning] : in_b)
    if (!in_a.contains(key)) diffs.push_back(compare(key, nullptr, &tuning));
  std::stable_sort(diffs.begin(), diffs.end(), [](const TuningDiff& x, const TuningDiff& y) {
    return KeyLess()(x.key, y.key);
  });
  return diffs;
}

}  // namespace fusetune::cache
