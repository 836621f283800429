// fusetune tune SPEC: runs (or recalls) the sweep and shows the best candidates.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "cache/database.h"
#include "generator/spec_parser.h"
#include "tools/commands.h"
#include "tools/progress_bar.h"
#include "tools/report_format.h"
#include "tools/table.h"
#include "tuner/tune.h"
#include "tuner/tune_auto.h"

namespace fusetune::cli {
namespace {

struct TuneArgs {
  std::string spec;
  std::string database;
  bool force = false;
  bool json = false;
  bool compile_only = false;
  bool all = false;
  std::string arch = "sm_90";
  int jobs = 0;
  int top = 10;
  std::size_t max_candidates = 0;
  std::string precision;  // "": the inputs' own (fp32 FFMA for fp32 data)
  std::optional<double> tolerance;
  int device = 0;
  double timeout_s = 30;
};

std::string failures(const TuneReport& report) {
  std::string text;
  for (const auto& [outcome, count] : report.failed)
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", count, outcome);
  return text.empty() ? "none failed" : text;
}

void print_measured(const TuneReport& report, const TuneArgs& args, const std::string& database) {
  const double best = report.winner && report.winner->time_ms ? *report.winner->time_ms : 0;
  Table table({{"#", true},
               {"config"},
               {"ms", true},
               {"TFLOP/s", true},
               {"% best", true},
               {"rel err", true},
               {"regs", true},
               {"smem KiB", true},
               {"outcome"}});
  int rank = 0;
  for (const CandidateResult& r : report.results) {
    if (!args.all && (rank >= args.top || r.outcome != Outcome::ok)) break;
    table.add_row({std::to_string(++rank), r.name, format_ms(r.time_ms),
                   format_tflops(report.flops, r.time_ms),
                   r.time_ms && best > 0 ? fmt::format("{:.1f}", 100 * best / *r.time_ms) : "-",
                   format_error(r.rel_err), std::to_string(r.registers), format_kib(r.smem_bytes),
                   std::string(to_string(r.outcome))});
  }
  fmt::print("{}\n{}   precision {}   {} candidates, {} compiled, {}\n", report.spec, report.device,
             report.precision, report.candidates, report.compiled, failures(report));
  if (report.from_cache)
    fmt::print("from {} (tuned in {:.1f} s; --force tunes again)\n", database,
               report.tuning_seconds);
  else
    fmt::print("tuned in {:.1f} s into {}\n", report.tuning_seconds, database);
  fmt::print("\n{}\n", table.render());
  if (!report.winner) {
    fmt::print("no candidate passed verification; 'fusetune cache show \"{}\"' lists why\n",
               report.spec);
    return;
  }
  const CandidateResult& w = *report.winner;
  fmt::print("winner: {}  {} ms  {} TFLOP/s  rel err {}", w.name, format_ms(w.time_ms),
             format_tflops(report.flops, w.time_ms), format_error(w.rel_err));
  if (report.winner_recheck_rel_err)
    fmt::print(" (on new inputs: {})", format_error(report.winner_recheck_rel_err));
  fmt::print("\n");
}

void print_compiled(const TuneReport& report, const TuneArgs& args) {
  Table table({{"config"}, {"regs", true}, {"smem KiB", true}, {"spills", true}, {"status"}});
  int shown = 0;
  for (const CandidateResult& r : report.results) {
    if (!args.all && shown++ >= args.top) break;
    table.add_row({r.name, std::to_string(r.registers), format_kib(r.smem_bytes),
                   std::to_string(r.spill_bytes),
                   r.outcome == Outcome::ok ? "compiled" : std::string(to_string(r.outcome))});
  }
  fmt::print("{}\n{}   {} candidates, {} compiled, {}   {:.1f} s\n\n{}", report.spec, report.device,
             report.candidates, report.compiled, failures(report), report.tuning_seconds,
             table.render());
  if (!args.all && report.candidates > args.top)
    fmt::print("({} more; --all lists every candidate)\n", report.candidates - args.top);
  for (const CandidateResult& r : report.results)
    if (r.outcome == Outcome::compile_error) fmt::print("\n{}:\n{}\n", r.name, r.message);
}

// --precision auto: one line per precision tried, and the choice.
void print_auto(const AutoTuneReport& report, const PrecisionPolicy& policy,
                const std::string& database) {
  Table table({{"precision"},
               {"winner"},
               {"ms", true},
               {"TFLOP/s", true},
               {"rel err", true},
               {"tuned"},
               {""}});
  for (std::size_t i = 0; i < report.sweeps.size(); ++i) {
    const TuneReport& sweep = report.sweeps[i];
    const std::optional<double> ms = sweep.winner ? sweep.winner->time_ms : std::nullopt;
    const std::optional<double> error = measured_error(sweep);
    std::string verdict = report.chosen == i ? "chosen"
                          : !sweep.winner    ? "no winner"
                          : error && *error > report.tolerance
                              ? fmt::format("error above {:g}", report.tolerance)
                              : "";
    table.add_row(
        {sweep.precision, sweep.winner ? sweep.winner->name : "-", format_ms(ms),
         format_tflops(sweep.flops, ms), format_error(error),
         sweep.from_cache ? "from cache" : fmt::format("now, {:.1f} s", sweep.tuning_seconds),
         verdict});
  }
  const std::string device = report.sweeps.empty() ? "" : report.sweeps.front().device;
  fmt::print("{}\n{}   precision auto, tolerance {:g}\n", report.spec, device, report.tolerance);
  const std::vector<Precision> tried = policy.precisions();
  for (Precision p : kPrecisions)
    if (input_type(p) == policy.inputs && std::ranges::find(tried, p) == tried.end())
      fmt::print("not tried: {} (its typical error, {:.0e}, is above the tolerance)\n",
                 to_string(p), expected_error(p, policy.output));
  fmt::print("stored in {}\n\n{}\n", database, table.render());
  if (const TuneReport* chosen = report.chosen_sweep())
    fmt::print("chosen: {} at {}, the fastest whose measured error is within {:g}\n",
               chosen->winner->name, chosen->precision, report.tolerance);
  else
    fmt::print(
        "no precision has a winner within {:g}; 'fusetune tune --precision P' shows each "
        "sweep in full\n",
        report.tolerance);
}

nlohmann::json auto_report_json(const AutoTuneReport& report, const std::string& database) {
  nlohmann::json sweeps = nlohmann::json::array();
  for (const TuneReport& sweep : report.sweeps) sweeps.push_back(to_json(sweep, database));
  const TuneReport* chosen = report.chosen_sweep();
  return {{"spec", report.spec},
          {"precision", "auto"},
          {"tolerance", report.tolerance},
          {"chosen_precision", chosen ? nlohmann::json(chosen->precision) : nlohmann::json()},
          {"winner", chosen ? to_json(*chosen->winner, chosen->flops) : nlohmann::json()},
          {"tuning_s", report.tuning_seconds},
          {"sweeps", std::move(sweeps)}};
}

int run(const TuneArgs& args) {
  const Spec spec = parse_spec(args.spec);
  const PrecisionPolicy policy = make_precision_policy(args.precision, args.tolerance, spec.main);
  const std::string database = database_path(args.database);
  const std::unique_ptr<cache::Database> db = cache::Database::open(database);
  ProgressBar progress(args.compile_only ? "compiling" : "tuning");
  TuneOptions options;
  options.force = args.force;
  options.compile_only = args.compile_only;
  options.arch = args.arch;
  options.compile_threads = args.jobs;
  options.max_candidates = args.max_candidates;
  options.tolerance = args.tolerance;
  options.device = args.device;
  options.candidate_timeout_s = args.timeout_s;
  options.observer = args.json ? nullptr : &progress;
  const AutoTuneReport report = tune_with_policy(spec, *db, policy, options);
  if (policy.is_auto()) {
    if (args.json)
      std::cout << auto_report_json(report, database).dump(2) << '\n';
    else if (args.compile_only)
      for (const TuneReport& sweep : report.sweeps) print_compiled(sweep, args);
    else
      print_auto(report, policy, database);
    if (!args.compile_only) return report.chosen ? kSuccess : kFailure;
    return std::ranges::all_of(report.sweeps, [](const TuneReport& r) { return r.compiled > 0; })
               ? kSuccess
               : kFailure;
  }
  const TuneReport& sweep = report.sweeps.front();
  if (args.json)
    std::cout << to_json(sweep, database).dump(2) << '\n';
  else if (sweep.compile_only)
    print_compiled(sweep, args);
  else
    print_measured(sweep, args, database);
  if (sweep.compile_only) return sweep.compiled > 0 ? kSuccess : kFailure;
  return sweep.winner ? kSuccess : kFailure;
}

}  // namespace

void add_tune_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* command = app.add_subcommand(
      "tune", "Tune a spec: compile, verify and time every candidate; keep the fastest");
  command
      ->add_option("spec", args->spec,
                   "the fused operation, e.g. \"linear(m=1024, n=8192, "
                   "k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)\"")
      ->required();
  add_database_option(*command, args->database);
  command->add_flag("--force", args->force, "tune again even if the database has a result");
  command->add_flag("--json", args->json, "print one JSON object instead of tables");
  command->add_flag("--compile-only", args->compile_only,
                    "generate and compile the search space for --arch; needs no GPU");
  command->add_option("--arch", args->arch, "target of --compile-only")
      ->check(arch_names())
      ->capture_default_str();
  command->add_option("--jobs,-j", args->jobs,
                      "compile threads (default: the cores, fewer if "
                      "memory is short)");
  command->add_option("--top", args->top, "rows to show")->capture_default_str();
  command->add_option("--max-candidates", args->max_candidates,
                      "try at most this many candidates, each family's best predicted in turn "
                      "(default: all); the result is stored like a full sweep's");
  command->add_flag("--all", args->all, "show every candidate");
  command
      ->add_option("--precision", args->precision,
                   "arithmetic: fp32 (FFMA), 3xtf32 (tensor cores, fp32-level accuracy), tf32 "
                   "(tensor cores) for fp32 inputs; bf16 or fp16 for inputs of that dtype; or "
                   "auto: each precision whose typical error is within --tolerance, keeping the "
                   "fastest whose measured error is (default: the inputs' type, fp32 FFMA for "
                   "fp32)")
      ->check(precision_names_or_auto());
  command->add_option("--tolerance", args->tolerance,
                      "largest relative error against fp64 a winner may have (default 1e-5; "
                      "5e-4 for tf32; 1e-4 for bf16/fp16 inputs; with a bf16 or fp16 output "
                      "1e-2 or 2e-3)");
  command->add_option("--device", args->device, "CUDA device number")->capture_default_str();
  command
      ->add_option("--timeout", args->timeout_s, "seconds after which a candidate counts as hung")
      ->capture_default_str();
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
