// fusetune bench SPEC: the tuned kernel against cuBLAS SGEMM + a separate epilogue kernel
// (convolutions and chains that reduce: the kernel alone; bench/torch_conv_bench.py and
// bench/reduction_patterns.py time PyTorch's).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "bench/spec_bench.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/option_checks.h"
#include "tools/report_format.h"
#include "tools/table.h"

namespace fusetune::cli {
namespace {

struct BenchArgs {
  std::string spec;
  std::string database;
  std::string against;  // --against-db: the baseline is the kernel tuned there
  int rounds = 5;
  bool json = false;
  bool constant_weight = false;
  std::string inputs = "uniform";
  std::string precision;  // "": the inputs' own; "auto": the fastest tuned within tolerance
};

nlohmann::json side_json(const BenchSide& side, double flops) {
  return {{"name", side.name},
          {"median_ms", side.median_ms},
          {"tflops", flops / (side.median_ms * 1e-3) / 1e12},
          {"rel_err", side.rel_err}};
}

int run(const BenchArgs& args) {
  BenchOptions options;
  options.database = database_path(args.database);
  options.rounds = args.rounds;
  options.constant_weight = args.constant_weight;
  options.inputs = input_distribution(args.inputs);
  if (!args.against.empty()) options.rival_database = database_path(args.against);
  const Spec spec = parse_spec(args.spec);
  const PrecisionPolicy policy = reading_options(
      [&] { return make_precision_policy(args.precision, std::nullopt, spec.main); });
  // Under auto the library chooses the precision; its winners are fp32-accurate, as SGEMM is.
  options.precision = policy.precision.value_or(Precision::fp32);
  if (policy.is_auto()) options.library_precision = "auto";
  const BenchReport report = bench_spec(spec, options);
  if (args.json) {
    print_json(
        {{"spec", report.spec},
         {"device", report.device},
         {"tuned", report.tuned},
         {"load_ms", report.load_ms},
         {"load_compiles", report.load_compiles},
         {"rounds", report.rounds},
         {"constant_weight", report.constant_weight},
         {"inputs", to_string(report.inputs)},
         {"against_db", options.rival_database.empty() ? nlohmann::json()
                                                       : nlohmann::json(options.rival_database)},
         {"fusetune", side_json(report.fusetune, report.flops)},
         {"baseline",
          report.has_baseline ? side_json(report.baseline, report.flops) : nlohmann::json()},
         {"speedup", report.has_baseline ? nlohmann::json(report.speedup) : nlohmann::json()}});
    return kSuccess;
  }
  Table table({{""}, {"kernel"}, {"median ms", true}, {"TFLOP/s", true}, {"rel err", true}});
  table.add_row({"fusetune", report.fusetune.name, format_ms(report.fusetune.median_ms),
                 format_tflops(report.flops, report.fusetune.median_ms),
                 format_error(report.fusetune.rel_err)});
  const std::string untuned =
      report.tuned ? fmt::format("  (loaded in {:.1f} ms)", report.load_ms)
                   : fmt::format(
                         "  (untuned: a nearest tuned shape's winner or the default, "
                         "loaded in {:.0f} ms; run 'fusetune tune')",
                         report.load_ms);
  if (!report.has_baseline) {
    fmt::print(
        "{}\n{}{}\n\n{}\nno baseline here for convolutions and chains that reduce: python3 "
        "bench/torch_conv_bench.py and bench/reduction_patterns.py time PyTorch's\n",
        report.spec, report.device, untuned, table.render());
    return kSuccess;
  }
  table.add_row({args.against.empty() ? "baseline" : "--against-db", report.baseline.name,
                 format_ms(report.baseline.median_ms),
                 format_tflops(report.flops, report.baseline.median_ms),
                 format_error(report.baseline.rel_err)});
  fmt::print(
      "{}\n{}{}\n\n{}\nspeedup (baseline / fusetune): {:.3f}x  ({} rounds, alternating{}{})\n",
      report.spec, report.device, untuned, table.render(), report.speedup, report.rounds,
      report.inputs == InputDistribution::normal ? "; normal inputs" : "",
      report.constant_weight ? "; the weight constant, prepared once" : "");
  return kSuccess;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* command = app.add_subcommand(
      "bench", "Time the tuned kernel against cuBLAS SGEMM + a separate epilogue kernel");
  command->add_option("spec", args->spec, "the fused operation")->required();
  add_database_option(*command, args->database);
  command
      ->add_option("--against-db", args->against,
                   "time the kernel tuned in --db against the one tuned for the spec in this "
                   "database, instead of cuBLAS (e.g. an exhaustive sweep's winner against a "
                   "budgeted one's); speedup is then its time / --db's")
      ->check(existing_path("--against-db", "give the database the spec was tuned in"));
  command->add_option("--rounds", args->rounds, "alternating rounds (each times both)")
      ->check(whole_number("--rounds", 1, "a number of rounds"))
      ->capture_default_str();
  command->add_flag("--json", args->json, "print JSON");
  add_inputs_option(*command, args->inputs);
  command->add_flag("--constant-weight", args->constant_weight,
                    "the weight as an inference model's: unchanged between launches, so what "
                    "fusetune prepares from it (int8x's digits) is prepared once, as the library "
                    "does for Arguments::unchanged");
  command
      ->add_option("--precision", args->precision,
                   "fusetune's kernel (tuned at this precision) and a matching cuBLAS baseline "
                   "(default: the inputs' type); auto: the fastest tuned precision within its "
                   "default tolerance, against SGEMM")
      ->check(precision_names_or_auto());
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
