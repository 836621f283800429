#include "tuner/tune.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>

#include "cache/layers.h"
#include "cache/merge.h"
#include "cache/soft_keys.h"
#include "fusetune/status.h"
#include "generator/generator.h"
#include "generator/precision_policy.h"
#include "runtime/device.h"
#include "runtime/import_checks.h"
#include "runtime/tuning_key.h"
#include "tuner/gpu_sweep.h"
#include "tuner/parallel_compiler.h"
#include "tuner/space_compiler.h"

namespace fusetune {
namespace {

// Convolutions have a tensor-core family for plain convolutions only (no transposed one, no
// pool step): another precision would sweep nothing.
void require_kernel_family(const Spec& spec, Precision precision) {
  if (const std::optional<std::string> why = missing_family(spec, precision))
    throw Error(StatusCode::invalid_argument, *why);
}

void require_valid_budget(const TuneOptions& options) {
  if (!options.budget_s) return;
  if (!(*options.budget_s > 0))
    throw Error(StatusCode::invalid_argument,
                fmt::format("a tuning budget must be a positive number of seconds, not {}",
                            *options.budget_s));
  if (options.compile_only)
    throw Error(StatusCode::invalid_argument,
                "a compile-only sweep compiles the whole space and measures nothing: drop the "
                "budget, or tune on a GPU with it");
}

void summarize(TuneReport& report) {
  sort_results(report.results, report.incumbent);
  report.compiled = 0;
  report.failed.clear();
  for (const CandidateResult& r : report.results) {
    if (r.outcome != Outcome::compile_error) ++report.compiled;
    if (r.outcome != Outcome::ok && r.outcome != Outcome::slower)
      ++report.failed[std::string(to_string(r.outcome))];
  }
  report.candidates = static_cast<int>(report.results.size());
  if (!report.compile_only && !report.results.empty() &&
      report.results.front().outcome == Outcome::ok)
    report.winner = report.results.front();
}

TuneReport compile_only_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::optional<DeviceLimits> limits = DeviceLimits::for_arch(options.arch);
  if (!limits)
    throw Error(StatusCode::invalid_argument,
                fmt::format("unknown arch '{}'; use one of {}", options.arch,
                            fmt::join(kSupportedArchs, ", ")));
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = std::string(to_string(options.precision));
  report.device = "compile-only " + options.arch;
  report.arch = options.arch;
  report.flops = spec.flops();
  report.compile_only = true;
  report.strategy = "exhaustive";
  std::vector<PreparedCandidate> prepared =
      prepare_space(spec, *limits, options.precision, options.max_candidates, options.arch, db, {});
  report.from_database = count_with_binary(prepared);
  report.space_size = static_cast<int>(search_space(spec, *limits, options.precision).size());
  if (options.observer)
    options.observer->started(static_cast<int>(prepared.size()), report.device, report.precision,
                              std::nullopt);
  const int threads =
      options.compile_threads > 0 ? options.compile_threads : default_compile_threads();
  compile_space(prepared, options.arch, threads, db,
                [&](const PreparedCandidate& p, const std::string& error) {
                  CandidateResult r = result_of(p);
                  if (!p.binary) {
                    r.outcome = Outcome::compile_error;
                    r.message = error;
                  } else if (auto why = exceeds_device(r, p.source, *limits)) {
                    r.outcome = Outcome::out_of_resources;
                    r.message = *why;
                  }
                  report.results.push_back(r);
                  if (options.observer)
                    options.observer->finished_candidate(r, static_cast<int>(report.results.size()),
                                                         static_cast<int>(prepared.size()),
                                                         std::nullopt);
                });
  report.tuning_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

TuneReport recall(const Spec& spec, const cache::TuningRecord& tuning, cache::Database& db,
                  const DeviceInfo& device) {
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = tuning.key.precision;
  report.device = device.description();
  report.arch = device.arch();
  report.flops = spec.flops();
  report.from_cache = true;
  report.tuning_seconds = tuning.tuning_seconds;
  report.incumbent = tuning.incumbent;
  report.results = stored_results(db.candidates(tuning.id), spec, device.limits);
  return report;
}

// Whether `tuning` has a winner that the generator accepts for `spec` on `device`: one it refuses
// (a damaged database, a forged import) is not recalled but tuned anew.
bool has_usable_winner(const Spec& spec, const DeviceInfo& device,
                       const cache::TuningRecord& tuning) {
  if (tuning.winner.empty()) return false;
  try {
    validated_config(spec, device.limits, tuning.winner_config_json);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// The stored tuning under `key`, whose soft keys changed (`changes`), re-verified; where neither
// its winner nor the runner-up passes any more, swept anew with `winner` as the incumbent.
TuneReport reverify_or_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options,
                             const DeviceInfo& device, const cache::TuningKey& key,
                             const std::vector<std::string>& changes, const std::string& winner) {
  if (std::optional<TuneReport> report =
          reverify_sweep(spec, db, options, device, key, changes, winner))
    return std::move(*report);
  if (const std::optional<cache::TuningRecord> stale = db.find_tuning(key))
    db.forget_tuning(stale->id);
  return run_gpu_sweep(spec, db, options, device, key, winner);
}

TuneReport sweep_or_recall(const Spec& spec, cache::Database& db, const TuneOptions& options,
                           const DeviceInfo& device) {
  const cache::TuningKey key = tuning_key(spec, std::string(to_string(options.precision)),
                                          device.name, device.arch(), device.sm_count);
  const std::optional<cache::TuningRecord> existing = db.find_tuning(key);
  const bool usable = existing && has_usable_winner(spec, device, *existing);
  if (usable && !options.force) {
    std::vector<std::string> changes =
        cache::soft_key_changes(existing->soft_keys, device.soft_keys);
    // A result merged in from elsewhere that ranks ahead of the winner is timed here before it
    // may displace it.
    if (const std::optional<std::string> challenger =
            cache::unconfirmed_challenger(*existing, db.candidates(existing->id)))
      changes.push_back(fmt::format("{}, merged from elsewhere, ranks ahead of the winner {}",
                                    *challenger, existing->winner));
    if (changes.empty()) return recall(spec, *existing, db, device);
    return reverify_or_sweep(spec, db, options, device, key, changes, existing->winner);
  }
  // Only where the user database has no winner: a user tuning hides the system one.
  if (options.system && !options.force) {
    const std::optional<cache::TuningRecord> shipped = options.system->find_tuning(key);
    if (shipped && has_usable_winner(spec, device, *shipped)) {
      const std::vector<std::string> changes =
          cache::soft_key_changes(shipped->soft_keys, device.soft_keys);
      if (changes.empty()) {
        TuneReport report = recall(spec, *shipped, *options.system, device);
        report.from_system = true;
        return report;
      }
      // Shipped under other soft keys: the user's database adopts it (the system one is
      // read-only) and re-verifies it there, as its own; checked as an import is, and with its
      // cubins only when system binaries are trusted.
      cache::merge_tuning(db, *options.system, *shipped,
                          {.trust_binaries = cache::Layers::default_trust_system_binaries(),
                           .check = import_problem});
      return reverify_or_sweep(spec, db, options, device, key, changes, shipped->winner);
    }
  }
  // Forced, the sweep starts from nothing but remembers the winner it replaces; a winner the
  // generator refuses is neither kept nor remembered.
  std::string incumbent;
  if (existing && (options.force || (!existing->winner.empty() && !usable))) {
    if (usable) incumbent = existing->winner;
    db.forget_tuning(existing->id);
  }
  return run_gpu_sweep(spec, db, options, device, key, incumbent);
}

TuneReport tune_on_gpu(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  const DeviceInfo device = require_device(options.device);
  TuneReport report = sweep_or_recall(spec, db, options, device);
  report.space_size = static_cast<int>(search_space(spec, device.limits, options.precision).size());
  return report;
}

}  // namespace

TuneReport tune(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  require_valid_budget(options);
  require_kernel_family(spec, options.precision);
  require_precision_reads(options.precision, spec.main);
  TuneReport report =
      options.compile_only ? compile_only_sweep(spec, db, options) : tune_on_gpu(spec, db, options);
  summarize(report);
  return report;
}

}  // namespace fusetune
