#include "tuner/tune_auto.h"

#include <algorithm>
#include <numeric>

#include "generator/generator.h"
#include "runtime/device.h"

namespace fusetune {
namespace {

// A budget over several precisions: each gets a share proportional to the size of its search
// space, as a sweep's time grows mostly with the candidates it compiles and screens. A
// precision recalled from the database leaves its share unused.
std::vector<std::optional<double>> split_budget(const Spec& spec,
                                                const std::vector<Precision>& precisions,
                                                const TuneOptions& options) {
  if (!options.budget_s || options.compile_only)
    return std::vector<std::optional<double>>(precisions.size(), options.budget_s);
  const DeviceLimits limits = require_device(options.device).limits;
  std::vector<double> sizes;
  for (Precision p : precisions)
    sizes.push_back(static_cast<double>(search_space(spec, limits, p).size()));
  const double total = std::max(1.0, std::accumulate(sizes.begin(), sizes.end(), 0.0));
  std::vector<std::optional<double>> shares;
  for (double size : sizes) shares.push_back(*options.budget_s * std::max(size, 1.0) / total);
  return shares;
}

}  // namespace

std::optional<double> measured_error(const TuneReport& sweep) {
  if (!sweep.winner || !sweep.winner->rel_err) return std::nullopt;
  return std::max(*sweep.winner->rel_err, sweep.winner_recheck_rel_err.value_or(0.0));
}

bool AutoTuneReport::succeeded() const {
  if (sweeps.empty() || !sweeps.front().compile_only) return chosen.has_value();
  return std::ranges::all_of(sweeps, [](const TuneReport& sweep) { return sweep.compiled > 0; });
}

AutoTuneReport tune_auto(const Spec& spec, cache::Database& db, const PrecisionPolicy& policy,
                         const TuneOptions& options) {
  AutoTuneReport report;
  report.spec = spec.canonical();
  report.tolerance = policy.tolerance;
  std::vector<PrecisionWinner> winners;
  std::vector<std::size_t> sweep_of_winner;
  std::vector<Precision> precisions;
  // A precision with no kernel for the spec (a dilated transposed convolution at 3xTF32) or none
  // on the target (int8x before sm_90): auto chooses among the rest.
  const std::optional<DeviceLimits> limits =
      options.compile_only ? DeviceLimits::for_arch(options.arch)
                           : std::optional(require_device(options.device).limits);
  for (Precision precision : policy.precisions())
    if (!missing_family(spec, precision) &&
        (!limits || !search_space(spec, *limits, precision).empty()))
      precisions.push_back(precision);
  const std::vector<std::optional<double>> budgets = split_budget(spec, precisions, options);
  for (std::size_t i = 0; i < precisions.size(); ++i) {
    const Precision precision = precisions[i];
    TuneOptions sweep_options = options;
    sweep_options.precision = precision;
    sweep_options.budget_s = budgets[i];
    // Each precision is verified at its own default, so its stored results are the ones a
    // plain `tune --precision P` would keep; the tolerance decides only the choice below.
    sweep_options.tolerance.reset();
    TuneReport sweep = tune(spec, db, sweep_options);
    if (!sweep.from_cache) report.tuning_seconds += sweep.tuning_seconds;
    const std::optional<double> error = measured_error(sweep);
    if (error && sweep.winner->time_ms) {
      winners.push_back({precision, *sweep.winner->time_ms, *error});
      sweep_of_winner.push_back(report.sweeps.size());
    }
    report.sweeps.push_back(std::move(sweep));
  }
  if (const std::optional<std::size_t> i = choose_fastest_within(winners, policy.tolerance))
    report.chosen = sweep_of_winner[*i];
  return report;
}

AutoTuneReport tune_with_policy(const Spec& spec, cache::Database& db,
                                const PrecisionPolicy& policy, const TuneOptions& options) {
  if (policy.is_auto()) return tune_auto(spec, db, policy, options);
  TuneOptions sweep_options = options;
  sweep_options.precision = *policy.precision;
  AutoTuneReport report;
  report.spec = spec.canonical();
  report.tolerance = policy.tolerance;
  report.sweeps.push_back(tune(spec, db, sweep_options));
  const TuneReport& sweep = report.sweeps.front();
  if (!sweep.from_cache) report.tuning_seconds = sweep.tuning_seconds;
  if (sweep.winner) report.chosen = 0;
  return report;
}

}  // namespace fusetune
