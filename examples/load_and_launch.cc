// Loads a tuned kernel through fusetune's public API, runs it on random inputs and checks
// sampled outputs against a plain fp64 computation on the host.
//
//   fusetune tune "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)"
//   load_and_launch [--db PATH]
#include <cuda_runtime.h>
#include <fusetune/fusetune.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace {

constexpr int M = 1024, N = 8192, K = 8192;
constexpr const char* kSpec =
    "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)";

bool cuda_ok(cudaError_t error, const char* what) {
  if (error != cudaSuccess) std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(error));
  return error == cudaSuccess;
}

// The spec, written out for one output element in fp64.
double expected(const std::vector<float>& x, const std::vector<float>& w,
                const std::vector<float>& bias, int m, int n, double scale, double slope) {
  double sum = 0;
  for (int k = 0; k < K; ++k)
    sum += static_cast<double>(x[m * K + k]) * w[static_cast<size_t>(n) * K + k];
  const double v = (sum + bias[n]) * scale;
  return v > 0 ? v : v * slope;
}

}  // namespace

int main(int argc, char** argv) {
  fusetune::Options options;
  if (argc == 3 && std::strcmp(argv[1], "--db") == 0) options.database_path = argv[2];

  // The CUDA context is the program's own cost, not fusetune's: create it before timing.
  if (!cuda_ok(cudaFree(nullptr), "creating the CUDA context")) return 1;
  const auto open_start = std::chrono::steady_clock::now();
  auto library = fusetune::Library::open(options);
  if (!library.ok()) {
    std::fprintf(stderr, "fusetune: %s\n", library.status().message().c_str());
    return 1;
  }
  auto kernel = library.value()->load(kSpec);
  if (!kernel.ok()) {
    std::fprintf(stderr, "fusetune: %s\n", kernel.status().message().c_str());
    return 1;
  }
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - open_start)
          .count();
  std::printf("loaded %s (%s) in %.1f ms, opening the database included\n",
              kernel.value()->config().c_str(),
              kernel.value()->tuned() ? "tuned" : "untuned default", load_ms);

  std::mt19937 random(12345);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M) * K), w(static_cast<size_t>(N) * K), bias(N);
  for (float& v : x) v = uniform(random);
  for (float& v : w) v = uniform(random) / std::sqrt(static_cast<float>(K));
  for (float& v : bias) v = uniform(random);

  float *d_x, *d_w, *d_bias, *d_out;
  if (!cuda_ok(cudaMalloc(&d_x, x.size() * 4), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_w, w.size() * 4), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_bias, bias.size() * 4), "cudaMalloc") ||
      !cuda_ok(cudaMalloc(&d_out, static_cast<size_t>(M) * N * 4), "cudaMalloc"))
    return 1;
  cudaMemcpy(d_x, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(d_w, w.data(), w.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(d_bias, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice);
  cudaMemset(d_out, 0xff, static_cast<size_t>(M) * N * 4);  // NaN: unwritten outputs fail

  // Scalars are kernel arguments: this launch uses 3.0 and 0.2 instead of the spec's values.
  const double scale = 3.0, slope = 0.2;
  fusetune::Arguments arguments;
  arguments.tensors = {d_x, d_w, d_bias};
  arguments.out = d_out;
  arguments.scalars = {float(scale), float(slope)};
  const fusetune::Status launched = kernel.value()->launch(nullptr, arguments);
  if (!launched.ok()) {
    std::fprintf(stderr, "fusetune: %s\n", launched.message().c_str());
    return 1;
  }
  if (!cuda_ok(cudaDeviceSynchronize(), "kernel")) return 1;
  std::vector<float> out(static_cast<size_t>(M) * N);
  cudaMemcpy(out.data(), d_out, out.size() * 4, cudaMemcpyDeviceToHost);

  double error = 0, magnitude = 0;
  for (int sample = 0; sample < 2000; ++sample) {
    const int m = random() % M, n = random() % N;
    const double want = expected(x, w, bias, m, n, scale, slope);
    const double got = out[static_cast<size_t>(m) * N + n];
    error += (got - want) * (got - want);  // NaN makes the check fail below
    magnitude += want * want;
  }
  const double rel_err = std::sqrt(error / magnitude);
  const bool passed = rel_err <= 1e-5;
  std::printf("relative error on 2000 sampled outputs: %.2e (%s)\n", rel_err,
              passed ? "ok" : "FAILED");
  cudaFree(d_x);
  cudaFree(d_w);
  cudaFree(d_bias);
  cudaFree(d_out);
  return passed ? 0 : 1;
}
