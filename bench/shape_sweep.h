// The shape sweep: linear layers of many shapes, each tuned (a short sweep) and then timed
// against cuBLAS at the same precision plus a separate epilogue kernel, with the geometric mean
// of the speedups. It shows where the generated kernels stand beyond the seed's one shape. Under
// auto each shape gets the precision the library would choose for it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/spec_bench.h"
#include "generator/precision.h"
#include "generator/spec.h"

namespace fusetune {

struct ShapeResult {
  std::int64_t m = 0, n = 0, k = 0;
  std::string spec;                  // canonical
  std::optional<BenchReport> bench;  // empty when tuning or timing failed
  std::string precision;             // the winner's: under auto, the one chosen
  std::string error;                 // why, when it failed
  double tuning_seconds = 0;
};

struct ShapeSweepOptions {
  std::vector<std::int64_t> m = {1, 16, 128, 1024, 4096};
  std::vector<std::int64_t> n = {1024, 4096, 8192};
  std::vector<std::int64_t> k = {1024, 4096, 8192};
  std::string epilogue = "-> bias -> mul(2.0) -> leaky_relu(0.1)";  // the seed's chain
  // Empty: auto, each shape at the fastest precision whose winner is within fp32's tolerance
  // (1e-5) — fp32 FFMA, 3xTF32, int8x — against SGEMM.
  std::optional<Precision> precision = Precision::fp32;
  std::string database;             // where shapes are tuned; empty: the default database
  std::size_t max_candidates = 24;  // per shape, the families' best predicted; 0: all
  int rounds = 3;                   // alternating bench rounds per shape
  bool constant_weight = false;     // BenchOptions::constant_weight
  InputDistribution inputs = InputDistribution::uniform;  // BenchOptions::inputs
  // Called after each shape, in order (`done` of `total`).
  std::function<void(const ShapeResult&, int done, int total)> on_shape;
};

struct ShapeSweepReport {
  std::optional<Precision> precision = Precision::fp32;  // empty: auto
  InputDistribution inputs = InputDistribution::uniform;
  std::string device;
  std::vector<ShapeResult> shapes;  // m slowest, then n, then k
  double geomean_speedup = 0;       // over the shapes that ran
  double min_speedup = 0;
  int failed = 0;
};

// The sweep's specs, m slowest, then n, then k. Throws Error(invalid_spec) where the shapes or
// the epilogue do not make one, before anything else is done.
std::vector<Spec> shape_specs(const ShapeSweepOptions& options);

// Throws Error(invalid_spec) as shape_specs does, Error(no_device) without a GPU; a shape that
// fails is reported in its row.
ShapeSweepReport sweep_shapes(const ShapeSweepOptions& options);

}  // namespace fusetune
