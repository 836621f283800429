// fusetune bench-shapes: the shape sweep (bench/shape_sweep.h) at one or more precisions, one
// table per precision with each shape's speedup over cuBLAS and the geometric mean.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "bench/shape_sweep.h"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/option_checks.h"
#include "tools/report_format.h"
#include "tools/table.h"

namespace fusetune::cli {
namespace {

// A sweep's precision as the user names it: "auto" where each shape gets its own.
std::string precision_name(const std::optional<Precision>& precision) {
  return precision ? std::string(to_string(*precision)) : "auto";
}

// "auto" or a precision's name, as --precision checked it.
std::optional<Precision> sweep_precision(const std::string& name) {
  return name == "auto" ? std::nullopt : precision_from_string(name);
}

struct BenchShapesArgs {
  std::vector<std::string> precisions = {"fp32", "3xtf32", "tf32", "bf16", "fp16"};
  ShapeSweepOptions sweep;
  std::string database;
  std::string inputs = "uniform";
  bool json = false;
};

nlohmann::json shape_json(const ShapeResult& r) {
  nlohmann::json j = {
      {"m", r.m}, {"n", r.n}, {"k", r.k}, {"spec", r.spec}, {"tuning_s", r.tuning_seconds}};
  if (!r.bench) {
    j["error"] = r.error;
    return j;
  }
  j["precision"] = r.precision;
  j["config"] = r.bench->fusetune.name;
  j["ms"] = r.bench->fusetune.median_ms;
  j["rel_err"] = r.bench->fusetune.rel_err;
  j["baseline"] = r.bench->baseline.name;
  j["baseline_ms"] = r.bench->baseline.median_ms;
  j["baseline_rel_err"] = r.bench->baseline.rel_err;
  j["speedup"] = r.bench->speedup;
  return j;
}

void print_table(const ShapeSweepReport& report) {
  Table table({{"M", true},
               {"N", true},
               {"K", true},
               {"precision"},
               {"fusetune config"},
               {"ms", true},
               {"rel err", true},
               {"cuBLAS ms", true},
               {"speedup", true}});
  for (const ShapeResult& r : report.shapes) {
    if (!r.bench) {
      table.add_row({std::to_string(r.m), std::to_string(r.n), std::to_string(r.k), "-",
                     "failed: " + r.error, "-", "-", "-", "-"});
      continue;
    }
    table.add_row({std::to_string(r.m), std::to_string(r.n), std::to_string(r.k), r.precision,
                   r.bench->fusetune.name, format_ms(r.bench->fusetune.median_ms),
                   format_error(r.bench->fusetune.rel_err), format_ms(r.bench->baseline.median_ms),
                   fmt::format("{:.3f}x", r.bench->speedup)});
  }
  const std::string baseline = report.shapes.empty() || !report.shapes.front().bench
                                   ? "cuBLAS"
                                   : report.shapes.front().bench->baseline.name;
  fmt::print("\nprecision {} on {}, against {}{}\n{}", precision_name(report.precision),
             report.device, baseline,
             report.inputs == InputDistribution::normal ? ", normal inputs" : "", table.render());
  fmt::print("geometric mean {:.3f}x, lowest {:.3f}x over {} shapes{}\n", report.geomean_speedup,
             report.min_speedup, report.shapes.size() - report.failed,
             report.failed ? fmt::format(", {} failed", report.failed) : "");
}

int run(BenchShapesArgs args) {
  // Every precision's specs first: a bad --epilogue or shape is bad usage, found before any work.
  for (const std::string& name : args.precisions) {
    ShapeSweepOptions sweep = args.sweep;
    sweep.precision = sweep_precision(name);
    shape_specs(sweep);
  }
  args.sweep.database = database_path(args.database);
  args.sweep.inputs = input_distribution(args.inputs);
  if (!args.json)
    args.sweep.on_shape = [](const ShapeResult& r, int done, int total) {
      if (r.bench)
        fmt::print(stderr, "[{:>2}/{}] {}: {:.3f}x ({} ms at {} vs {} ms), tuned in {:.1f} s\n",
                   done, total, r.spec, r.bench->speedup, format_ms(r.bench->fusetune.median_ms),
                   r.precision, format_ms(r.bench->baseline.median_ms), r.tuning_seconds);
      else
        fmt::print(stderr, "[{:>2}/{}] {}: failed: {}\n", done, total, r.spec, r.error);
    };
  nlohmann::json all = nlohmann::json::array();
  int failed = 0;
  for (const std::string& name : args.precisions) {
    args.sweep.precision = sweep_precision(name);
    const ShapeSweepReport report = sweep_shapes(args.sweep);
    failed += report.failed;
    if (!args.json) {
      print_table(report);
      continue;
    }
    nlohmann::json shapes = nlohmann::json::array();
    for (const ShapeResult& r : report.shapes) shapes.push_back(shape_json(r));
    all.push_back({{"precision", name},
                   {"device", report.device},
                   {"inputs", to_string(report.inputs)},
                   {"geomean_speedup", report.geomean_speedup},
                   {"min_speedup", report.min_speedup},
                   {"failed", report.failed},
                   {"shapes", std::move(shapes)}});
  }
  if (args.json) print_json({{"precisions", std::move(all)}});
  return failed ? kFailure : kSuccess;
}

}  // namespace

void add_bench_shapes_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchShapesArgs>();
  CLI::App* command = app.add_subcommand(
      "bench-shapes",
      "Tune and time linear layers of many shapes against cuBLAS + a separate epilogue kernel");
  add_database_option(*command, args->database);
  command
      ->add_option("--precision", args->precisions,
                   "precisions to sweep, one table each (bf16 and fp16 on inputs of that dtype); "
                   "auto: each shape at the fastest precision within fp32's tolerance (1e-5), "
                   "as the library would choose, against SGEMM")
      ->delimiter(',')
      ->check(precision_names_or_auto())
      ->capture_default_str();
  command->add_option("--m", args->sweep.m, "rows (batch)")->delimiter(',')->capture_default_str();
  command->add_option("--n", args->sweep.n, "output features")
      ->delimiter(',')
      ->capture_default_str();
  command->add_option("--k", args->sweep.k, "input features")
      ->delimiter(',')
      ->capture_default_str();
  command->add_option("--epilogue", args->sweep.epilogue, "the chain after the linear layer")
      ->capture_default_str();
  command
      ->add_option("--max-candidates", args->sweep.max_candidates,
                   "candidates tuned per shape (each family's best predicted; 0: all)")
      ->check(candidate_count())
      ->capture_default_str();
  command->add_option("--rounds", args->sweep.rounds, "alternating bench rounds per shape")
      ->check(whole_number("--rounds", 1, "a number of rounds"))
      ->capture_default_str();
  command->add_flag("--constant-weight", args->sweep.constant_weight,
                    "each weight as an inference model's: what fusetune prepares from it "
                    "(int8x's digits) prepared once, as for Arguments::unchanged");
  add_inputs_option(*command, args->inputs);
  command->add_flag("--json", args->json, "print JSON");
  command->callback([args, &exit_code] { exit_code = run(*args); });
}

}  // namespace fusetune::cli
