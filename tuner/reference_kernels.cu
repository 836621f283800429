#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "tuner/reference_kernels.h"

namespace fusetune {
namespace {

__device__ std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__global__ void fill_uniform_kernel(float* p, std::int64_t count, std::uint64_t seed, float lo,
                                    float hi) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double u = (splitmix64(seed ^ splitmix64(i)) >> 11) * (1.0 / 9007199254740992.0);
    p[i] = static_cast<float>(lo + (hi - lo) * u);
  }
}

// Box and Muller's transform of two uniform draws of the same hash, the first kept away from 0.
__global__ void fill_normal_kernel(float* p, std::int64_t count, std::uint64_t seed, float stddev) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double scale = 1.0 / 9007199254740992.0;  // 2^-53
    const double u1 = ((splitmix64(seed ^ splitmix64(2 * i)) >> 11) + 0.5) * scale;
    const double u2 = (splitmix64(seed ^ splitmix64(2 * i + 1)) >> 11) * scale;
    p[i] = static_cast<float>(stddev * sqrt(-2.0 * log(u1)) * cospi(2.0 * u2));
  }
}

template <class T>
__global__ void round_to_16bit_kernel(float* values, T* narrow, std::int64_t count) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const T rounded = static_cast<T>(values[i]);  // round to nearest even
    narrow[i] = rounded;
    values[i] = static_cast<float>(rounded);
  }
}

// A 16x16 output tile per block, k in steps of 16 through shared memory, all in fp64.
constexpr int kTile = 16;

__global__ void reference_gemm_kernel(const float* a, const float* b, double* out, std::int64_t m,
                                      std::int64_t n, std::int64_t k, bool a_k_contiguous,
                                      bool b_k_contiguous) {
  __shared__ double a_tile[kTile][kTile + 1];  // [row][k]
  __shared__ double b_tile[kTile][kTile + 1];  // [k][column]
  const std::int64_t row = blockIdx.y * static_cast<std::int64_t>(kTile) + threadIdx.y;
  const std::int64_t column = blockIdx.x * static_cast<std::int64_t>(kTile) + threadIdx.x;
  double sum = 0;
  for (std::int64_t k0 = 0; k0 < k; k0 += kTile) {
    const std::int64_t a_row = blockIdx.y * static_cast<std::int64_t>(kTile) + threadIdx.y;
    const std::int64_t a_k = k0 + threadIdx.x;
    a_tile[threadIdx.y][threadIdx.x] =
        a_row < m && a_k < k ? a[a_k_contiguous ? a_row * k + a_k : a_k * m + a_row] : 0.0;
    const std::int64_t b_k = k0 + threadIdx.y;
    const std::int64_t b_column = column;
    b_tile[threadIdx.y][threadIdx.x] =
        b_k < k && b_column < n ? b[b_k_contiguous ? b_column * k + b_k : b_k * n + b_column] : 0.0;
    __syncthreads();
    for (int i = 0; i < kTile; ++i) sum += a_tile[threadIdx.y][i] * b_tile[i][threadIdx.x];
    __syncthreads();
  }
  if (row < m && column < n) out[row * n + column] = sum;
}

// Where tap `t` of output position `o` reads the input along dimension `dim`, or -1 where it
// reads padding (or, transposed, where no input position reaches o through t).
__device__ std::int64_t input_position(const ConvReferenceShape& s, int dim, std::int64_t o,
                                       int t) {
  const std::int64_t tap_offset = static_cast<std::int64_t>(t) * s.dilation[dim];
  if (!s.transposed) {
    // Convolution: o reads x at o·stride − padding + t·dilation.
    const std::int64_t i = o * s.stride[dim] - s.padding[dim] + tap_offset;
    return i >= 0 && i < s.in_size[dim] ? i : -1;
  }
  // Transposed: x at i writes o = i·stride − padding + t·dilation, so i = (o + padding −
  // t·dilation) / stride where that divides exactly.
  const std::int64_t scaled = o + s.padding[dim] - tap_offset;
  if (scaled < 0 || scaled % s.stride[dim] != 0) return -1;
  const std::int64_t i = scaled / s.stride[dim];
  return i < s.in_size[dim] ? i : -1;
}

// One output element per iteration: the sum over the taps that reach it, and for each over the
// input channels of its group.
__global__ void reference_conv_kernel(const float* x, const float* weight, double* out,
                                      ConvReferenceShape s) {
  const std::int64_t in_per_group = s.in_channels / s.groups;
  const std::int64_t out_per_group = s.out_channels / s.groups;
  const std::int64_t taps = static_cast<std::int64_t>(s.kernel[0]) * s.kernel[1] * s.kernel[2];
  const std::int64_t count =
      s.batch * s.out_channels * s.out_size[0] * s.out_size[1] * s.out_size[2];
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
       index < count; index += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    // index = (((n·K + k)·D' + od)·H' + oh)·W' + ow
    std::int64_t rest = index;
    const std::int64_t ow = rest % s.out_size[2];
    rest /= s.out_size[2];
    const std::int64_t oh = rest % s.out_size[1];
    rest /= s.out_size[1];
    const std::int64_t od = rest % s.out_size[0];
    rest /= s.out_size[0];
    const std::int64_t k = rest % s.out_channels;
    const std::int64_t n = rest / s.out_channels;
    const std::int64_t group = k / out_per_group;
    double sum = 0;
    for (int td = 0; td < s.kernel[0]; ++td) {
      const std::int64_t id = input_position(s, 0, od, td);
      if (id < 0) continue;
      for (int th = 0; th < s.kernel[1]; ++th) {
        const std::int64_t ih = input_position(s, 1, oh, th);
        if (ih < 0) continue;
        for (int tw = 0; tw < s.kernel[2]; ++tw) {
          const std::int64_t iw = input_position(s, 2, ow, tw);
          if (iw < 0) continue;
          const std::int64_t tap =
              (static_cast<std::int64_t>(td) * s.kernel[1] + th) * s.kernel[2] + tw;
          for (std::int64_t c = group * in_per_group; c < (group + 1) * in_per_group; ++c) {
            const std::int64_t x_index =
                (((n * s.in_channels + c) * s.in_size[0] + id) * s.in_size[1] + ih) * s.in_size[2] +
                iw;
            // weight [K, C/groups, taps], transposed [C, K/groups, taps]
            const std::int64_t w_index = s.transposed
                                             ? (c * out_per_group + k % out_per_group) * taps + tap
                                             : (k * in_per_group + c % in_per_group) * taps + tap;
            sum += static_cast<double>(x[x_index]) * static_cast<double>(weight[w_index]);
          }
        }
      }
    }
    out[index] = sum;
  }
}

template <class T>
__global__ void compare_kernel(const T* out, const double* reference, std::int64_t count,
                               ComparisonSums* sums) {
  double error = 0, magnitude = 0;
  unsigned long long non_finite = 0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double value = static_cast<float>(out[i]);
    const double expected = reference[i];
    magnitude += expected * expected;
    if (isfinite(value))
      error += (value - expected) * (value - expected);
    else
      ++non_finite;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    error += __shfl_down_sync(0xffffffffu, error, offset);
    magnitude += __shfl_down_sync(0xffffffffu, magnitude, offset);
    non_finite += __shfl_down_sync(0xffffffffu, non_finite, offset);
  }
  if (threadIdx.x % 32 == 0) {
    atomicAdd(&sums->squared_error, error);
    atomicAdd(&sums->squared_reference, magnitude);
    atomicAdd(&sums->non_finite, non_finite);
  }
}

unsigned grid_for(std::int64_t count) {
  const std::int64_t blocks = (count + 255) / 256;
  return static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
}

}  // namespace

cudaError_t fill_uniform(float* p, std::int64_t count, std::uint64_t seed, float lo, float hi,
                         cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  fill_uniform_kernel<<<grid_for(count), 256, 0, stream>>>(p, count, seed, lo, hi);
  return cudaGetLastError();
}

cudaError_t fill_normal(float* p, std::int64_t count, std::uint64_t seed, float stddev,
                        cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  fill_normal_kernel<<<grid_for(count), 256, 0, stream>>>(p, count, seed, stddev);
  return cudaGetLastError();
}

cudaError_t reference_gemm_fp64(const float* a, const float* b, double* out, std::int64_t m,
                                std::int64_t n, std::int64_t k, bool a_k_contiguous,
                                bool b_k_contiguous, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile),
                  static_cast<unsigned>((m + kTile - 1) / kTile));
  reference_gemm_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(a, b, out, m, n, k, a_k_contiguous,
                                                                 b_k_contiguous);
  return cudaGetLastError();
}

cudaError_t reference_conv_fp64(const float* x, const float* weight, double* out,
                                const ConvReferenceShape& shape, cudaStream_t stream) {
  const std::int64_t count =
      shape.batch * shape.out_channels * shape.out_size[0] * shape.out_size[1] * shape.out_size[2];
  if (count == 0) return cudaSuccess;
  if (shape.groups < 1 || shape.in_channels % shape.groups || shape.out_channels % shape.groups)
    return cudaErrorInvalidValue;
  reference_conv_kernel<<<grid_for(count), 256, 0, stream>>>(x, weight, out, shape);
  return cudaGetLastError();
}

cudaError_t round_to_16bit(float* values, void* narrow, std::int64_t count, DataType type,
                           cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (type == DataType::bf16)
    round_to_16bit_kernel<<<grid_for(count), 256, 0, stream>>>(
        values, static_cast<__nv_bfloat16*>(narrow), count);
  else if (type == DataType::fp16)
    round_to_16bit_kernel<<<grid_for(count), 256, 0, stream>>>(values, static_cast<__half*>(narrow),
                                                               count);
  else
    return cudaErrorInvalidValue;
  return cudaGetLastError();
}

cudaError_t compare_with_reference(const void* out, DataType type, const double* reference,
                                   std::int64_t count, ComparisonSums* sums, cudaStream_t stream) {
  const unsigned grid = grid_for(count);
  switch (type) {
    case DataType::fp32:
      compare_kernel<<<grid, 256, 0, stream>>>(static_cast<const float*>(out), reference, count,
                                               sums);
      break;
    case DataType::bf16:
      compare_kernel<<<grid, 256, 0, stream>>>(static_cast<const __nv_bfloat16*>(out), reference,
                                               count, sums);
      break;
    case DataType::fp16:
      compare_kernel<<<grid, 256, 0, stream>>>(static_cast<const __half*>(out), reference, count,
                                               sums);
      break;
  }
  return cudaGetLastError();
}

}  // namespace fusetune
