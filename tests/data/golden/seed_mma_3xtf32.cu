// fusetune generated kernel; regenerate with: fusetune gen "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)" --config ft_gemm_mma_128x128x16_w2x4_s3_3xtf32_va4_vb4
// spec:   linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)
// config: ft_gemm_mma_128x128x16_w2x4_s3_3xtf32_va4_vb4
// launch: grid (512, 1, 1), block (256, 1, 1), 61440 bytes of dynamic shared memory

// ---- templates/common.cuh ----
// fusetune device primitives shared by every template.
//
// Generated kernels are compiled by NVRTC without any CUDA header: everything a template needs
// from the hardware is here as inline PTX, which keeps compiles fast and free of include paths.

namespace ft {

// The one kernel parameter of every generated kernel. The host fills it in the order the
// spec lists its tensors and scalars (runtime/launch_args.h mirrors this layout exactly).
constexpr int kMaxTensors = 16;
constexpr int kMaxScalars = 16;
struct LaunchArgs {
  const float* tensors[kMaxTensors];  // main-op inputs first, then epilogue operands
  float* out;
  float scalars[kMaxScalars];
};

// std::conditional without <type_traits>, which NVRTC does not ship.
template <bool CONDITION, class IF_TRUE, class IF_FALSE>
struct select_type {
  using type = IF_TRUE;
};
template <class IF_TRUE, class IF_FALSE>
struct select_type<false, IF_TRUE, IF_FALSE> {
  using type = IF_FALSE;
};

__device__ __forceinline__ unsigned smem_address(const void* p) {
  unsigned address;
  asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(address) : "l"(p));
  return address;
}

// Asynchronous global->shared copy of BYTES (4, 8 or 16) to the shared-memory address `dst`
// (see smem_address). When `valid` is false nothing is read and the destination is zero-filled,
// which is how tiles at the matrix edges are padded.
template <int BYTES>
__device__ __forceinline__ void cp_async(unsigned dst, const void* src, bool valid) {
  static_assert(BYTES == 4 || BYTES == 8 || BYTES == 16, "cp.async copies 4, 8 or 16 bytes");
  const int src_bytes = valid ? BYTES : 0;
  if constexpr (BYTES == 16) {
    // .cg skips L1: 16-byte copies are already full sectors.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(dst), "l"(src), "n"(BYTES),
                 "r"(src_bytes));
  }
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most PENDING committed groups are still in flight.
template <int PENDING>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING));
}

// Loads W consecutive floats starting at p (aligned to 4 * W bytes when W is 2 or 4).
template <int W>
__device__ __forceinline__ void load_floats(float (&v)[W], const float* p) {
  if constexpr (W == 4) {
    const float4 t = __ldg(reinterpret_cast<const float4*>(p));
    v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
  } else if constexpr (W == 2) {
    const float2 t = __ldg(reinterpret_cast<const float2*>(p));
    v[0] = t.x, v[1] = t.y;
  } else {
#pragma unroll
    for (int j = 0; j < W; ++j) v[j] = __ldg(p + j);
  }
}

template <int W>
__device__ __forceinline__ void store_floats(float* p, const float (&v)[W]) {
  if constexpr (W == 4) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else if constexpr (W == 2) {
    *reinterpret_cast<float2*>(p) = make_float2(v[0], v[1]);
  } else {
#pragma unroll
    for (int j = 0; j < W; ++j) p[j] = v[j];
  }
}

// Writes the accumulators of output columns n and n + 1 of row m (`row` points at its start)
// through the epilogue, as tensor-core accumulator fragments hold them. Columns at or past N
// are skipped when GUARD_N; with N odd the pair is not 8-byte aligned and goes one at a time.
template <int N, bool GUARD_N, class Epilogue>
__device__ __forceinline__ void store_output_pair(float* row, int m, int n, float x0, float x1,
                                                  const Epilogue& epilogue) {
  if constexpr (N % 2 == 0) {
    if (GUARD_N && n >= N) return;
    float v[2] = {x0, x1};
    epilogue.template apply<2>(v, m, n);
    store_floats<2>(row + n, v);
  } else {
    const float x[2] = {x0, x1};
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      if (GUARD_N && n + e >= N) continue;
      float v[1] = {x[e]};
      epilogue.template apply<1>(v, m, n + e);
      row[n + e] = v[0];
    }
  }
}

}  // namespace ft

// ---- templates/mma_tf32.cuh ----
// Tensor-core building blocks for fp32 data (sm_80 and newer): TF32 conversion, the split of an
// fp32 value into a TF32 "big" part and a TF32 "small" remainder (3xTF32) -- rounded, or, for
// operands the tensor cores truncate themselves, truncated -- and the warp-wide
// mma.sync.m16n8k8 TF32 instruction with fp32 accumulation.
//
// Fragment layout of m16n8k8 (PTX ISA, "Matrix Fragments for mma.m16n8k8"), for lane l with
// g = l / 4 and t = l % 4:
//   A [16 x 8]:  a0 (g, t)  a1 (g + 8, t)  a2 (g, t + 4)  a3 (g + 8, t + 4)
//   B [8 x 8]:   b0 (k = t, n = g)  b1 (k = t + 4, n = g)
//   C [16 x 8]:  c0 (g, 2t)  c1 (g, 2t + 1)  c2 (g + 8, 2t)  c3 (g + 8, 2t + 1)

namespace ft {

// x rounded to the nearest TF32 value (10 mantissa bits), as a 32-bit pattern.
__device__ __forceinline__ unsigned to_tf32(float x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

// x = big + small + O(2^-22 |x|): big holds the top 11 significant bits, small the next 11.
__device__ __forceinline__ void split_tf32(float x, unsigned& big, unsigned& small) {
  big = to_tf32(x);
  small = to_tf32(x - __uint_as_float(big));
}

// The TF32 value a tensor core reads from an fp32 operand it is given unconverted: the top 19
// bits, truncated.
__device__ __forceinline__ float tf32_truncated(float x) {
  return __uint_as_float(__float_as_uint(x) & 0xFFFFE000u);
}

// What a tensor core loses of an unconverted operand x, itself rounded to TF32:
// x = tf32_truncated(x) + tf32_remainder(x) + O(2^-22 |x|).
__device__ __forceinline__ float tf32_remainder(float x) {
  return __uint_as_float(to_tf32(x - tf32_truncated(x)));
}

// d += a · b for one 16x8x8 tile, fp32 accumulation.
__device__ __forceinline__ void mma_tf32(float (&d)[4], const unsigned (&a)[4],
                                         const unsigned (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

}  // namespace ft

// ---- templates/gemm_mma.cuh ----
// fusetune tensor-core GEMM (mma.sync, sm_80 and newer) for fp32 data, with a fused epilogue:
// out[M,N] = epilogue(A · B), accumulated in fp32.
//
// PASSES = 1: TF32 (operands rounded to 10-bit mantissas; relative error near 3e-4).
// PASSES = 3: 3xTF32 (each operand split into big + small TF32 parts; a·b computed as
//             small·big + big·small + big·big: fp32-level accuracy at three times the MMAs).
//
// A is x[M,K] (A_K_CONTIGUOUS) or [K,M]; B is W[N,K] (B_K_CONTIGUOUS) or [K,N]. Shared memory
// keeps each operand in its global layout, so every copy is a straight cp.async of VEC floats:
//   k-contiguous: [rows][BK + 4]  (pitch BK+4: a fragment load touches 32 distinct banks)
//   otherwise:    [BK][rows + 8]  (pitch rows+8: likewise)
//
// Tunables (a Config struct; generator/gemm_mma_space.cc holds their ranges):
//   M, N, K                 problem shape
//   A_K_CONTIGUOUS, B_K_CONTIGUOUS
//   WARPS_M, WARPS_N        warps per block along M and N             64..256 threads
//   MMA_TILES_M, _N         16x8 MMA tiles per warp along M and N     warp tile 16·TM x 8·TN
//   BK                      k-depth of a stage                        multiple of 8
//   STAGES                  cp.async pipeline depth                   2..4
//   PASSES                  1 (TF32) or 3 (3xTF32)
//   VEC_A, VEC_B            floats per copy (1, 2, 4), the widest the contiguous extent allows
//   GUARD_M/N/K             edges checked: required when the shape is not a tile multiple

namespace ft {

template <class C>
struct GemmMmaShape {
  static constexpr int THREADS = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int WM = 16 * C::MMA_TILES_M;  // warp tile rows
  static constexpr int WN = 8 * C::MMA_TILES_N;   // warp tile columns
  static constexpr int BM = C::WARPS_M * WM;      // block tile rows
  static constexpr int BN = C::WARPS_N * WN;      // block tile columns
  static constexpr int K_TILES = (C::K + C::BK - 1) / C::BK;
  // A stage [BM, BK + 4] or [BK, BM + 8]; B stage [BN, BK + 4] or [BK, BN + 8].
  static constexpr int A_PITCH = C::A_K_CONTIGUOUS ? C::BK + 4 : BM + 8;
  static constexpr int B_PITCH = C::B_K_CONTIGUOUS ? C::BK + 4 : BN + 8;
  static constexpr int A_STAGE = (C::A_K_CONTIGUOUS ? BM : C::BK) * A_PITCH;  // floats
  static constexpr int B_STAGE = (C::B_K_CONTIGUOUS ? BN : C::BK) * B_PITCH;

  static_assert(C::BK % 8 == 0, "an MMA step covers 8 of k");
  static_assert(C::STAGES >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(C::PASSES == 1 || C::PASSES == 3, "TF32 takes one pass, 3xTF32 three");
  static_assert(C::GUARD_M || C::M % BM == 0, "an unguarded M edge needs M % BM == 0");
  static_assert(C::GUARD_N || C::N % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || C::K % C::BK == 0, "an unguarded K edge needs K % BK == 0");
};

// Copies rows [row0, row0 + ROWS) x columns [col0, col0 + COLS) of the row-major matrix
// g[ROWS_TOTAL][COLS_TOTAL] into the stage s[ROWS][PITCH], VEC floats per copy. Out-of-range
// elements become zeros (VEC divides COLS_TOTAL, so a copy is wholly in or wholly out).
template <int ROWS, int COLS, int PITCH, int VEC, int THREADS, bool GUARD_ROWS, bool GUARD_COLS>
__device__ __forceinline__ void fill_tile(unsigned s, const float* g, int row0, int col0,
                                          int rows_total, int cols_total, int tid) {
  constexpr int VECS_PER_ROW = COLS / VEC;
  constexpr int COPIES = ROWS * VECS_PER_ROW;
  constexpr int PASSES = (COPIES + THREADS - 1) / THREADS;
  static_assert(COLS % VEC == 0, "a tile row holds whole vectors");
#pragma unroll
  for (int pass = 0; pass < PASSES; ++pass) {
    const int i = pass * THREADS + tid;
    if (COPIES % THREADS != 0 && i >= COPIES) break;
    const int r = i / VECS_PER_ROW;
    const int c = i % VECS_PER_ROW * VEC;
    const bool valid =
        (!GUARD_ROWS || row0 + r < rows_total) && (!GUARD_COLS || col0 + c < cols_total);
    const float* src = valid ? g + static_cast<long long>(row0 + r) * cols_total + col0 + c : g;
    cp_async<4 * VEC>(s + (r * PITCH + c) * 4, src, valid);
  }
}

// This warp's operand fragments at one 8-deep k-step: TF32 big parts, and small parts for
// 3xTF32.
template <class C, class S>
struct MmaFragments {
  static constexpr bool SPLIT = C::PASSES == 3;
  unsigned a_big[C::MMA_TILES_M][4], a_small[SPLIT ? C::MMA_TILES_M : 1][4];
  unsigned b_big[C::MMA_TILES_N][2], b_small[SPLIT ? C::MMA_TILES_N : 1][2];

  // as/bs: the stage; m0/n0: the warp's first row/column in the block tile; k: the step's first k.
  __device__ __forceinline__ void load(const float* as, const float* bs, int m0, int n0, int k,
                                       int g, int t) {
#pragma unroll
    for (int mt = 0; mt < C::MMA_TILES_M; ++mt) {
      const int m = m0 + mt * 16 + g;
      const float v[4] = {a_at(as, m, k + t), a_at(as, m + 8, k + t), a_at(as, m, k + t + 4),
                          a_at(as, m + 8, k + t + 4)};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if constexpr (SPLIT)
          split_tf32(v[i], a_big[mt][i], a_small[mt][i]);
        else
          a_big[mt][i] = to_tf32(v[i]);
      }
    }
#pragma unroll
    for (int nt = 0; nt < C::MMA_TILES_N; ++nt) {
      const int n = n0 + nt * 8 + g;
      const float v[2] = {b_at(bs, n, k + t), b_at(bs, n, k + t + 4)};
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        if constexpr (SPLIT)
          split_tf32(v[i], b_big[nt][i], b_small[nt][i]);
        else
          b_big[nt][i] = to_tf32(v[i]);
      }
    }
  }

  __device__ __forceinline__ void multiply_into(
      float (&acc)[C::MMA_TILES_M][C::MMA_TILES_N][4]) const {
#pragma unroll
    for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
      for (int nt = 0; nt < C::MMA_TILES_N; ++nt) {
        if constexpr (SPLIT) {
          // The small products first, so that they are not lost against the big one.
          mma_tf32(acc[mt][nt], a_small[mt], b_big[nt]);
          mma_tf32(acc[mt][nt], a_big[mt], b_small[nt]);
        }
        mma_tf32(acc[mt][nt], a_big[mt], b_big[nt]);
      }
  }

 private:
  static __device__ __forceinline__ float a_at(const float* as, int m, int k) {
    return C::A_K_CONTIGUOUS ? as[m * S::A_PITCH + k] : as[k * S::A_PITCH + m];
  }
  static __device__ __forceinline__ float b_at(const float* bs, int n, int k) {
    return C::B_K_CONTIGUOUS ? bs[n * S::B_PITCH + k] : bs[k * S::B_PITCH + n];
  }
};

template <class C, class Epilogue>
__device__ __forceinline__ void gemm_mma(const float* __restrict__ a, const float* __restrict__ b,
                                         float* __restrict__ out, const Epilogue& epilogue) {
  using S = GemmMmaShape<C>;
  extern __shared__ float4 smem_vec[];
  float* smem = reinterpret_cast<float*>(smem_vec);
  float* a_stages = smem;                           // [STAGES][A_STAGE]
  float* b_stages = smem + C::STAGES * S::A_STAGE;  // [STAGES][B_STAGE]
  const unsigned a_smem = smem_address(a_stages);
  const unsigned b_smem = smem_address(b_stages);

  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment coordinates of this lane
  const int warp_m0 = warp % C::WARPS_M * S::WM;
  const int warp_n0 = warp / C::WARPS_M * S::WN;
  // One block per output tile, M fastest (see gemm_simt.cuh).
  constexpr int M_TILES = (C::M + S::BM - 1) / S::BM;
  const int m_block = static_cast<int>(blockIdx.x % M_TILES) * S::BM;
  const int n_block = static_cast<int>(blockIdx.x / M_TILES) * S::BN;

  auto fill_stage = [&](int stage, int k_tile) {
    const int k0 = k_tile * C::BK;
    const unsigned as = a_smem + stage * S::A_STAGE * 4;
    const unsigned bs = b_smem + stage * S::B_STAGE * 4;
    if constexpr (C::A_K_CONTIGUOUS)
      fill_tile<S::BM, C::BK, S::A_PITCH, C::VEC_A, S::THREADS, C::GUARD_M, C::GUARD_K>(
          as, a, m_block, k0, C::M, C::K, tid);
    else
      fill_tile<C::BK, S::BM, S::A_PITCH, C::VEC_A, S::THREADS, C::GUARD_K, C::GUARD_M>(
          as, a, k0, m_block, C::K, C::M, tid);
    if constexpr (C::B_K_CONTIGUOUS)
      fill_tile<S::BN, C::BK, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_N, C::GUARD_K>(
          bs, b, n_block, k0, C::N, C::K, tid);
    else
      fill_tile<C::BK, S::BN, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_K, C::GUARD_N>(
          bs, b, k0, n_block, C::K, C::N, tid);
  };

  float acc[C::MMA_TILES_M][C::MMA_TILES_N][4];  // [TM, TN, 4] accumulator fragments
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.f;

#pragma unroll
  for (int stage = 0; stage < C::STAGES - 1; ++stage) {
    if (stage < S::K_TILES) fill_stage(stage, stage);
    cp_async_commit();
  }
  int read_stage = 0, write_stage = C::STAGES - 1;
  MmaFragments<C, S> frag;
  for (int k_tile = 0; k_tile < S::K_TILES; ++k_tile) {
    cp_async_wait<C::STAGES - 2>();
    // Stage k_tile has landed for every thread, and every thread has finished reading the
    // stage the next fill overwrites.
    __syncthreads();
    if (k_tile + C::STAGES - 1 < S::K_TILES) fill_stage(write_stage, k_tile + C::STAGES - 1);
    cp_async_commit();
    const float* as = a_stages + read_stage * S::A_STAGE;
    const float* bs = b_stages + read_stage * S::B_STAGE;
    if constexpr (C::PASSES == 3) {
      // Tensor cores accumulate with round-toward-zero, a bias that over thousands of steps
      // costs 3xTF32 its fp32-level accuracy. So each stage accumulates into fresh fragments,
      // promoted into `acc` with an ordinary round-to-nearest add.
      float part[C::MMA_TILES_M][C::MMA_TILES_N][4];  // [TM, TN, 4]
#pragma unroll
      for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
        for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
          for (int i = 0; i < 4; ++i) part[mt][nt][i] = 0.f;
#pragma unroll
      for (int k = 0; k < C::BK; k += 8) {
        frag.load(as, bs, warp_m0, warp_n0, k, g, t);
        frag.multiply_into(part);
      }
#pragma unroll
      for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
        for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
          for (int i = 0; i < 4; ++i) acc[mt][nt][i] += part[mt][nt][i];
    } else {
#pragma unroll
      for (int k = 0; k < C::BK; k += 8) {
        frag.load(as, bs, warp_m0, warp_n0, k, g, t);
        frag.multiply_into(acc);
      }
    }
    read_stage = read_stage + 1 == C::STAGES ? 0 : read_stage + 1;
    write_stage = write_stage + 1 == C::STAGES ? 0 : write_stage + 1;
  }

  // Each lane holds, per MMA tile, two adjacent columns of rows g and g + 8.
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int m = m_block + warp_m0 + mt * 16 + g + 8 * half;
      if (C::GUARD_M && m >= C::M) continue;
      float* row = out + static_cast<long long>(m) * C::N;
#pragma unroll
      for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
        store_output_pair<C::N, C::GUARD_N>(row, m, n_block + warp_n0 + nt * 8 + 2 * t,
                                            acc[mt][nt][2 * half], acc[mt][nt][2 * half + 1],
                                            epilogue);
    }
}

}  // namespace ft

// ---- generated ----
namespace {

struct Config {
  static constexpr int M = 1024, N = 8192, K = 8192;
  static constexpr bool A_K_CONTIGUOUS = true, B_K_CONTIGUOUS = true;
  static constexpr int WARPS_M = 2, WARPS_N = 4;
  static constexpr int MMA_TILES_M = 4, MMA_TILES_N = 4;
  static constexpr int BK = 16, STAGES = 3;
  static constexpr int PASSES = 3;  // 3xtf32
  static constexpr int VEC_A = 4, VEC_B = 4;
  static constexpr bool GUARD_M = false, GUARD_N = false, GUARD_K = false;
};

struct Epilogue {
  const ft::LaunchArgs& args;

  template <int W>
  __device__ __forceinline__ void apply(float (&v)[W], [[maybe_unused]] int m, int n) const {
    float t2[W];
    ft::load_floats<W>(t2, args.tensors[2] + n);
    const float s0 = args.scalars[0];
    const float s1 = args.scalars[1];
#pragma unroll
    for (int j = 0; j < W; ++j) {
      float x = v[j];
      x = x + t2[j];  // bias
      x = x * s0;  // mul(2.0)
      x = x < 0.f ? x * s1 : x;  // leaky_relu(0.1)
      v[j] = x;
    }
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(256, 1)
ft_gemm_mma_128x128x16_w2x4_s3_3xtf32_va4_vb4(const __grid_constant__ ft::LaunchArgs args) {
  ft::gemm_mma<Config>(args.tensors[0], args.tensors[1], args.out, Epilogue{args});
}
