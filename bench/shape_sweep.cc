#include "bench/shape_sweep.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "cache/database.h"
#include "fusetune/status.h"
#include "generator/precision_policy.h"
#include "generator/spec_parser.h"
#include "runtime/device.h"
#include "tuner/tune_auto.h"

namespace fusetune {
namespace {

ShapeResult run_shape(const Spec& spec, cache::Database& db, const ShapeSweepOptions& options) {
  ShapeResult result;
  result.m = spec.main.m;
  result.n = spec.main.n;
  result.k = spec.main.k;
  result.spec = spec.canonical();
  try {
    TuneOptions tune_options;
    tune_options.max_candidates = options.max_candidates;
    // Fewer, shorter finals than a full tune: the bench that follows times the winner again.
    tune_options.finalists = 4;
    tune_options.final_rounds = 2;
    const PrecisionPolicy policy = make_precision_policy(
        options.precision ? to_string(*options.precision) : std::string_view("auto"), std::nullopt,
        spec.main);
    const AutoTuneReport tuned = tune_with_policy(spec, db, policy, tune_options);
    result.tuning_seconds = tuned.tuning_seconds;
    const TuneReport* chosen = tuned.chosen_sweep();
    if (!chosen) {
      result.error = policy.is_auto()
                         ? fmt::format("no precision has a winner within {:g}", policy.tolerance)
                         : "no candidate passed verification";
      return result;
    }
    result.precision = chosen->precision;
    BenchOptions bench_options;
    bench_options.database = db.path();
    // Under auto the library loads the chosen precision's winner; the baseline is SGEMM.
    bench_options.precision = options.precision.value_or(Precision::fp32);
    if (policy.is_auto()) bench_options.library_precision = "auto";
    bench_options.rounds = options.rounds;
    bench_options.constant_weight = options.constant_weight;
    bench_options.inputs = options.inputs;
    result.bench = bench_spec(spec, bench_options);
  } catch (const Error& e) {
    result.error = e.what();
  }
  return result;
}

}  // namespace

std::vector<Spec> shape_specs(const ShapeSweepOptions& options) {
  // 16-bit precisions multiply inputs of their own type.
  const DataType dtype = input_type(options.precision.value_or(Precision::fp32));
  const std::string dtype_argument =
      dtype == DataType::fp32 ? "" : fmt::format(", dtype={}", to_string(dtype));
  std::vector<Spec> specs;
  for (std::int64_t m : options.m)
    for (std::int64_t n : options.n)
      for (std::int64_t k : options.k)
        specs.push_back(parse_spec(fmt::format("linear(m={}, n={}, k={}{}) {}", m, n, k,
                                               dtype_argument, options.epilogue)));
  return specs;
}

ShapeSweepReport sweep_shapes(const ShapeSweepOptions& options) {
  const std::vector<Spec> specs = shape_specs(options);
  ShapeSweepReport report;
  report.precision = options.precision;
  report.inputs = options.inputs;
  report.device = require_device().description();
  const std::unique_ptr<cache::Database> db = cache::Database::open(
      options.database.empty() ? cache::Database::default_path() : options.database);
  const int total = static_cast<int>(specs.size());
  double log_sum = 0;
  int timed = 0;
  report.min_speedup = std::numeric_limits<double>::infinity();
  for (const Spec& spec : specs) {
    ShapeResult result = run_shape(spec, *db, options);
    if (result.bench) {
      log_sum += std::log(result.bench->speedup);
      report.min_speedup = std::min(report.min_speedup, result.bench->speedup);
      ++timed;
    } else {
      ++report.failed;
    }
    report.shapes.push_back(std::move(result));
    if (options.on_shape)
      options.on_shape(report.shapes.back(), static_cast<int>(report.shapes.size()), total);
  }
  report.geomean_speedup = timed ? std::exp(log_sum / timed) : 0;
  if (!timed) report.min_speedup = 0;
  return report;
}

}  // namespace fusetune
