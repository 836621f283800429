// fusetune's kernel for a spec against cuBLAS SGEMM + a separate epilogue kernel, timed
// alternately in one process on the same inputs, both checked against the fp64 reference.
// Convolutions and chains that reduce have no baseline here: bench/torch_conv_bench.py and
// bench/reduction_patterns.py time PyTorch's. With a rival
// database, the baseline is instead the kernel tuned for the spec in that one (two tunings of
// the same spec, e.g. exhaustive against budgeted, timed alike).
#pragma once

#include <string>

#include "generator/precision.h"
#include "generator/spec.h"
#include "runtime/timing.h"
#include "tuner/input_distribution.h"

namespace fusetune {

struct BenchSide {
  std::string name;      // the configuration, or "cuBLAS SGEMM + epilogue"
  double median_ms = 0;  // median over rounds of each round's median
  double rel_err = 0;    // against fp64
};

struct BenchReport {
  std::string spec;
  std::string device;
  double flops = 0;
  bool tuned = false;     // false: an untuned spec, run with a nearest tuned shape's winner or the
                          // default configuration
  double load_ms = 0;     // Library::load of the spec: a warm load, or one compile when untuned
  int load_compiles = 0;  // NVRTC compiles that load made: 0 for a tuned shape or bucket
  int rounds = 0;
  BenchSide fusetune;
  bool constant_weight = false;                           // BenchOptions's
  InputDistribution inputs = InputDistribution::uniform;  // BenchOptions's
  bool has_baseline = true;  // false for convolutions and chains that reduce
  BenchSide baseline;
  double speedup = 0;  // baseline time / fusetune time
};

struct BenchOptions {
  std::string database;                   // empty: the default database
  Precision precision = Precision::fp32;  // fusetune's kernel; the baseline matches it (TF32
                                          // cuBLAS for tf32, fp32 SGEMM otherwise)
  // Both kernels' precision as the library takes it: "auto" loads the fastest tuned within the
  // precision's default tolerance (the baseline is then SGEMM); "": `precision`.
  std::string library_precision;
  std::string rival_database;  // non-empty: the baseline is the kernel tuned in this database
  int rounds = 5;              // A B A B ...: each round times both sides once
  // The weight (a linear layer's or matmul's second operand) as an inference model's: fusetune's
  // timed launches say it is unchanged (Arguments::unchanged), so what a kernel prepares from
  // it (int8x's digits) is prepared once; the output of such a launch is verified too.
  bool constant_weight = false;
  // How the inputs both sides run on are drawn (normal: values far below a row's largest, which
  // int8x's guard must answer for).
  InputDistribution inputs = InputDistribution::uniform;
  TimingOptions timing;
};

// Throws Error: no_device, database_error, cuda_error, compile_error; invalid_argument when the
// rival database has no tuning of the spec; internal when either side's output fails
// verification (with both errors in the message).
BenchReport bench_spec(const Spec& spec, const BenchOptions& options);

}  // namespace fusetune
