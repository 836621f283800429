// A tuning sweep: every candidate of a spec's search space is compiled, verified against the
// fp64 reference and timed briefly (screening); the fastest few are then timed in full, in
// interleaved rounds, and the fastest of those, re-checked on new inputs, wins. Each outcome
// is stored as it comes. A spec already tuned on this device answers from the database.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/database.h"
#include "generator/generator.h"
#include "generator/precision.h"
#include "generator/spec.h"
#include "runtime/timing.h"
#include "tuner/candidate_result.h"
#include "tuner/outcome.h"

namespace fusetune {

// Hears about a sweep as it goes (the command line draws a progress bar from it).
class TuneObserver {
 public:
  virtual ~TuneObserver() = default;
  // `candidates`: the space to screen; under `budget_s` the search screens what fits of it.
  virtual void started(int /*candidates*/, const std::string& /*device*/,
                       std::string_view /*precision*/, std::optional<double> /*budget_s*/) {}
  virtual void finished_candidate(const CandidateResult& /*result*/, int /*done*/, int /*total*/,
                                  std::optional<double> /*best_ms*/) {}
  // Screening is over; the finalists are timed next. A budgeted sweep gets here before `done`
  // reaches `total`.
  virtual void screened() {}
};

struct TuneOptions {
  Precision precision = Precision::fp32;
  // The relative Frobenius error against fp64 a winner may have; empty: the precision's
  // default_tolerance (1e-5 for fp32 and 3xTF32, 5e-4 for TF32).
  std::optional<double> tolerance;
  bool force = false;  // tune again even when the database has a result
  // A read-only database beneath the one tuned into (cache/layers.h): a winner of the same key
  // found there is recalled as one stored would be, unless `force`. Never written; null: none.
  cache::Database* system = nullptr;
  // At most this many candidates, the families' best predicted (generator.h best_predicted);
  // 0: the whole space. A short sweep is stored like a full one: `force` replaces it.
  std::size_t max_candidates = 0;
  // Seconds the sweep may take: candidates are screened in the order tuner/budget_search.h
  // proposes until the finalists' share of the time is all that is left; empty: the whole
  // space (exhaustive). Stored like a short sweep: `force` replaces it. Not for compile_only.
  std::optional<double> budget_s;
  bool compile_only = false;
  std::string arch;  // the target of a compile-only sweep ("sm_80", "sm_90"); else the GPU's
  int device = 0;
  int compile_threads = 0;          // 0: default_compile_threads()
  double candidate_timeout_s = 30;  // a candidate (verification and timing) that takes longer hangs
  // Screening: a few launches per candidate, abandoned after `abandon_check` launches when
  // this much slower than the best screened so far.
  TimingOptions screening = {.warmup_launches = 1,
                             .min_launches = 5,
                             .min_total_ms = 0,
                             .max_launches = 5,
                             .flush_l2 = true,
                             .abandon_above_ms = {},
                             .abandon_check = 3};
  double abandon_factor = 1.25;
  // Finalists: the `finalists` fastest screened candidates, each timed `final_rounds` times in
  // turn with `timing`; a finalist's time is the median of its rounds.
  int finalists = 8;
  int final_rounds = 3;
  // After those, more rounds of the finalists still within the leader's range of round times,
  // until the leader stands apart or this many rounds were run in all.
  int max_final_rounds = 12;
  TimingOptions timing;
  std::string worker_path;  // empty: find_worker()
  TuneObserver* observer = nullptr;
};

struct TuneReport {
  std::string spec;  // canonical
  std::string precision;
  std::string device;  // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)", or "compile-only sm_90"
  std::string arch;
  double flops = 0;
  bool from_cache = false;
  bool from_system = false;  // recalled from TuneOptions::system
  // The soft keys that changed since the stored tuning ("driver 12.8 -> 13.0"), when its winner
  // and runner-up were verified and timed again instead of tuning anew; empty otherwise.
  std::vector<std::string> reverified;
  bool compile_only = false;
  int candidates = 0;  // screened (or compiled): all of the space unless budget_s or max_candidates
  int space_size = 0;  // the candidates of the search space
  std::string strategy;            // "exhaustive" or "budget" for a sweep run now; "" if recalled
  std::optional<double> budget_s;  // the sweep's budget, if it had one
  int compiled = 0;                // compiled now or found compiled in the database
  int from_database = 0;           // of those, stored by an earlier run; 0 if recalled
  std::map<std::string, int> failed;     // count per failure outcome
  std::vector<CandidateResult> results;  // winner first, then by time, then failures
  std::optional<CandidateResult> winner;
  // The winner this tuning replaced (tune --force, a re-verification), which it keeps while
  // within noise of the fastest (cache/winner_rule.h); empty if none.
  std::string incumbent;
  std::optional<double> winner_recheck_rel_err;  // the winner's error on a second set of inputs
  double tuning_seconds = 0;
  // Where a sweep run now spent its time: "screening", "finalists", "recheck" (each a phase's
  // wall time) and "first_run" (the first screening run, which starts the worker: its context,
  // inputs and fp64 reference). Empty when recalled.
  std::map<std::string, double> phase_seconds;
};

// Runs (or recalls) the sweep for `spec`. A stored tuning whose soft keys differ from the GPU's
// has its winner and runner-up verified and timed again (reverify_sweep in tuner/gpu_sweep.h).
// Throws Error: no_device when a GPU sweep has no GPU, invalid_argument for an unknown arch, a
// budget that is not positive or comes with compile_only, or a precision no kernel family serves
// for the spec (a pooled or transposed convolution at TF32: missing_family), database_error,
// internal.
TuneReport tune(const Spec& spec, cache::Database& db, const TuneOptions& options);

}  // namespace fusetune
