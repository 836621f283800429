#include "tuner/tune.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "fusetune/status.h"
#include "runtime/binary_store.h"
#include "runtime/device.h"
#include "runtime/tuning_key.h"
#include "tuner/parallel_compiler.h"
#include "tuner/worker_client.h"

namespace fusetune {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A candidate ready to compile or run: its source and, once known, its binary.
struct Prepared {
  Candidate candidate;
  KernelSource source;
  std::string binary_key;
  std::optional<CompiledBinary> binary;
};

std::vector<Prepared> prepare(const Spec& spec, const DeviceLimits& limits, const std::string& arch,
                              cache::Database& db, const std::vector<std::string>& skip) {
  std::vector<Prepared> prepared;
  for (Candidate& candidate : search_space(spec, limits)) {
    if (std::find(skip.begin(), skip.end(), candidate.name) != skip.end()) continue;
    KernelSource source = generate(spec, candidate.config);
    std::string key = binary_key(source, arch);
    std::optional<CompiledBinary> binary = find_binary(db, key);
    prepared.push_back({std::move(candidate), std::move(source), std::move(key), std::move(binary)});
  }
  return prepared;
}

CandidateResult result_of(const Prepared& p) {
  CandidateResult r;
  r.name = p.candidate.name;
  r.config = p.candidate.config;
  if (p.binary) {
    r.registers = p.binary->registers;
    r.spill_bytes = p.binary->spill_bytes;
    r.smem_bytes = p.binary->static_smem_bytes + static_cast<int>(p.source.launch.dynamic_smem_bytes);
  }
  return r;
}

// Why the compiled kernel cannot run even one block on the device, if it cannot.
std::optional<std::string> exceeds_device(const CandidateResult& r, const KernelSource& source,
                                          const DeviceLimits& limits) {
  const long long threads = source.launch.block[0] * source.launch.block[1] * source.launch.block[2];
  if (r.registers > 0 && r.registers * threads > limits.regs_per_sm)
    return fmt::format("{} registers x {} threads exceed the {} registers of an SM", r.registers,
                       threads, limits.regs_per_sm);
  if (r.smem_bytes > limits.max_smem_per_block)
    return fmt::format("{} bytes of shared memory exceed the {} a block may have", r.smem_bytes,
                       limits.max_smem_per_block);
  return std::nullopt;
}

cache::CandidateRecord to_record(const CandidateResult& r, const std::string& binary_key) {
  cache::CandidateRecord record;
  record.name = r.name;
  record.config_json = config_json(r.config);
  record.outcome = std::string(to_string(r.outcome));
  record.time_ms = r.time_ms;
  record.rel_err = r.rel_err;
  record.registers = r.registers;
  record.smem_bytes = r.smem_bytes;
  record.spill_bytes = r.spill_bytes;
  record.message = r.message;
  record.binary_key = binary_key;
  return record;
}

CandidateResult from_record(const cache::CandidateRecord& record) {
  CandidateResult r;
  r.name = record.name;
  r.config = config_from_json(record.config_json);
  r.outcome = outcome_from_string(record.outcome).value_or(Outcome::fault);
  r.time_ms = record.time_ms;
  r.rel_err = record.rel_err;
  r.registers = record.registers;
  r.smem_bytes = record.smem_bytes;
  r.spill_bytes = record.spill_bytes;
  r.message = record.message;
  return r;
}

// Verified and timed first (fastest first), then abandoned ones by time, then failures.
void sort_results(std::vector<CandidateResult>& results) {
  auto rank = [](const CandidateResult& r) {
    return r.outcome == Outcome::ok ? 0 : r.outcome == Outcome::slower ? 1 : 2;
  };
  std::stable_sort(results.begin(), results.end(), [&](const auto& a, const auto& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) < 2 && a.time_ms != b.time_ms) return a.time_ms < b.time_ms;
    if (a.outcome != b.outcome) return a.outcome < b.outcome;
    return a.name < b.name;
  });
}

void summarize(TuneReport& report) {
  sort_results(report.results);
  report.compiled = 0;
  report.failed.clear();
  for (const CandidateResult& r : report.results) {
    if (r.outcome != Outcome::compile_error) ++report.compiled;
    if (r.outcome != Outcome::ok && r.outcome != Outcome::slower)
      ++report.failed[std::string(to_string(r.outcome))];
  }
  report.candidates = static_cast<int>(report.results.size());
  if (!report.compile_only && !report.results.empty() && report.results.front().outcome == Outcome::ok)
    report.winner = report.results.front();
}

// A scratch folder for cubins and the worker's log, removed with everything in it.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fusetune-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw Error(StatusCode::internal, "cannot create a temporary folder for the sweep");
    path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Calls `consume` on every prepared candidate with its binary: those the database had first,
// then the rest as the compiler finishes them (compile errors leave `binary` empty).
template <class Consume>
void compile_all(std::vector<Prepared>& prepared, const std::string& arch, int threads,
                 cache::Database& db, Consume consume) {
  std::vector<KernelSource> to_compile;
  std::vector<std::size_t> compile_index;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (prepared[i].binary) {
      consume(prepared[i], std::string());
    } else {
      to_compile.push_back(prepared[i].source);
      compile_index.push_back(i);
    }
  }
  ParallelCompiler compiler(std::move(to_compile), arch, threads);
  while (std::optional<CompileOutput> output = compiler.next()) {
    Prepared& p = prepared[compile_index[output->index]];
    p.binary = std::move(output->binary);
    if (p.binary) store_binary(db, p.binary_key, *p.binary);
    consume(p, output->error);
  }
}

TuneReport compile_only_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  const auto start = Clock::now();
  const std::optional<DeviceLimits> limits = DeviceLimits::for_arch(options.arch);
  if (!limits)
    throw Error(StatusCode::invalid_argument,
                fmt::format("unknown arch '{}'; use one of sm_80, sm_86, sm_89, sm_90", options.arch));
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = options.precision;
  report.device = "compile-only " + options.arch;
  report.arch = options.arch;
  report.flops = spec.flops();
  report.compile_only = true;
  std::vector<Prepared> prepared = prepare(spec, *limits, options.arch, db, {});
  if (options.observer) options.observer->started(static_cast<int>(prepared.size()), report.device);
  const int threads = options.compile_threads > 0 ? options.compile_threads : default_compile_threads();
  compile_all(prepared, options.arch, threads, db, [&](const Prepared& p, const std::string& error) {
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
                                           static_cast<int>(prepared.size()), std::nullopt);
  });
  report.tuning_seconds = seconds_since(start);
  summarize(report);
  return report;
}

TuneReport recall(const Spec& spec, const cache::TuningRecord& tuning, cache::Database& db,
                  const std::string& device, const std::string& arch) {
  TuneReport report;
  report.spec = spec.canonical();
  report.precision = tuning.key.precision;
  report.device = device;
  report.arch = arch;
  report.flops = spec.flops();
  report.from_cache = true;
  report.tuning_seconds = tuning.tuning_seconds;
  for (const cache::CandidateRecord& record : db.candidates(tuning.id))
    report.results.push_back(from_record(record));
  summarize(report);
  return report;
}

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
  void screen(std::vector<Prepared>& prepared, int total) {
    std::optional<double> best_ms;
    for (const CandidateResult& r : report.results)
      if (r.time_ms && (r.outcome == Outcome::ok || r.outcome == Outcome::slower))
        best_ms = std::min(best_ms.value_or(*r.time_ms), *r.time_ms);
    const int threads =
        options.compile_threads > 0 ? options.compile_threads : default_compile_threads();
    compile_all(prepared, device.arch(), threads, db, [&](const Prepared& p, const std::string& error) {
      CandidateResult r = result_of(p);
      if (!p.binary) {
        r.outcome = Outcome::compile_error;
        r.message = error;
      } else if (auto why = exceeds_device(r, p.source, device.limits)) {
        r.outcome = Outcome::out_of_resources;
        r.message = *why;
      } else {
        const std::filesystem::path cubin = scratch / (p.candidate.name + ".cubin");
        std::ofstream(cubin, std::ios::binary).write(p.binary->cubin.data(), p.binary->cubin.size());
        RunRequest request{p.candidate.name, cubin.string(), p.source.launch, std::nullopt,
                           options.screening};
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
      db.record_candidate(tuning_id, to_record(r, p.binary ? p.binary_key : std::string()));
      report.results.push_back(r);
      if (options.observer)
        options.observer->finished_candidate(r, static_cast<int>(report.results.size()), total,
                                             best_ms);
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
    for (int round = 0; round < options.final_rounds; ++round)
      for (std::size_t i = 0; i < finalists.size(); ++i) {
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
    for (std::size_t i = 0; i < finalists.size(); ++i) {
      if (!times[i].empty()) {
        std::sort(times[i].begin(), times[i].end());
        finalists[i]->time_ms = times[i][times[i].size() / 2];
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

TuneReport gpu_sweep(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  const auto start = Clock::now();
  const DeviceInfo device = require_device(options.device);
  const cache::TuningKey key =
      tuning_key(spec, options.precision, device.name, device.arch(), device.sm_count);
  const std::optional<cache::TuningRecord> existing = db.find_tuning(key);
  if (existing && !existing->winner.empty() && !options.force)
    return recall(spec, *existing, db, device.description(), device.arch());
  if (existing && options.force) db.forget_tuning(existing->id);
  const std::int64_t tuning_id = db.begin_tuning(key, spec.canonical(), device.driver_version);

  TuneReport report;
  report.spec = spec.canonical();
  report.precision = options.precision;
  report.device = device.description();
  report.arch = device.arch();
  report.flops = spec.flops();
  for (const cache::CandidateRecord& record : db.candidates(tuning_id))  // a resumed sweep
    report.results.push_back(from_record(record));
  std::vector<Prepared> prepared =
      prepare(spec, device.limits, device.arch(), db, db.candidate_names(tuning_id));
  const int total = static_cast<int>(prepared.size() + report.results.size());

  const ScratchDirectory scratch;
  SetupRequest setup{spec.canonical(), std::random_device{}(), device.ordinal, options.tolerance,
                     options.timing};
  WorkerClient worker(options.worker_path.empty() ? find_worker() : options.worker_path, setup,
                      (scratch / "worker.log").string());
  const std::string worker_device = worker.start();
  if (options.observer) options.observer->started(total, worker_device);

  GpuSweep sweep{spec, options, device, db, tuning_id, worker, scratch, report};
  sweep.screen(prepared, total);
  sweep.time_finalists();
  sweep.recheck_winner();
  db.finish_tuning(tuning_id, seconds_since(start));
  report.tuning_seconds = seconds_since(start);
  summarize(report);
  return report;
}

}  // namespace

TuneReport tune(const Spec& spec, cache::Database& db, const TuneOptions& options) {
  if (options.precision != "fp32")
    throw Error(StatusCode::invalid_argument,
                fmt::format("precision '{}' is not available; fusetune has fp32 kernels so far",
                            options.precision));
  return options.compile_only ? compile_only_sweep(spec, db, options) : gpu_sweep(spec, db, options);
}

}  // namespace fusetune
