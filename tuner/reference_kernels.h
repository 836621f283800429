// Plain CUDA kernels (built by nvcc, sharing no code with the templates) that verification
// stands on: random inputs, the main op in fp64, and the comparison of an output with fp64.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "generator/data_type.h"

namespace fusetune {

// p[i] = lo + (hi - lo) * u(seed, i), u uniform in [0, 1) from a counter-based hash.
cudaError_t fill_uniform(float* p, std::int64_t count, std::uint64_t seed, float lo, float hi,
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
