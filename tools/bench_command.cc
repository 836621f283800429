// fusetune bench SPEC: the tuned kernel against cuBLAS SGEMM + a separate epilogue kernel
// (convolutions: the kernel alone; bench/torch_conv_bench.py times PyTorch's).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench/spec_bench.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "tools/commands.h"
#include "tools/report_format.h"
#include "tools/table.h"

namespace fusetune::cli {
namespace {

struct BenchArgs {
  std::string spec;
  std::string database;
  int rounds = 5;
  bool json = false;
  std::string precision;  // "": the inputs' own
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
  const Spec spec = parse_spec(args.spec);
  options.precision = *make_precision_policy(args.precision, std::nullopt, spec.main).precision;
  const BenchReport report = bench_spec(spec, options);
  if (args.json) {
    std::cout << nlohmann::json{{"spec", report.spec},
                                {"device", report.device},
                                {"tuned", report.tuned},
                                {"load_ms", report.load_ms},
                                {"rounds", report.rounds},
                                {"fusetune", side_json(report.fusetune, report.flops)},
                                {"baseline", report.has_baseline
                                                 ? side_json(report.baseline, report.flops)
                                                 : nlohmann::json()},
                                {"speedup", report.has_baseline ? nlohmann::json(report.speedup)
                                                                : nlohmann::json()}}
                     .dump(2)
              << '\n';
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
        "{}\n{}{}\n\n{}\nno baseline here for convolutions: python3 "
        "bench/torch_conv_bench.py times PyTorch's\n",
        report.spec, report.device, untuned, table.render());
    return kSuccess;
  }
  table.add_row({"baseline", report.baseline.name, format_ms(report.baseline.median_ms),
                 format_tflops(report.flops, report.baseline.median_ms),
                 format_error(report.baseline.rel_err)});
  fmt::print("{}\n{}{}\n\n{}\nspeedup (baseline / fusetune): {:.3f}x  ({} rounds, alternating)\n",
             report.spec, report.device, untuned, table.render(), report.speedup, report.rounds);
  return kSuccess;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* command = app.add_subcommand(
      "bench", "Time the tuned kernel against cuBLAS SGEMM + a separate epilogue kernel");
  command->add_option("spec", args->spec, "the fused operation")->required();
  add_database_option(*command, args->database);
  command->add_option("--rounds", args->rounds, "alternating rounds (each times both)")
      ->capture_default_str();
  command->add_flag("--json", args->json, "print JSON");
  command
      ->add_option("--precision", args->precision,
                   "fusetune's kernel (tuned at this precision) and a matching cuBLAS baseline "
                   "(default: the inputs' type)")
      ->check(precision_names());
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
