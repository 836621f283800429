// Tuning under --precision auto: every precision whose expected error meets the tolerance is
// tuned (or recalled from the database) exactly as if it were named on its own, and the fastest
// winner whose measured error is within the tolerance is chosen. Each precision's results stay
// stored under its own key, so a later tune or load of one precision reuses them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cache/database.h"
#include "generator/precision_policy.h"
#include "generator/spec.h"
#include "tuner/tune.h"

namespace fusetune {

struct AutoTuneReport {
  std::string spec;  // canonical
  double tolerance = 0;
  std::vector<TuneReport> sweeps;     // one per precision tried, fastest expected first
  std::optional<std::size_t> chosen;  // index into sweeps; empty when no winner is within
  double tuning_seconds = 0;          // of the sweeps run now (recalled ones count 0)

  const TuneReport* chosen_sweep() const { return chosen ? &sweeps[*chosen] : nullptr; }
  // Whether the tuning did its job: measured, a winner was chosen; compile-only (nothing can
  // be chosen), every sweep compiled at least one candidate.
  bool succeeded() const;
};

// The largest error measured for a sweep's winner: in the sweep and on the re-check's new
// inputs. Empty when the sweep has no winner.
std::optional<double> measured_error(const TuneReport& sweep);

// Tunes `spec` at each of `policy.precisions()` with `options` (whose precision and tolerance
// are set per sweep to that precision's defaults) and chooses. Throws as tune() does.
AutoTuneReport tune_auto(const Spec& spec, cache::Database& db, const PrecisionPolicy& policy,
                         const TuneOptions& options);

// Tunes `spec` as `policy` asks: under auto as tune_auto does; a named precision in one sweep at
// that precision with `options.tolerance` (empty: the precision's default), chosen when it has a
// winner. Throws as tune() does.
AutoTuneReport tune_with_policy(const Spec& spec, cache::Database& db,
                                const PrecisionPolicy& policy, const TuneOptions& options);

}  // namespace fusetune
