// Probe of the int8x product before it is a family of the search: the seed's GEMM (x [M, K]
// times weightᵀ, weight [N, K]) sliced and multiplied on int8 tensor cores at a few
// configurations, each timed against cuBLAS SGEMM in the same run (runtime/timing.h's measure,
// L2 flushed, rounds alternating, the median of the rounds'), with its error against fp64 on
// sampled outputs and against the host model of the same digits. Needs an sm_90 GPU.
//
//   int8x_probe [M N K]        (default 1024 8192 8192)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/cublas_library.h"
#include "fusetune/status.h"
#include "generator/int8_slices.h"
#include "generator/int8_slicing.h"
#include "generator/int8x_gemm.h"
#include "runtime/cuda_check.h"
#include "runtime/device.h"
#include "runtime/loaded_kernel.h"
#include "runtime/nvrtc.h"
#include "runtime/timing.h"
#include "tuner/device_buffer.h"

namespace fusetune {
namespace {

constexpr int kRounds = 5;

LoadedKernel load(const KernelSource& source, const std::string& arch) {
  const CompiledBinary binary =
      compile_to_cubin(source.code, source.name, target_arch(source, arch));
  return LoadedKernel(binary.cubin, source.name, source.launch);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run(int argc, char** argv) {
  const std::int64_t m = argc > 3 ? std::stoll(argv[1]) : 1024;
  const std::int64_t n = argc > 3 ? std::stoll(argv[2]) : 8192;
  const std::int64_t k = argc > 3 ? std::stoll(argv[3]) : 8192;
  const DeviceInfo device = require_device();
  const std::string arch = device.arch();
  if (arch != "sm_90") {
    fmt::print(stderr, "int8x_probe: needs an sm_90 GPU (wgmma); this is {}\n", arch);
    return 2;
  }
  std::mt19937 gen(21);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k));
  for (float& v : a) v = uniform(gen);
  for (float& v : b) v = uniform(gen);
  DeviceBuffer a_values(a.size() * 4), b_values(b.size() * 4), out(std::size_t{4} * m * n),
      reference(std::size_t{4} * m * n);
  L2Flusher flusher(static_cast<std::size_t>(device.l2_bytes));
  TimingOptions timing;
  timing.min_launches = 10;
  timing.min_total_ms = 20;
  check_cuda(cudaMemcpy(a_values.as<float>(), a.data(), a_values.bytes(), cudaMemcpyHostToDevice),
             "uploading");
  check_cuda(cudaMemcpy(b_values.as<float>(), b.data(), b_values.bytes(), cudaMemcpyHostToDevice),
             "uploading");

  cublasHandle_t handle;
  if (cublas().create(&handle) != CUBLAS_STATUS_SUCCESS)
    throw Error(StatusCode::cuda_error, "cuBLAS");
  cublas().set_math_mode(handle, CUBLAS_PEDANTIC_MATH);  // SGEMM as fp32 FFMA
  const float one = 1, zero = 0;
  const LaunchFunction sgemm = [&](cudaStream_t) {  // column-major: outᵀ [N, M] = B [N, K] Aᵀ
    cublas().sgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                   static_cast<int>(k), &one, b_values.as<float>(), static_cast<int>(k),
                   a_values.as<float>(), static_cast<int>(k), &zero, reference.as<float>(),
                   static_cast<int>(n));
    return cudaGetLastError();
  };

  // Sampled outputs in fp64, and the host model of each scheme's digits on the same samples.
  std::uniform_int_distribution<std::int64_t> row(0, m - 1), column(0, n - 1);
  std::vector<std::pair<std::int64_t, std::int64_t>> samples(512);
  for (auto& s : samples) s = {row(gen), column(gen)};

  struct Probe {
    std::string name;
    Int8xGemmConfig config;
  };
  std::vector<Probe> probes = {
      {"p3 t4 128x64 c2 s3", {}},
      {"p3 t4 128x128 c2 s2", {.block_n = 128, .stages = 2}},
      {"p3 t4 128x128x64 c2 s4", {.block_n = 128, .block_k = 64, .stages = 4}},
      {"p3 t4 128x64x64 c2 s6", {.block_k = 64, .stages = 6}},
      {"p3 t4 256x64x64 c2 s3", {.block_m = 256, .block_k = 64, .stages = 3}},
      {"p2 t3 128x128 c2 s3", {.slices = 2, .through = 3, .block_n = 128}}};
  fmt::print("int8x probe, {} x {} x {} on {}; uniform inputs; median of {} rounds, L2 flushed\n",
             m, n, k, device.description(), kRounds);
  fmt::print("{:<24}{:>10}{:>10}{:>10}{:>10}{:>10}{:>12}{:>12}\n", "config", "slice ms", "gemm ms",
             "total ms", "sgemm ms", "vs sgemm", "err fp64", "err model");
  for (Probe& probe : probes) {
    probe.config.blocks = device.sm_count;
    if (const auto why = int8x_gemm_rejection(m, n, k, probe.config)) {
      fmt::print("{:<24} not run: {}\n", probe.name, *why);
      continue;
    }
    const int p = probe.config.slices;
    const LoadedKernel slice_a = load(emit_int8_slicing(m, k, p, false), arch);
    const LoadedKernel slice_b = load(emit_int8_slicing(n, k, p, false), arch);
    const LoadedKernel product = load(emit_int8x_gemm(m, n, k, probe.config), arch);
    const SlicingLayout la = slicing_layout(m, k, p), lb = slicing_layout(n, k, p);
    char* wa = static_cast<char*>(slice_a.workspace(nullptr));
    char* wb = static_cast<char*>(slice_b.workspace(nullptr));
    LaunchArgs a_args, b_args, args;
    a_args.tensors[0] = a_values.as<float>();
    b_args.tensors[0] = b_values.as<float>();
    args.tensors[0] = reinterpret_cast<const float*>(wa + la.digits);
    args.tensors[1] = reinterpret_cast<const float*>(wb + lb.digits);
    args.tensors[2] = reinterpret_cast<const float*>(wa + la.exponents);
    args.tensors[3] = reinterpret_cast<const float*>(wb + lb.exponents);
    args.out = out.as<float>();
    const LaunchFunction slicing = [&](cudaStream_t stream) {
      const cudaError_t error = slice_a.launch(stream, a_args);
      return error != cudaSuccess ? error : slice_b.launch(stream, b_args);
    };
    const LaunchFunction multiply = [&](cudaStream_t stream) {
      return product.launch(stream, args);
    };
    const LaunchFunction both = [&](cudaStream_t stream) {
      const cudaError_t error = slicing(stream);
      return error != cudaSuccess ? error : multiply(stream);
    };
    std::vector<double> slice_ms, gemm_ms, total_ms, sgemm_ms;
    for (int r = 0; r < kRounds; ++r) {
      slice_ms.push_back(measure(slicing, nullptr, timing, &flusher).median_ms);
      gemm_ms.push_back(measure(multiply, nullptr, timing, &flusher).median_ms);
      total_ms.push_back(measure(both, nullptr, timing, &flusher).median_ms);
      sgemm_ms.push_back(measure(sgemm, nullptr, timing, &flusher).median_ms);
    }
    std::vector<float> got(static_cast<std::size_t>(m * n));
    check_cuda(cudaMemcpy(got.data(), out.as<float>(), out.bytes(), cudaMemcpyDeviceToHost),
               "downloading");
    // Errors on the samples: against fp64, and against the host model of the same digits.
    const SliceScheme scheme{.slices = p, .through = probe.config.through};
    double diff = 0, scale = 0, model_diff = 0;
    for (const auto& [i, j] : samples) {
      const std::span<const float> ai(a.data() + i * k, static_cast<std::size_t>(k));
      const std::span<const float> bj(b.data() + j * k, static_cast<std::size_t>(k));
      double exact = 0;
      for (std::int64_t t = 0; t < k; ++t) exact += double{ai[t]} * bj[t];
      const double modelled = sliced_product(split_rows(ai, 1, static_cast<int>(k), p),
                                             split_rows(bj, 1, static_cast<int>(k), p), scheme)
                                  .at(0);
      const double value = got[static_cast<std::size_t>(i * n + j)];
      diff = std::max(diff, std::fabs(value - exact));
      model_diff = std::max(model_diff, std::fabs(value - modelled));
      scale = std::max(scale, std::fabs(exact));
    }
    const double total = median(total_ms), sgemm_median = median(sgemm_ms);
    fmt::print("{:<24}{:>10.3f}{:>10.3f}{:>10.3f}{:>10.3f}{:>9.2f}x{:>12.1e}{:>12.1e}\n",
               probe.name, median(slice_ms), median(gemm_ms), total, sgemm_median,
               sgemm_median / total, diff / scale, model_diff / scale);
  }
  cublas().destroy(handle);
  return 0;
}

}  // namespace
}  // namespace fusetune

int main(int argc, char** argv) {
  try {
    return fusetune::run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "int8x_probe: {}\n", e.what());
    return 1;
  }
}
