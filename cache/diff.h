// How two tuning databases differ, key by key: tunings only one of them holds, and for those in
// both whether they chose the same winner.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache {

struct TuningDiff {
  enum class Kind { only_in_a, only_in_b, same_winner, different_winners };
  Kind kind = Kind::only_in_a;
  TuningKey key;
  std::string spec;      // as last tuned in A, else in B
  std::string a_winner;  // "" when that side has none (or lacks the key)
  std::optional<double> a_time_ms;
  std::string b_winner;
  std::optional<double> b_time_ms;

  // B's winner time over A's, when both are known.
  std::optional<double> ratio() const;
};

// Every key of either database, ordered by its fields, with how A and B compare on it. Only reads.
std::vector<TuningDiff> diff_databases(Database& a, Database& b);

}  // namespace fusetune::cache
