#include "bench/spec_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "bench/cublas_baseline.h"
#include "fusetune/fusetune.h"
#include "fusetune/status.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tuner/problem_data.h"

namespace fusetune {
namespace {

std::string upper(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct TunedKernel {
  std::unique_ptr<Library> library;  // keeps the kernel's module loaded
  std::shared_ptr<const Kernel> kernel;
  double load_ms = 0;
  int compiles = 0;
};

TunedKernel load_kernel(const Spec& spec, const std::string& database,
                        const BenchOptions& options) {
  Options library_options;
  library_options.database_path = database;
  library_options.precision = options.library_precision.empty()
                                  ? std::string(to_string(options.precision))
                                  : options.library_precision;
  Result<std::unique_ptr<Library>> library = Library::open(library_options);
  if (!library.ok()) throw Error(library.status().code(), library.status().message());
  const auto load_start = std::chrono::steady_clock::now();
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec.canonical());
  if (!kernel.ok()) throw Error(kernel.status().code(), kernel.status().message());
  return {std::move(library.value()), kernel.value(),
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start)
              .count(),
          static_cast<int>(nvrtc_compile_count() - compiles)};
}

}  // namespace

BenchReport bench_spec(const Spec& spec, const BenchOptions& options) {
  const DeviceInfo device = require_device();
  const TunedKernel loaded = load_kernel(spec, options.database, options);
  const std::shared_ptr<const Kernel>& kernel = loaded.kernel;
  std::optional<TunedKernel> rival;
  if (!options.rival_database.empty()) {
    rival = load_kernel(spec, options.rival_database, options);
    if (!rival->kernel->tuned())
      throw Error(StatusCode::invalid_argument,
                  fmt::format("'{}' is not tuned in {}; tune it there first (fusetune tune --db "
                              "{})",
                              spec.canonical(), options.rival_database, options.rival_database));
  }

  cudaStream_t raw_stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&raw_stream, cudaStreamNonBlocking), "creating a stream");
  const std::unique_ptr<CUstream_st, decltype(&cudaStreamDestroy)> owned_stream(raw_stream,
                                                                                &cudaStreamDestroy);
  cudaStream_t stream = raw_stream;
  ProblemData data(spec, std::random_device{}(), stream, false, options.inputs);
  DeviceBuffer baseline_out(data.output_count() * element_bytes(data.output_dtype()));
  std::optional<CublasBaseline> baseline;
  // cuBLAS and one elementwise kernel compute a GEMM's elementwise chain; PyTorch is the
  // baseline of convolutions and of chains that reduce (python3 bench/torch_conv_bench.py,
  // bench/reduction_patterns.py).
  const bool elementwise = std::all_of(spec.chain.begin(), spec.chain.end(), [](const ChainOp& op) {
    return std::holds_alternative<EpilogueOp>(op);
  });
  if (!spec.main.is_conv() && elementwise && !rival)
    baseline.emplace(spec, options.precision == Precision::tf32);
  L2Flusher flusher(device.l2_bytes);

  const LaunchArgs& args = data.launch_args();
  Arguments arguments;
  for (std::size_t i = 0; i < spec.tensors().size(); ++i)
    arguments.tensors.push_back(args.tensors[i]);
  arguments.out = data.output();
  LaunchArgs baseline_args = args;
  baseline_args.out = baseline_out.as<float>();  // of the output's dtype
  Arguments rival_arguments = arguments;
  rival_arguments.out = baseline_out.as<void>();
  // After the first launch, the weight is unchanged for the launches timed.
  Arguments timed_arguments = arguments;
  if (options.constant_weight && !spec.main.is_conv()) timed_arguments.unchanged = {1};
  auto ours = [&](cudaStream_t s) {
    const Status status = kernel->launch(s, timed_arguments);
    return status.ok() ? cudaSuccess : cudaErrorLaunchFailure;
  };
  auto theirs = [&](cudaStream_t s) {
    if (!rival) return baseline->run(s, baseline_args);
    const Status status = rival->kernel->launch(s, rival_arguments);
    return status.ok() ? cudaSuccess : cudaErrorLaunchFailure;
  };

  BenchReport report;
  report.spec = spec.canonical();
  report.device = device.description();
  report.flops = spec.flops();
  report.tuned = kernel->tuned();
  report.load_ms = loaded.load_ms;
  report.load_compiles = loaded.compiles;
  report.rounds = options.rounds;
  report.fusetune.name = kernel->config();
  report.has_baseline = baseline || rival;
  // SGEMM for fp32, 3xTF32 and int8x (fp32-accurate); the matching tensor-core GEMM otherwise.
  const Precision gemm =
      options.precision == Precision::tf32x3 || options.precision == Precision::int8x
          ? Precision::fp32
          : options.precision;
  report.baseline.name = gemm == Precision::fp32
                             ? "cuBLAS SGEMM + epilogue"
                             : fmt::format("cuBLAS {} GEMM + epilogue", upper(to_string(gemm)));
  if (rival) report.baseline.name = rival->kernel->config();

  report.constant_weight = !timed_arguments.unchanged.empty();
  report.inputs = options.inputs;
  data.poison_output();
  check_cuda(ours(stream), "launching the fusetune kernel");
  report.fusetune.rel_err = data.verify().rel_err;
  if (report.constant_weight) {  // a launch that reuses what the first prepared, checked alike
    data.poison_output();
    check_cuda(ours(stream), "launching the fusetune kernel again");
    report.fusetune.rel_err = std::max(report.fusetune.rel_err, data.verify().rel_err);
  }
  const double bound = 10 * default_tolerance(options.precision, data.output_dtype());
  if (!report.has_baseline) {
    if (!(report.fusetune.rel_err <= bound))
      throw Error(StatusCode::internal,
                  fmt::format("the output is wrong: rel err {:.3g}", report.fusetune.rel_err));
    std::vector<double> ours_ms;
    for (int round = 0; round < options.rounds; ++round)
      ours_ms.push_back(measure(ours, stream, options.timing, &flusher).median_ms);
    report.fusetune.median_ms = median(ours_ms);
    return report;
  }
  check_cuda(cudaMemsetAsync(baseline_out.as<void>(), 0xff, baseline_out.bytes(), stream),
             "poisoning the baseline output");
  check_cuda(theirs(stream), "running the baseline");
  report.baseline.rel_err = data.verify(baseline_out.as<void>()).rel_err;
  // A sanity bound (the tuner holds winners to its own, tighter tolerance): either side this
  // far off computes something else, and timing it would mean nothing.
  if (!(report.fusetune.rel_err <= bound) || !(report.baseline.rel_err <= bound))
    throw Error(StatusCode::internal,
                fmt::format("an output is wrong: fusetune rel err {:.3g}, baseline rel err {:.3g}",
                            report.fusetune.rel_err, report.baseline.rel_err));

  std::vector<double> ours_ms, theirs_ms;
  for (int round = 0; round < options.rounds; ++round) {
    ours_ms.push_back(measure(ours, stream, options.timing, &flusher).median_ms);
    theirs_ms.push_back(measure(theirs, stream, options.timing, &flusher).median_ms);
  }
  report.fusetune.median_ms = median(ours_ms);
  report.baseline.median_ms = median(theirs_ms);
  report.speedup = report.baseline.median_ms / report.fusetune.median_ms;
  return report;
}

}  // namespace fusetune
