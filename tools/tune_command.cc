// fusetune tune SPEC: runs (or recalls) the sweep and shows the best candidates; with --specs,
// the same for every spec of a list (tools/tune_list.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>

#include "cache/database.h"
#include "cache/layers.h"
#include "generator/row_buckets.h"
#include "generator/spec_parser.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/option_checks.h"
#include "tools/progress_bar.h"
#include "tools/report_format.h"
#include "tools/table.h"
#include "tools/tune_args.h"
#include "tools/tune_list.h"
#include "tools/tune_misses.h"
#include "tuner/shard.h"
#include "tuner/tune.h"
#include "tuner/tune_auto.h"

namespace fusetune::cli {
namespace {

std::string failures(const TuneReport& report) {
  std::string text;
  for (const auto& [outcome, count] : report.failed)
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", count, outcome);
  return text.empty() ? "none failed" : text;
}

// "24 compiled" or "24 compiled (10 found in the database)".
std::string compiled(const TuneReport& report) {
  if (report.from_database == 0) return fmt::format("{} compiled", report.compiled);
  return fmt::format("{} compiled ({} found in the database)", report.compiled,
                     report.from_database);
}

// ", within a budget of 4.0 s: 130 of 520 candidates screened" for a budget sweep run now.
std::string budget_note(const TuneReport& report) {
  if (!report.budget_s || report.from_cache) return "";
  return fmt::format(", within a budget of {:.1f} s: {} of {} candidates screened",
                     *report.budget_s, report.candidates, report.space_size);
}

// Where a sweep's results are: the database tuned into, or the system one it was recalled from.
std::string source_of(const TuneReport& report, const std::string& database,
                      const std::optional<std::string>& system) {
  return report.from_system && system ? fmt::format("the system database {}", *system) : database;
}

// Where the winner this tuning replaced kept its place over a faster time, says so: the user
// sees why the winner is not the top time.
void print_kept_incumbent(const TuneReport& report) {
  const CandidateResult& w = *report.winner;
  if (report.incumbent.empty() || w.name != report.incumbent || !w.time_ms) return;
  for (const CandidateResult& r : report.results)
    if (r.outcome == Outcome::ok && r.time_ms && *r.time_ms < *w.time_ms) {
      fmt::print(
          "kept the previous winner: {} ran {:.1f}% faster this time, within the noise that "
          "keeps it (a wider margin would replace it)\n",
          r.name, (*w.time_ms / *r.time_ms - 1) * 100);
      return;
    }
}

void print_measured(const TuneReport& report, const TuneArgs& args, const std::string& database,
                    const std::optional<std::string>& system) {
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
  fmt::print("{}\n{}   precision {}   {} candidates, {}, {}\n", report.spec, report.device,
             report.precision, report.candidates, compiled(report), failures(report));
  if (report.from_cache)
    fmt::print("from {} (tuned in {:.1f} s; --force tunes again{})\n",
               source_of(report, database, system), report.tuning_seconds,
               report.from_system ? fmt::format(", into {}", database) : "");
  else if (!report.reverified.empty())
    fmt::print(
        "re-verified in {:.1f} s into {}: the soft keys changed ({}), so the winner and "
        "runner-up were checked and timed again instead of tuning anew (--force tunes anew)\n",
        report.tuning_seconds, database, fmt::join(report.reverified, ", "));
  else
    fmt::print("tuned in {:.1f} s into {}{}\n", report.tuning_seconds, database,
               budget_note(report));
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
  print_kept_incumbent(report);
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
  fmt::print("{}\n{}   {} candidates, {}, {}   {:.1f} s\n\n{}", report.spec, report.device,
             report.candidates, compiled(report), failures(report), report.tuning_seconds,
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
    table.add_row({sweep.precision, sweep.winner ? sweep.winner->name : "-", format_ms(ms),
                   format_tflops(sweep.flops, ms), format_error(error),
                   sweep.from_system  ? "from the system database"
                   : sweep.from_cache ? "from cache"
                   : !sweep.reverified.empty()
                       ? fmt::format("re-verified, {:.1f} s", sweep.tuning_seconds)
                       : fmt::format("now, {:.1f} s{}", sweep.tuning_seconds, budget_note(sweep)),
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

int run(const TuneArgs& args) {
  const Spec spec = parse_spec(args.spec);
  const PrecisionPolicy policy = reading_options(
      [&] { return make_precision_policy(args.precision, args.tolerance, spec.main); });
  const std::string database = database_path(args.database);
  const std::optional<std::string> system_path = system_database_path(args.system);
  const std::unique_ptr<cache::Database> system = cache::Layers::open_system(system_path);
  const std::unique_ptr<cache::Database> db = cache::Database::open(database);
  ProgressBar progress(args.compile_only ? "compiling" : "tuning");
  TuneOptions options = tune_options(args);
  options.observer = args.json ? nullptr : &progress;
  options.system = system.get();
  const AutoTuneReport report = tune_with_policy(spec, *db, policy, options);
  if (args.json)
    print_json(to_json(report, policy.is_auto(), database));
  else if (args.compile_only)
    for (const TuneReport& sweep : report.sweeps) print_compiled(sweep, args);
  else if (policy.is_auto())
    print_auto(report, policy, database);
  else
    print_measured(report.sweeps.front(), args, database, system ? system_path : std::nullopt);
  return report.succeeded() ? kSuccess : kFailure;
}

// --buckets: the power-of-two buckets of SPEC's range of rows, tuned as a list.
int tune_buckets(const TuneArgs& args) {
  const Spec spec = parse_spec(args.spec);
  if (!spec.main.is_row_range())
    throw CLI::ValidationError("--buckets",
                               "--buckets splits a range of rows into buckets: write m as a "
                               "range, e.g. linear(m=1..4096, n=8192, k=8192)");
  std::vector<std::string> specs;
  for (const Spec& bucket : power_of_two_buckets(spec)) specs.push_back(bucket.canonical());
  const std::vector<SpecOutcome> outcomes =
      tune_specs(args, specs, fmt::format("the buckets of {}", spec.canonical()));
  if (args.json) print_list_json(outcomes, args);
  return std::ranges::all_of(outcomes, &SpecOutcome::succeeded) ? kSuccess : kFailure;
}

CLI::Validator budget_seconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double seconds = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
        if (error == std::errc() && end == text.data() + text.size() && std::isfinite(seconds) &&
            seconds > 0)
          return "";
        return "the budget must be a positive number of seconds, e.g. 5 (a quarter of an "
               "exhaustive sweep's time is a good start); got '" +
               text + "'";
      },
      "SECONDS");
}

CLI::Validator shard_names() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parse_shard(text)) return "";
        return "--shard takes I/N with 0 <= I < N (share I of N shares), e.g. 0/4; got '" + text +
               "'";
      },
      "I/N");
}

// --specs, --shard and --devices: tuning a list, a share of one, or on several GPUs at once.
void add_list_options(CLI::App& command, TuneArgs& args, CLI::Option* spec,
                      CLI::Option* compile_only) {
  CLI::Option* specs =
      command
          .add_option("--specs", args.specs_file,
                      "tune every spec of FILE instead of SPEC: one per line, '#' starts a "
                      "comment, duplicates tuned once, in sorted order. A line that does not "
                      "parse stops the run before anything is tuned; a spec that fails does not "
                      "stop the others. Prints a line per spec and a summary table (--json: one "
                      "document with each spec's report); exit status 1 if any spec failed")
          ->check(CLI::ExistingFile)
          ->excludes(spec);
  command
      .add_option("--shard", args.shard,
                  "with --specs: tune share I of N only. The list's specs, canonical texts "
                  "sorted and duplicates dropped, are numbered j = 0, 1, ...; spec j belongs to "
                  "share j mod N. The shares depend on the list alone, not on the order of its "
                  "lines, so the N jobs of a job array (I = 0 .. N-1), each with its own --db, "
                  "tune the list exactly once between them")
      ->check(shard_names())
      ->needs(specs);
  command
      .add_option("--devices", args.devices,
                  "with --specs: tune on these CUDA devices at once, e.g. 0,1,2,3: a thread per "
                  "device takes the next spec as it finishes one, and each runs its own worker "
                  "process and database connection; --jobs is shared among them. A device listed "
                  "twice (0,0) runs two workers on it, which shows the parallel tuning on a "
                  "one-GPU machine but makes their timings disturb each other")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber)
      ->needs(specs)
      ->excludes(compile_only);
}

}  // namespace

void add_tune_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* command = app.add_subcommand(
      "tune", "Tune a spec: compile, verify and time every candidate; keep the fastest");
  CLI::Option* spec = command->add_option("spec", args->spec,
                                          "the fused operation, e.g. \"linear(m=1024, n=8192, "
                                          "k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)\"");
  add_database_option(*command, args->database);
  add_system_database_option(*command, args->system);
  command->add_flag("--force", args->force,
                    "tune again even if the database (or the system one) has a result");
  command->add_flag("--json", args->json, "print one JSON object instead of tables");
  CLI::Option* compile_only =
      command->add_flag("--compile-only", args->compile_only,
                        "generate and compile the search space for --arch; needs no GPU");
  add_list_options(*command, *args, spec, compile_only);
  command
      ->add_flag("--buckets", args->buckets,
                 "SPEC's m is a range (m=1..4096): tune it as buckets 1..16, 17..32, 33..64, ... "
                 "(powers of two, cut to the range), each a kernel that takes its rows at launch, "
                 "as a list. A call whose rows fall in a tuned bucket loads its kernel without "
                 "compiling; a shape tuned on its own keeps its own winner")
      ->needs(spec)
      ->excludes("--specs");
  command
      ->add_flag("--misses", args->misses,
                 "tune every spec loaded untuned on this GPU so far (the library notes each such "
                 "load in the database, and serves it the nearest tuned shape's winner "
                 "meanwhile), each at the precision it was loaded with; those tuned leave the "
                 "list")
      ->excludes(spec)
      ->excludes("--specs")
      ->excludes(compile_only);
  // Lists and misses tune into --db alone (their recalls read no system layer yet).
  command->get_option("--system")->excludes("--specs")->excludes("--misses");
  command->add_option("--arch", args->arch, "target of --compile-only")
      ->check(arch_names())
      ->capture_default_str();
  command
      ->add_option("--jobs,-j", args->jobs,
                   "compile threads (default: the cores, fewer if memory is short; shared "
                   "among the devices of --devices)")
      ->check(whole_number("--jobs", 0, "a number of compile threads (0: the default)"));
  command->add_option("--top", args->top, "rows to show")
      ->check(whole_number("--top", 0, "a number of rows"))
      ->capture_default_str();
  command
      ->add_option("--max-candidates", args->max_candidates,
                   "try at most this many candidates, each family's best predicted in turn "
                   "(default, or 0: all); the result is stored like a full sweep's")
      ->check(candidate_count());
  command
      ->add_option("--budget-s", args->budget_s,
                   "tune within this many seconds instead of screening the whole space: the "
                   "families' best predicted first, then the neighbours of the fastest so far "
                   "(a setting or two changed), keeping a fifth of the time for the finalists. "
                   "With --specs each spec gets the budget; with --precision auto it is shared "
                   "among the precisions by the sizes of their spaces. Stored like a full "
                   "sweep's: --force replaces it")
      ->check(budget_seconds());
  command->add_flag("--all", args->all, "show every candidate");
  command
      ->add_option("--precision", args->precision,
                   "arithmetic: fp32 (FFMA), 3xtf32 (tensor cores, fp32-level accuracy), tf32 "
                   "(tensor cores) for fp32 inputs; bf16 or fp16 for inputs of that dtype; or "
                   "auto: each precision whose typical error is within --tolerance, keeping the "
                   "fastest whose measured error is (default: the inputs' type, fp32 FFMA for "
                   "fp32)")
      ->check(precision_names_or_auto());
  command
      ->add_option("--tolerance", args->tolerance,
                   "largest relative error against fp64 a winner may have, below 1 (default "
                   "1e-5; 5e-4 for tf32; 1e-4 for bf16/fp16 inputs; with a bf16 or fp16 output "
                   "1e-2 or 2e-3)")
      ->check(tolerance_value());
  command->add_option("--device", args->device, "CUDA device number")
      ->capture_default_str()
      ->excludes("--devices");
  command
      ->add_option("--timeout", args->timeout_s, "seconds after which a candidate counts as hung")
      ->check(positive_seconds("--timeout"))
      ->capture_default_str();
  command->callback([args, spec, &exit_code] {
    if (args->budget_s && args->compile_only)
      throw CLI::ValidationError(
          "--budget-s",
          "a compile-only sweep measures nothing, so it has no use for a "
          "budget: drop --budget-s, or drop --compile-only to tune on a GPU");
    if (args->misses)
      exit_code = tune_misses(*args);
    else if (!args->specs_file.empty())
      exit_code = tune_list(*args);
    else if (args->buckets)
      exit_code = tune_buckets(*args);
    else if (spec->count() > 0)
      exit_code = run(*args);
    else
      throw CLI::RequiredError("a SPEC, --specs FILE or --misses");
  });
}

}  // namespace fusetune::cli
