#include "tuner/gpu_sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "runtime/binary_store.h"
#include "tuner/finalist_rounds.h"
#include "tuner/parallel_compiler.h"
#include "tuner/scratch_directory.h"
#include "tuner/space_compiler.h"
#include "tuner/worker_client.h"
#include "tuner/worker_lookup.h"

namespace fusetune {
namespace {

// Where a result's cubin is for the worker: regenerated from its configuration (cheaply and
// identically) and found in the database, where every compiled binary is stored.
std::optional<RunRequest> run_request(const Spec& spec, const CandidateResult& r,
                                      const std::string& arch, cache::Database& db,
                                      const ScratchDirectory& scratch) {
  const KernelSource source = generate(spec, r.config);
  const std::optional<CompiledBinary> binary = find_binary(db, binary_key(source, arch));
  if (!binary) return std::nullopt;
  const std::filesystem::path path = scratch / (r.name + ".cubin");
  if (!std::filesystem::exists(path))
    std::ofstream(path, std::ios::binary).write(binary->cubin.data(), binary->cubin.size());
  return RunRequest{r.name, path.string(), source.launch, std::nullopt, std::nullopt};
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

  void record(const CandidateResult& r) {
    const KernelSource source = generate(spec, r.config);
    db.record_candidate(tuning_id, to_record(r, binary_key(source, device.arch())));
  }

  // Phase 1: verify every candidate and time it briefly, abandoning the clearly slow.
  void screen(std::vector<PreparedCandidate>& prepared, int total) {
    std::optional<double> best_ms;
    for (const CandidateResult& r : report.results)
      if (r.time_ms && (r.outcome == Outcome::ok || r.outcome == Outcome::slower))
        best_ms = std::min(best_ms.value_or(*r.time_ms), *r.time_ms);
    const int threads =
        options.compile_threads > 0 ? options.compile_threads : default_compile_threads();
    compile_space(prepared, device.arch(), threads, db,
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
                      RunRequest request{p.candidate.name, cubin.string(), p.source.launch,
                                         std::nullopt, options.screening};
                      if (best_ms) request.abandon_above_ms = *best_ms * options.abandon_factor;
                      const RunReply reply = worker.run(request, options.candidate_timeout_s);
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

  // Phase 2: time the fastest screened candidates in full, in turn, `final_rounds` times.
  void time_finalists() {
    sort_results(report.results);
    std::vector<CandidateResult*> finalists;
    std::vector<RunRequest> requests;
    for (CandidateResult& r : report.results) {
      if (static_cast<int>(finalists.size()) == options.finalists) break;
      if (r.outcome != Outcome::ok && r.outcome != Outcome::slower) break;
      std::optional<RunRequest> request = run_request(spec, r, device.arch(), db, scratch);
      if (!request) continue;
      request->timing = options.timing;
      finalists.push_back(&r);
      requests.push_back(*request);
    }
    std::vector<std::vector<double>> times(finalists.size());
    std::vector<std::size_t> all(finalists.size());
    std::iota(all.begin(), all.end(), 0);
    for (int round = 0; round < options.max_final_rounds; ++round) {
      const std::vector<std::size_t> timed = round < options.final_rounds ? all : contenders(times);
      if (timed.empty()) break;  // the leader stands apart from every other finalist
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
    }
    for (std::size_t i = 0; i < finalists.size(); ++i) {
      if (!times[i].empty()) {
        const RoundSummary summary = summarize_rounds(times[i]);
        finalists[i]->time_ms = summary.median_ms;
        finalists[i]->time_spread = summary.spread;
      }
      record(*finalists[i]);
    }
  }

  // Phase 3: the winner must be right on inputs it was not chosen on. Re-runs the best
  // finalists on new inputs until one passes; one that fails is recorded as wrong_result.
  void recheck_winner() {
    sort_results(report.results);
    worker.reseed(std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32));
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

// The report of a sweep into `tuning_id`, holding the candidates it has stored so far.
TuneReport stored_report(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, std::int64_t tuning_id) {
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = std::string(to_string(options.precision));
  report.device = device.description();
  report.arch = device.arch();
  report.flops = spec.flops();
  for (const cache::CandidateRecord& record : db.candidates(tuning_id))
    report.results.push_back(from_record(record));
  return report;
}

WorkerClient start_worker(const Spec& spec, const TuneOptions& options, const DeviceInfo& device,
                          const ScratchDirectory& scratch) {
  const SetupRequest setup{
      spec.canonical(), std::random_device{}(), device.ordinal,
      options.tolerance.value_or(default_tolerance(options.precision, spec.main.output_dtype())),
      options.timing};
  return WorkerClient(options.worker_path.empty() ? find_worker() : options.worker_path, setup,
                      (scratch / "worker.log").string());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::optional<TuneReport> reverify_sweep(const Spec& spec, cache::Database& db,
                                         const TuneOptions& options, const DeviceInfo& device,
                                         const cache::TuningKey& key,
                                         const std::vector<std::string>& changes) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t tuning_id = db.begin_tuning(key, spec.canonical(), device.soft_keys);
  TuneReport report = stored_report(spec, db, options, device, tuning_id);
  report.reverified = changes;
  sort_results(report.results);
  // The winner and the runner-up are timed again. The other finalists' times were taken under
  // the old soft keys and no longer compare with theirs: they step back among the screened.
  int finalists = 0;
  for (CandidateResult& r : report.results) {
    if (r.outcome != Outcome::ok || ++finalists <= 2) continue;
    r.outcome = Outcome::slower;
    r.message = fmt::format("timed before the soft keys changed ({}); not timed again",
                            fmt::join(changes, ", "));
    db.record_candidate(tuning_id,
                        to_record(r, binary_key(generate(spec, r.config), device.arch())));
  }
  const ScratchDirectory scratch;
  WorkerClient worker = start_worker(spec, options, device, scratch);
  const std::string worker_device = worker.start();
  if (options.observer)
    options.observer->started(std::min(finalists, 2), worker_device, report.precision);
  TuneOptions two = options;
  two.finalists = 2;
  GpuSweep sweep{spec, two, device, db, tuning_id, worker, scratch, report};
  sweep.time_finalists();
  sweep.recheck_winner();
  const cache::TuningRecord finished = db.finish_tuning(tuning_id, seconds_since(start));
  if (finished.winner.empty()) return std::nullopt;  // both fail now: the caller sweeps again
  report.tuning_seconds = seconds_since(start);
  return report;
}

TuneReport run_gpu_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options,
                         const DeviceInfo& device, const cache::TuningKey& key) {
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t tuning_id = db.begin_tuning(key, spec.canonical(), device.soft_keys);
  TuneReport report = stored_report(spec, db, options, device, tuning_id);  // resumed: not empty
  const std::vector<std::string> done = db.candidate_names(tuning_id);
  std::vector<PreparedCandidate> prepared =
      prepare_space(spec, device.limits, options.precision, options.max_candidates, device.arch(),
                    db, {done.begin(), done.end()});
  report.from_database = count_with_binary(prepared);
  const int total = static_cast<int>(prepared.size() + report.results.size());

  const ScratchDirectory scratch;
  WorkerClient worker = start_worker(spec, options, device, scratch);
  const std::string worker_device = worker.start();
  if (options.observer) options.observer->started(total, worker_device, report.precision);

  GpuSweep sweep{spec, options, device, db, tuning_id, worker, scratch, report};
  sweep.screen(prepared, total);
  sweep.time_finalists();
  sweep.recheck_winner();
  report.tuning_seconds = seconds_since(start);
  db.finish_tuning(tuning_id, report.tuning_seconds);
  return report;
}

}  // namespace fusetune
