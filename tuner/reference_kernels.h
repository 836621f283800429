// Plain CUDA kernels (built by nvcc, sharing no code with the templates) that verification
// stands on: random inputs, the main op in fp64, and the comparison of an output with fp64.
// Compiled as C++17 by nvcc: this header includes nothing of the spec language.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "generator/data_type.h"

namespace fusetune {

// p[i] = lo + (hi - lo) * u(seed, i), u uniform in [0, 1) from a counter-based hash.
cudaError_t fill_uniform(float* p, std::int64_t count, std::uint64_t seed, float lo, float hi,
                         cudaStream_t stream);

// p[i] normal with mean 0 and standard deviation `stddev`, from the same hash.
cudaError_t fill_normal(float* p, std::int64_t count, std::uint64_t seed, float stddev,
                        cudaStream_t stream);

// narrow[i] = values[i] rounded to nearest `type` (bf16 or fp16), and values[i] = narrow[i]
// widened back: the fp32 copy then holds exactly what a kernel reading `narrow` sees.
cudaError_t round_to_16bit(float* values, void* narrow, std::int64_t count, DataType type,
                           cudaStream_t stream);

// out[M,N] = A · B in fp64, A stored [M,K] (a_k_contiguous) or [K,M], B stored [N,K]
// (b_k_contiguous) or [K,N].
cudaError_t reference_gemm_fp64(const float* a, const float* b, double* out, std::int64_t m,
                                std::int64_t n, std::int64_t k, bool a_k_contiguous,
                                bool b_k_contiguous, cudaStream_t stream);

// A convolution in PyTorch's terms; spatial values per dimension d, h, w. A 2-d convolution has
// sizes, kernel, stride and dilation 1 and padding 0 along d. output_padding only lengthens the
// output of a transposed convolution, so `out_size` carries it.
struct ConvReferenceShape {
  std::int64_t batch = 0;
  std::int64_t in_channels = 0;          // C
  std::int64_t out_channels = 0;         // K
  std::int64_t in_size[3] = {1, 1, 1};   // x's d, h, w
  std::int64_t out_size[3] = {1, 1, 1};  // out's d, h, w
  int kernel[3] = {1, 1, 1};
  int stride[3] = {1, 1, 1};
  int padding[3] = {0, 0, 0};
  int dilation[3] = {1, 1, 1};
  int groups = 1;
  bool transposed = false;
};

// out[N, K, D', H', W'] in fp64 from x[N, C, D, H, W], by PyTorch's definitions, one thread per
// output element. Convolution: weight [K, C/groups, kd, kh, kw] and
//   out[n, k, o] = sum over c in k's group and taps t of x[n, c, o·stride − padding + t·dilation]
//                  · weight[k, c mod C/groups, t]  (positions outside x read zero).
// Transposed: weight [C, K/groups, kd, kh, kw] and
//   out[n, k, o] = sum over c in k's group, inputs i and taps t with
//                  o = i·stride − padding + t·dilation of x[n, c, i] · weight[c, k mod K/groups,
//                  t].
cudaError_t reference_conv_fp64(const float* x, const float* weight, double* out,
                                const ConvReferenceShape& shape, cudaStream_t stream);

struct ComparisonSums {
  double squared_error = 0;           // sum of (out - ref)^2 over finite outputs
  double squared_reference = 0;       // sum of ref^2
  unsigned long long non_finite = 0;  // outputs that are NaN or infinite
};

// Accumulates the sums over `count` elements of `out`, of element type `type`, into *sums
// (device memory, zeroed by the caller).
cudaError_t compare_with_reference(const void* out, DataType type, const double* reference,
                                   std::int64_t count, ComparisonSums* sums, cudaStream_t stream);

}  // namespace fusetune
