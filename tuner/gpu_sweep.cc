#include "tuner/gpu_sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <utility>

#include "fusetune/status.h"
#include "runtime/binary_store.h"
#include "tuner/budget_search.h"
#include "tuner/finalist_rounds.h"
#include "tuner/parallel_compiler.h"
#include "tuner/scratch_directory.h"
#include "tuner/space_compiler.h"
#include "tuner/worker_client.h"
#include "tuner/worker_lookup.h"

namespace fusetune {
namespace {

// Under a budget, the share of it kept for the finalists and the re-check of the winner.
constexpr double kFinalistShare = 0.2;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What screening told of a candidate: its time, or nothing when it failed.
std::optional<double> screened_time(const CandidateResult& r) {
  if (r.outcome != Outcome::ok && r.outcome != Outcome::slower) return std::nullopt;
  return r.time_ms;
}

// Where a result's cubin is for the worker: regenerated from its configuration (cheaply and
// identically) and found in the database, where every compiled binary is stored; compiled and
// stored there first where it is not (a result imported without its cubin, README "Sharing
// results"). Empty when it does not compile.
std::optional<RunRequest> run_request(const Spec& spec, const CandidateResult& r,
                                      const std::string& arch, cache::Database& db,
                                      const ScratchDirectory& scratch) {
  const KernelSource source = generate(spec, r.config);
  const std::string key = binary_key(source, arch);
  std::optional<CompiledBinary> binary = find_binary(db, key);
  if (!binary) {
    try {
      binary = compile_to_cubin(source.code, source.name, target_arch(source, arch));
    } catch (const Error&) {
      return std::nullopt;
    }
    store_binary(db, key, *binary);
  }
  const std::filesystem::path path = scratch / (r.name + ".cubin");
  if (!std::filesystem::exists(path))
    std::ofstream(path, std::ios::binary).write(binary->cubin.data(), binary->cubin.size());
  return RunRequest{r.name,       path.string(), source.launch,
                    std::nullopt, std::nullopt,  source.finishing};
}

// The sweep's state on the GPU: the spec, the worker that runs candidates and the database
// that keeps each outcome.
struct GpuSweep {
  const Spec& spec;
  const TuneOptions& options;
  const DeviceInfo& device;
  cache::Database& db;
  std::int64_t tuning_id;
  WorkerClient& worker;
  const ScratchDirectory& scratch;
  TuneReport& report;
  Clock::time_point start;
  double screening_run_s = 0;  // the wall time of the screening runs, and their count: what a
  int screening_runs = 0;      // run costs beyond its timed launches
  // The first run's wall time: under a budget it waits for what is left of the worker's set-up
  // (context, both sets of inputs, their fp64 references). Reported, not planned with.
  double first_run_s = 0;

  int compile_threads() const {
    return options.compile_threads > 0 ? options.compile_threads : default_compile_threads();
  }

  double mean_screening_run_s() const {
    return screening_runs > 0 ? screening_run_s / screening_runs : 0;
  }

  // The fastest screened time so far; empty before any candidate passed.
  std::optional<double> best_screened_ms() const {
    std::optional<double> best_ms;
    for (const CandidateResult& r : report.results)
      if (const std::optional<double> ms = screened_time(r))
        best_ms = std::min(best_ms.value_or(*ms), *ms);
    return best_ms;
  }

  // A full timing of the fastest screened: its launches, flushes and the run's own cost.
  double full_run_s() const {
    const double timed_ms = std::max(options.timing.min_total_ms,
                                     options.timing.min_launches * best_screened_ms().value_or(0));
    return mean_screening_run_s() + 1.25 * timed_ms / 1000;
  }

  // The re-check runs on inputs the worker drew at set-up: a screening run.
  double recheck_s() const { return mean_screening_run_s(); }

  // What a budgeted sweep keeps for after screening: its share of the budget, or more where a
  // first round of two finalists and the re-check take longer.
  double reserve_s(double budget) const {
    return std::max(kFinalistShare * budget, recheck_s() + 2 * full_run_s());
  }

  void record(const CandidateResult& r) {
    const KernelSource source = generate(spec, r.config);
    db.record_candidate(tuning_id, to_record(r, binary_key(source, device.arch())));
  }

  // Phase 1: verify every candidate and time it briefly, abandoning the clearly slow.
  void screen(std::vector<PreparedCandidate>& prepared, int total) {
    std::optional<double> best_ms = best_screened_ms();
    compile_space(prepared, device.arch(), compile_threads(), db,
                  [&](const PreparedCandidate& p, const std::string& error) {
                    CandidateResult r = result_of(p);
                    if (!p.binary) {
                      r.outcome = Outcome::compile_error;
                      r.message = error;
                    } else if (auto why = exceeds_device(r, p.source, device.limits)) {
                      r.outcome = Outcome::out_of_resources;
                      r.message = *why;
                    } else {
                      const std::filesystem::path cubin = scratch / (p.candidate.name + ".cubin");
                      std::ofstream(cubin, std::ios::binary)
                          .write(p.binary->cubin.data(), p.binary->cubin.size());
                      RunRequest request{p.candidate.name, cubin.string(),    p.source.launch,
                                         std::nullopt,     options.screening, p.source.finishing};
                      if (best_ms) request.abandon_above_ms = *best_ms * options.abandon_factor;
                      const Clock::time_point run_start = Clock::now();
                      const RunReply reply = worker.run(request, options.candidate_timeout_s);
                      if (screening_runs == 0) first_run_s = seconds_since(run_start);
                      screening_run_s += seconds_since(run_start);
                      ++screening_runs;
                      // Verified and screened: "slower" until the finalists are chosen.
                      r.outcome = reply.outcome == Outcome::ok ? Outcome::slower : reply.outcome;
                      r.time_ms = reply.time_ms;
                      r.rel_err = reply.rel_err;
                      r.message = reply.message;
                      if (reply.time_ms && reply.outcome == Outcome::ok)
                        best_ms = std::min(best_ms.value_or(*reply.time_ms), *reply.time_ms);
                    }
                    db.record_candidate(tuning_id,
                                        to_record(r, p.binary ? p.binary_key : std::string()));
                    report.results.push_back(r);
                    if (options.observer)
                      options.observer->finished_candidate(
                          r, static_cast<int>(report.results.size()), total, best_ms);
                  });
  }

  // Phase 1 under a budget: the batches BudgetSearch proposes, sized so that the compile pool
  // stays busy and the finalists' share of the budget is left. A resumed sweep's candidates
  // count as measured.
  void screen_within_budget(std::vector<PreparedCandidate>& space) {
    std::vector<Candidate> candidates;
    std::map<std::string, std::size_t> index;
    for (const PreparedCandidate& p : space) {
      index[p.candidate.name] = candidates.size();
      candidates.push_back(p.candidate);
    }
    BudgetSearch search(candidates);
    for (const CandidateResult& r : report.results)
      if (const auto it = index.find(r.name); it != index.end())
        search.measured(it->second, screened_time(r));
    const double budget = *options.budget_s;
    const int total = static_cast<int>(space.size());
    const auto threads = static_cast<std::size_t>(compile_threads());
    double candidate_s = 0;  // the last batch's seconds per candidate; 0 before the first
    for (;;) {
      const double left_s = budget - reserve_s(budget) - seconds_since(start);
      // The first batch is one compile per thread, as nothing tells yet what a candidate costs;
      // later ones as many as fit in the screening time left, at most two per thread. (A fixed
      // double batch overran the conv seed's 2.7 s budget by a fifth.)
      const std::size_t size =
          candidate_s == 0
              ? threads
              : std::min(2 * threads,
                         static_cast<std::size_t>(std::max(0.0, left_s / candidate_s)));
      if (left_s <= 0 || size == 0) break;
      const Clock::time_point batch_start = Clock::now();
      std::vector<PreparedCandidate> batch;
      for (std::size_t i : search.next_batch(size)) batch.push_back(std::move(space[i]));
      if (batch.empty()) break;  // the budget covers the whole space
      report.from_database += count_with_binary(batch);
      const std::size_t first = report.results.size();
      screen(batch, total);
      for (std::size_t r = first; r < report.results.size(); ++r)
        search.measured(index.at(report.results[r].name), screened_time(report.results[r]));
      candidate_s = seconds_since(batch_start) / static_cast<double>(batch.size());
    }
  }

  // Phase 2: time the fastest screened candidates, and the incumbent, in full, in turn,
  // `final_rounds` times. Under a budget, as many finalists and rounds as fit in what is left of
  // it, and no round begins that would end past it (but the first).
  void time_finalists() {
    int most_finalists = options.finalists, first_rounds = options.final_rounds;
    std::optional<double> deadline_s;
    if (options.budget_s) {
      deadline_s = *options.budget_s - recheck_s();
      const FinalistPlan plan = plan_finalists(*deadline_s - seconds_since(start), full_run_s(),
                                               options.finalists, options.final_rounds);
      most_finalists = plan.finalists;
      first_rounds = plan.rounds;
    }
    sort_results(report.results, report.incumbent);
    std::vector<CandidateResult*> finalists;
    std::vector<RunRequest> requests;
    for (CandidateResult& r : report.results) {
      if (r.outcome != Outcome::ok && r.outcome != Outcome::slower) break;
      // The incumbent is timed beside the fastest wherever it screened, for the winner rule to
      // weigh it against them.
      if (static_cast<int>(finalists.size()) >= most_finalists && r.name != report.incumbent)
        continue;
      std::optional<RunRequest> request = run_request(spec, r, device.arch(), db, scratch);
      if (!request) continue;
      request->timing = options.timing;
      finalists.push_back(&r);
      requests.push_back(*request);
    }
    std::vector<std::vector<double>> times(finalists.size());
    std::vector<std::size_t> all(finalists.size());
    std::iota(all.begin(), all.end(), 0);
    double round_s = 0;
    for (int round = 0; round < options.max_final_rounds; ++round) {
      const std::vector<std::size_t> timed = round < first_rounds ? all : contenders(times);
      if (timed.empty()) break;  // the leader stands apart from every other finalist
      if (round > 0 && deadline_s && seconds_since(start) + round_s > *deadline_s) break;
      const Clock::time_point round_start = Clock::now();
      for (std::size_t i : timed) {
        if (finalists[i]->outcome != Outcome::ok && round > 0) continue;  // failed a round
        const RunReply reply = worker.run(requests[i], options.candidate_timeout_s);
        if (reply.outcome == Outcome::ok) {
          times[i].push_back(*reply.time_ms);
          finalists[i]->outcome = Outcome::ok;
        } else {
          finalists[i]->outcome = reply.outcome;
          finalists[i]->message = "failed when timed again: " + reply.message;
          times[i].clear();
        }
      }
      round_s = seconds_since(round_start);
    }
    for (std::size_t i = 0; i < finalists.size(); ++i) {
      if (!times[i].empty()) {
        const RoundSummary summary = summarize_rounds(times[i]);
        finalists[i]->time_ms = summary.median_ms;
        finalists[i]->time_noise = summary.noise;
      }
      record(*finalists[i]);
    }
  }

  // Phase 3: the winner must be right on inputs it was not chosen on. Re-runs the best
  // finalists on new inputs until one passes; one that fails is recorded as wrong_result.
  void recheck_winner() {
    sort_results(report.results, report.incumbent);
    worker.reseed_for_recheck();
    for (CandidateResult& r : report.results) {
      if (r.outcome != Outcome::ok) return;
      std::optional<RunRequest> request = run_request(spec, r, device.arch(), db, scratch);
      if (!request) return;
      request->timing = options.screening;
      const RunReply reply = worker.run(*request, options.candidate_timeout_s);
      if (reply.outcome == Outcome::ok || reply.outcome == Outcome::slower) {
        report.winner_recheck_rel_err = reply.rel_err;
        return;
      }
      r.outcome = reply.outcome == Outcome::timeout ? Outcome::timeout : Outcome::wrong_result;
      r.message = "failed on a second set of inputs: " + reply.message;
      record(r);
    }
  }
};

// The report of a sweep into `tuning_id` under `key`, holding the candidates it has stored so
// far and the incumbent it keeps.
TuneReport stored_report(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, const cache::TuningKey& key,
                         std::int64_t tuning_id) {
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = std::string(to_string(options.precision));
  report.device = device.description();
  report.arch = device.arch();
  report.flops = spec.flops();
  if (const std::optional<cache::TuningRecord> tuning = db.find_tuning(key))
    report.incumbent = tuning->incumbent;
  report.results = stored_results(db.candidates(tuning_id), spec, device.limits);
  return report;
}

// The worker for a sweep, not yet started; it draws the re-check's inputs when set up.
WorkerClient sweep_worker(const Spec& spec, const TuneOptions& options, const DeviceInfo& device,
                          const ScratchDirectory& scratch) {
  const SetupRequest setup{
      spec.canonical(),
      random_seed(),
      device.ordinal,
      options.tolerance.value_or(default_tolerance(options.precision, spec.main.output_dtype())),
      options.timing,
      random_seed()};
  return WorkerClient(options.worker_path.empty() ? find_worker() : options.worker_path, setup,
                      (scratch / "worker.log").string());
}

}  // namespace

std::optional<TuneReport> reverify_sweep(const Spec& spec, cache::Database& db,
                                         const TuneOptions& options, const DeviceInfo& device,
                                         const cache::TuningKey& key,
                                         const std::vector<std::string>& changes,
                                         const std::string& winner) {
  const Clock::time_point start = Clock::now();
  const std::int64_t tuning_id = db.begin_tuning(key, spec.canonical(), device.soft_keys, winner);
  TuneReport report = stored_report(spec, db, options, device, key, tuning_id);
  report.reverified = changes;
  TuneOptions two = options;
  two.finalists = 2;
  two.budget_s.reset();  // two finalists are quick; their rounds run in full
  const ScratchDirectory scratch;
  WorkerClient worker = sweep_worker(spec, options, device, scratch);
  GpuSweep sweep{spec, two, device, db, tuning_id, worker, scratch, report, start};
  sort_results(report.results, report.incumbent);
  // The winner and the runner-up (or a result merged from elsewhere that ranks ahead of the
  // winner) are timed again. The other finalists' times were taken under the old soft keys and
  // no longer compare with theirs: they step back among the screened.
  int finalists = 0;
  bool runner_up = false;
  for (CandidateResult& r : report.results) {
    if (r.outcome != Outcome::ok) continue;
    ++finalists;
    if (r.name == winner || !std::exchange(runner_up, true)) continue;
    r.outcome = Outcome::slower;
    r.message = fmt::format("timed before this re-verification ({}); not timed again",
                            fmt::join(changes, ", "));
    sweep.record(r);
  }
  const std::string worker_device = worker.start();
  if (options.observer)
    options.observer->started(std::min(finalists, 2), worker_device, report.precision,
                              std::nullopt);
  sweep.time_finalists();
  sweep.recheck_winner();
  const cache::TuningRecord finished = db.finish_tuning(tuning_id, seconds_since(start));
  if (finished.winner.empty()) return std::nullopt;  // both fail now: the caller sweeps again
  report.tuning_seconds = seconds_since(start);
  return report;
}

TuneReport run_gpu_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, const cache::TuningKey& key,
                         const std::string& incumbent) {
  const Clock::time_point start = Clock::now();
  const std::int64_t tuning_id =
      db.begin_tuning(key, spec.canonical(), device.soft_keys, incumbent);
  TuneReport report =
      stored_report(spec, db, options, device, key, tuning_id);  // resumed: not empty
  report.strategy = options.budget_s ? "budget" : "exhaustive";
  report.budget_s = options.budget_s;
  const std::vector<std::string> done = db.candidate_names(tuning_id);
  // The worker sets up (context, inputs, fp64 references) while the space is prepared and the
  // first candidates compile.
  const ScratchDirectory scratch;
  WorkerClient worker = sweep_worker(spec, options, device, scratch);
  worker.launch();
  // Under a budget the whole space, for the search to see what was measured before.
  std::vector<PreparedCandidate> prepared = prepare_space(
      spec, device.limits, options.precision, options.max_candidates, device.arch(), db,
      options.budget_s ? std::set<std::string>() : std::set<std::string>(done.begin(), done.end()));
  // Under a budget, counted as the batches are taken.
  report.from_database = options.budget_s ? 0 : count_with_binary(prepared);
  const int total = static_cast<int>(options.budget_s ? prepared.size()
                                                      : prepared.size() + report.results.size());

  // Under a budget the first run waits for the worker, so that its set-up overlaps the first
  // batch's compiles.
  const std::string worker_device = options.budget_s ? device.description() : worker.start();
  if (options.observer)
    options.observer->started(total, worker_device, report.precision, options.budget_s);

  GpuSweep sweep{spec, options, device, db, tuning_id, worker, scratch, report, start};
  Clock::time_point phase_start = Clock::now();
  auto phase_done = [&](const char* phase) {
    report.phase_seconds[phase] = seconds_since(phase_start);
    phase_start = Clock::now();
  };
  if (options.budget_s)
    sweep.screen_within_budget(prepared);
  else
    sweep.screen(prepared, total);
  if (options.observer) options.observer->screened();
  phase_done("screening");
  sweep.time_finalists();
  phase_done("finalists");
  sweep.recheck_winner();
  phase_done("recheck");
  report.phase_seconds["first_run"] = sweep.first_run_s;
  report.tuning_seconds = seconds_since(start);
  db.finish_tuning(tuning_id, report.tuning_seconds);
  return report;
}

}  // namespace fusetune
