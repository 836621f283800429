#include "tools/tune_list.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "cache/database.h"
#include "fusetune/status.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "runtime/device.h"
#include "tools/batch_report.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/progress_bar.h"
#include "tuner/parallel_compiler.h"
#include "tuner/shard.h"
#include "tuner/spec_list.h"
#include "tuner/work_queue.h"

namespace fusetune::cli {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw Error(StatusCode::invalid_argument,
                fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The canonical texts this run tunes: the whole list in canonical order, or its --shard.
std::vector<std::string> specs_to_tune(const TuneArgs& args) {
  std::vector<std::string> texts;
  for (const ListedSpec& listed : parse_spec_list(read_file(args.specs_file), args.specs_file))
    texts.push_back(listed.spec.canonical());
  return take_shard(std::move(texts), args.shard.empty() ? Shard{} : *parse_shard(args.shard));
}

// Tunes one spec as `fusetune tune SPEC` would; what that throws becomes the outcome's error,
// so that one spec's failure leaves the others to be tuned.
SpecOutcome tune_one(const std::string& text, const TuneArgs& args, const TuneOptions& options,
                     cache::Database& db) {
  SpecOutcome outcome;
  outcome.spec = text;
  outcome.device = options.device;
  const auto start = std::chrono::steady_clock::now();
  try {
    const Spec spec = parse_spec(text);
    const PrecisionPolicy policy = make_precision_policy(args.precision, args.tolerance, spec.main);
    outcome.is_auto = policy.is_auto();
    outcome.report = tune_with_policy(spec, db, policy, options);
  } catch (const Error& e) {
    outcome.error = e.what();
  } catch (const std::exception& e) {
    outcome.error = fmt::format("unexpected error: {}", e.what());
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

// One tuning thread's device and its own connection: a Database serves one thread at a time,
// and several connections share the file safely (WAL).
struct Lane {
  int device;
  std::unique_ptr<cache::Database> db;
};

// A lane per listed device (or the one --device); opened, and each device checked, before any
// tuning starts, so that a missing GPU or a bad database stops the run at once.
std::vector<Lane> open_lanes(const TuneArgs& args, const std::string& database) {
  const std::vector<int> devices =
      args.devices.empty() ? std::vector<int>{args.device} : args.devices;
  if (!args.compile_only)
    for (int device : std::set<int>(devices.begin(), devices.end())) require_device(device);
  std::vector<Lane> lanes;
  for (int device : devices) lanes.push_back({device, cache::Database::open(database)});
  return lanes;
}

// Specs that differ only in scalar values share a tuning (its key holds the signature): one
// lane tunes them in turn, so that the later ones are recalled instead of swept twice at once.
std::vector<std::vector<std::size_t>> by_signature(const std::vector<std::string>& specs) {
  std::map<std::string, std::size_t> group_of;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto [at, added] = group_of.try_emplace(parse_spec(specs[i]).signature(), groups.size());
    if (added) groups.emplace_back();
    groups[at->second].push_back(i);
  }
  return groups;
}

// A list being tuned: the lanes that tune it and what became of each spec so far.
struct ListTuning {
  ListTuning(const TuneArgs& a, const std::vector<std::string>& s, const std::string& database)
      : args(a),
        specs(s),
        lanes(open_lanes(a, database)),
        options(tune_options(a)),
        progress(a.compile_only ? "compiling" : "tuning"),
        outcomes(s.size()) {
    options.compile_threads = compile_threads_each(a.jobs, static_cast<int>(lanes.size()));
  }

  const TuneArgs& args;
  const std::vector<std::string>& specs;
  std::vector<Lane> lanes;
  TuneOptions options;  // compile threads shared among the lanes
  ProgressBar progress;
  std::vector<SpecOutcome> outcomes;
  std::mutex print_mutex;  // result lines whole, and `finished` counted, whichever lane ends
  std::size_t finished = 0;

  // Bars of several sweeps at once would interleave: with several lanes, a line per spec only.
  bool bars() const { return !args.json && lanes.size() == 1; }

  void tune_spec(std::size_t lane, std::size_t i) {
    TuneOptions mine = options;
    mine.device = lanes[lane].device;
    mine.observer = bars() ? &progress : nullptr;
    // One lane, so `finished` is this lane's own count.
    if (bars()) fmt::print(stderr, "[{}/{}] {}\n", finished + 1, specs.size(), specs[i]);
    outcomes[i] = tune_one(specs[i], args, mine, *lanes[lane].db);
    if (args.json) return;
    std::lock_guard lock(print_mutex);
    const std::string where = lanes.size() > 1 ? fmt::format(" (device {})", mine.device) : "";
    fmt::print(stderr, "[{}/{}] {}: {}{}\n", ++finished, specs.size(), specs[i],
               result_line(outcomes[i]), where);
  }
};

void print_summary(const std::vector<SpecOutcome>& outcomes, const TuneArgs& args,
                   const std::string& source, const std::string& database, double seconds) {
  const auto failed =
      std::ranges::count_if(outcomes, [](const SpecOutcome& o) { return !o.succeeded(); });
  fmt::print("{}", summary_table(outcomes));
  for (const SpecOutcome& outcome : outcomes)
    if (!outcome.succeeded()) fmt::print("\n{}:\n{}\n", outcome.spec, failure(outcome));
  fmt::print("\n{} specs from {}{}: {} succeeded, {} failed, in {:.1f} s; stored in {}\n",
             outcomes.size(), source, args.shard.empty() ? "" : " (shard " + args.shard + ")",
             outcomes.size() - failed, failed, seconds, database);
}

}  // namespace

std::vector<SpecOutcome> tune_specs(const TuneArgs& args, const std::vector<std::string>& specs,
                                    const std::string& source) {
  const auto start = std::chrono::steady_clock::now();
  const std::string database = database_path(args.database);
  ListTuning run(args, specs, database);
  const std::vector<std::vector<std::size_t>> groups = by_signature(specs);
  share_work(run.lanes.size(), groups.size(), [&](std::size_t lane, std::size_t group) {
    for (std::size_t i : groups[group]) run.tune_spec(lane, i);
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!args.json) print_summary(run.outcomes, args, source, database, seconds);
  return std::move(run.outcomes);
}

void print_list_json(const std::vector<SpecOutcome>& outcomes, const TuneArgs& args) {
  nlohmann::json document = to_json(outcomes, database_path(args.database));
  document["shard"] = args.shard.empty() ? nlohmann::json() : nlohmann::json(args.shard);
  print_json(std::move(document));
}

int tune_list(const TuneArgs& args) {
  const std::vector<SpecOutcome> outcomes = tune_specs(args, specs_to_tune(args), args.specs_file);
  if (args.json) print_list_json(outcomes, args);
  return std::ranges::all_of(outcomes, &SpecOutcome::succeeded) ? kSuccess : kFailure;
}

}  // namespace fusetune::cli
