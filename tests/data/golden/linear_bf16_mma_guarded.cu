// fusetune generated kernel; regenerate with: fusetune gen "linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)" --config ft_gemm_mma_32x32x64_w1x2_s3_bf16_va4_vb4_gmnk
// spec:   linear(m=37, n=200, k=3004, dtype=bf16) -> bias -> gelu(tanh)
// config: ft_gemm_mma_32x32x64_w1x2_s3_bf16_va4_vb4_gmnk
// launch: grid (14, 1, 1), block (64, 1, 1), 27648 bytes of dynamic shared memory

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
// Pointers are typed fp32; with dtype=bf16/fp16 the tensors (and the output, unless
// out_dtype=fp32) hold 16-bit values and the generated code reinterprets them.
struct LaunchArgs {
  const float* tensors[kMaxTensors];  // main-op inputs first, then epilogue operands
  float* out;
  float scalars[kMaxScalars];
  int rows;  // the rows of x and of the output in this launch (a GEMM's M)
};

// The rows a GEMM kernel computes: its Config's M, a constant, or with DYNAMIC_M (a bucket's
// kernel, whose M is the bucket's top) the launch's. Constant M keeps the index arithmetic of a
// kernel tuned for one shape folded at compile time.
template <class C>
__device__ __forceinline__ int row_count(const LaunchArgs& args) {
  if constexpr (C::DYNAMIC_M) {
    return args.rows;
  } else {
    return C::M;
  }
}

// 16-bit storage types. Arithmetic is in fp32: values are widened on load and rounded to
// nearest on store.
struct bf16 {
  unsigned short bits;
};
struct fp16 {
  unsigned short bits;
};

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) {
  return __uint_as_float(static_cast<unsigned>(x.bits) << 16);
}
__device__ __forceinline__ float to_float(fp16 x) {
  float f;
  asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(x.bits));
  return f;
}

template <class T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ bf16 from_float<bf16>(float x) {
  bf16 r;
  asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(r.bits) : "f"(x));
  return r;
}
template <>
__device__ __forceinline__ fp16 from_float<fp16>(float x) {
  fp16 r;
  asm("cvt.rn.f16.f32 %0, %1;\n" : "=h"(r.bits) : "f"(x));
  return r;
}

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

// Loads one 16-bit value, widened to fp32.
template <class T>
__device__ __forceinline__ float load_float(const T* p) {
  static_assert(sizeof(T) == 2, "16-bit storage types");
  return to_float(T{__ldg(reinterpret_cast<const unsigned short*>(p))});
}

// Loads W consecutive 16-bit values starting at p (aligned to 2 * W bytes when W is 2 or 4),
// widened to fp32.
template <int W, class T>
__device__ __forceinline__ void load_floats(float (&v)[W], const T* p) {
  static_assert(sizeof(T) == 2, "16-bit storage types");
  if constexpr (W == 4) {
    const uint2 t = __ldg(reinterpret_cast<const uint2*>(p));
    const unsigned words[2] = {t.x, t.y};
#pragma unroll
    for (int j = 0; j < 4; ++j)
      v[j] = to_float(T{static_cast<unsigned short>(words[j / 2] >> (16 * (j % 2)))});
  } else if constexpr (W == 2) {
    const unsigned t = __ldg(reinterpret_cast<const unsigned*>(p));
    v[0] = to_float(T{static_cast<unsigned short>(t)});
    v[1] = to_float(T{static_cast<unsigned short>(t >> 16)});
  } else {
#pragma unroll
    for (int j = 0; j < W; ++j) v[j] = load_float(p + j);
  }
}

// Two fp32 values rounded to the 16-bit type T, in one 32-bit word as memory holds them side
// by side: the first in the low half.
template <class T>
__device__ __forceinline__ unsigned pack_pair(float x0, float x1) {
  static_assert(sizeof(T) == 2, "16-bit storage types");
  return from_float<T>(x0).bits | (static_cast<unsigned>(from_float<T>(x1).bits) << 16);
}

// Rounds W fp32 values to T and stores them at p (aligned like load_floats).
template <int W, class T>
__device__ __forceinline__ void store_floats(T* p, const float (&v)[W]) {
  static_assert(sizeof(T) == 2, "16-bit storage types");
  if constexpr (W == 4) {
    *reinterpret_cast<uint2*>(p) = make_uint2(pack_pair<T>(v[0], v[1]), pack_pair<T>(v[2], v[3]));
  } else if constexpr (W == 2) {
    *reinterpret_cast<unsigned*>(p) = pack_pair<T>(v[0], v[1]);
  } else {
#pragma unroll
    for (int j = 0; j < W; ++j) p[j] = from_float<T>(v[j]);
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

// Writes the accumulators of output columns n and n + 1 of row m (`row` points at its start,
// fp32 or 16-bit) through the epilogue, as tensor-core accumulator fragments hold them.
// Columns at or past N are skipped when GUARD_N; with N odd the pair is not aligned and goes
// one at a time.
template <int N, bool GUARD_N, class Out, class Epilogue>
__device__ __forceinline__ void store_output_pair(Out* row, int m, int n, float x0, float x1,
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
      row[n + e] = from_float<Out>(v[0]);
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

// ---- templates/mma_16bit.cuh ----
// Tensor-core building blocks for bf16 and fp16 data (sm_80 and newer): ldmatrix, which loads
// 8x8 matrices of 16-bit values from shared memory straight into MMA fragments, and the
// warp-wide mma.sync.m16n8k16 with fp32 accumulation.
//
// Fragment layout of m16n8k16 with 16-bit operands (PTX ISA, "Matrix Fragments for
// mma.m16n8k16 with floating point type"), for lane l with g = l / 4 and t = l % 4. Each A and
// B register holds two elements of consecutive k, the lower k in its low half:
//   A [16 x 16]:  a0 (g, 2t..2t+1)      a1 (g + 8, 2t..2t+1)
//                 a2 (g, 2t+8..2t+9)    a3 (g + 8, 2t+8..2t+9)
//   B [16 x 8]:   b0 (k = 2t..2t+1, n = g)  b1 (k = 2t+8..2t+9, n = g)
//   C [16 x 8]:   c0 (g, 2t)  c1 (g, 2t + 1)  c2 (g + 8, 2t)  c3 (g + 8, 2t + 1)  (as m16n8k8)
//
// ldmatrix.m8n8.x4 (PTX ISA, "ldmatrix"): lanes 8i..8i+7 give the addresses of rows 0..7 of
// matrix i, 16 contiguous bytes each, 16-byte aligned; register i of lane l receives row l / 4,
// columns 2t and 2t + 1 of matrix i, the lower column in the low half. With .trans it receives
// the transpose's: rows 2t and 2t + 1 of column l / 4. So an 8x8 block stored with k
// contiguous (A as [m][k], B as [n][k]) loads as a fragment register directly, and one stored
// with m or n contiguous ([k][m], [k][n]) loads through .trans.

namespace ft {

// `address`: a shared-memory address (smem_address). The clobber keeps the load after the
// barrier that publishes the stage it reads.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned (&r)[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}

// d += a · b for one 16x8x16 tile of T (bf16 or fp16) operands, fp32 accumulation.
template <class T>
__device__ __forceinline__ void mma_16bit(float (&d)[4], const unsigned (&a)[4],
                                          const unsigned (&b)[2]);

template <>
__device__ __forceinline__ void mma_16bit<bf16>(float (&d)[4], const unsigned (&a)[4],
                                                const unsigned (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <>
__device__ __forceinline__ void mma_16bit<fp16>(float (&d)[4], const unsigned (&a)[4],
                                                const unsigned (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

}  // namespace ft

// ---- templates/gemm_mma.cuh ----
// fusetune tensor-core GEMM (mma.sync, sm_80 and newer) with a fused epilogue:
// out[M,N] = epilogue(A · B), accumulated in fp32. The operands' type T (float, ft::bf16,
// ft::fp16) and the output's (float, or T) come from the pointers the entry passes.
//
// fp32 data, m16n8k8 on TF32:
//   PASSES = 1: TF32 (operands rounded to 10-bit mantissas; relative error near 3e-4).
//   PASSES = 3: 3xTF32 (each operand split into big + small TF32 parts; a·b computed as
//               small·big + big·small + big·big: fp32-level accuracy at three times the MMAs).
// bf16/fp16 data, m16n8k16 on the values as they are (exact products), PASSES = 1; fragments
// come from shared memory by ldmatrix (mma_16bit.cuh).
//
// A is x[M,K] (A_K_CONTIGUOUS) or [K,M]; B is W[N,K] (B_K_CONTIGUOUS) or [K,N]. Shared memory
// keeps each operand in its global layout, so every copy is a straight cp.async of VEC elements:
//   k-contiguous: [rows][BK + 16 bytes]  (BK + 4 floats, BK + 8 16-bit values)
//   otherwise:    [BK][rows + 8]
// Every row starts 16-byte aligned (cp.async, ldmatrix), and the pitches keep fragment loads
// free of bank conflicts (32 banks of 4 bytes; P is the pitch in 4-byte words):
//   fp32, k-contiguous: lane (g, t) reads word g·P + t; P = BK + 4 is 4 times an odd number
//     (BK a multiple of 8), so the g·P fall in 8 distinct groups of 4 banks, t picks one.
//   fp32, otherwise: lane (g, t) reads word t·P + g; P = rows + 8 is 8 mod 16 (rows a multiple
//     of 16), so the t·P are 0, 8, 16, 24 mod 32 and g adds 0..7.
//   16-bit: each ldmatrix phase reads 8 rows of 16 bytes, r·P + 0..3 for r = 0..7; P = BK/2 + 4
//     or rows/2 + 4 is 4 times an odd number (BK and rows multiples of 16): 32 distinct banks.
//
// Tunables (a Config struct; generator/gemm_mma_space.cc holds their ranges):
//   M, N, K                 problem shape
//   DYNAMIC_M               a bucket's kernel: M is the most rows, and a launch's come at run
//                           time (row_count in common.cuh); requires GUARD_M
//   A_K_CONTIGUOUS, B_K_CONTIGUOUS
//   WARPS_M, WARPS_N        warps per block along M and N             64..256 threads
//   MMA_TILES_M, _N         16x8 MMA tiles per warp along M and N     warp tile 16·TM x 8·TN
//                                                                     (TN even for 16-bit)
//   BK                      k-depth of a stage                        multiple of the MMA's k
//                                                                     (8 fp32, 16 16-bit)
//   STAGES                  cp.async pipeline depth                   2..4
//   PASSES                  1 (TF32, bf16, fp16) or 3 (3xTF32)
//   VEC_A, VEC_B            elements per copy of 4, 8 or 16 bytes (fp32 1, 2, 4; 16-bit 2, 4,
//                           8), the widest the contiguous extent allows
//   GUARD_M/N/K             edges checked: required when the shape is not a tile multiple

namespace ft {

template <class C, class T>
struct GemmMmaShape {
  static constexpr int ELEMENT_BYTES = sizeof(T);
  static constexpr int MMA_K = ELEMENT_BYTES == 4 ? 8 : 16;  // k of one MMA instruction
  static constexpr int THREADS = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int WM = 16 * C::MMA_TILES_M;  // warp tile rows
  static constexpr int WN = 8 * C::MMA_TILES_N;   // warp tile columns
  static constexpr int BM = C::WARPS_M * WM;      // block tile rows
  static constexpr int BN = C::WARPS_N * WN;      // block tile columns
  static constexpr int K_TILES = (C::K + C::BK - 1) / C::BK;
  static constexpr int K_PAD = 16 / ELEMENT_BYTES;  // 16 bytes: 4 floats or 8 16-bit values
  // A stage [BM, BK + K_PAD] or [BK, BM + 8]; B stage [BN, BK + K_PAD] or [BK, BN + 8].
  static constexpr int A_PITCH = C::A_K_CONTIGUOUS ? C::BK + K_PAD : BM + 8;
  static constexpr int B_PITCH = C::B_K_CONTIGUOUS ? C::BK + K_PAD : BN + 8;
  static constexpr int A_STAGE = (C::A_K_CONTIGUOUS ? BM : C::BK) * A_PITCH;  // elements
  static constexpr int B_STAGE = (C::B_K_CONTIGUOUS ? BN : C::BK) * B_PITCH;

  static_assert(ELEMENT_BYTES == 4 || ELEMENT_BYTES == 2, "fp32, bf16 or fp16 operands");
  static_assert(C::STAGES * (A_STAGE + B_STAGE) * ELEMENT_BYTES <= C::SMEM_BYTES,
                "the stages fit the shared memory the generator sized (Config::SMEM_BYTES)");
  static_assert(C::BK % MMA_K == 0, "a stage holds whole MMA k-steps");
  static_assert(C::STAGES >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(C::PASSES == 1 || C::PASSES == 3, "TF32 takes one pass, 3xTF32 three");
  static_assert(ELEMENT_BYTES == 4 || C::PASSES == 1, "16-bit operands take one pass");
  static_assert(ELEMENT_BYTES == 4 || C::MMA_TILES_N % 2 == 0,
                "ldmatrix loads the B fragments of two MMA tiles at once");
  static_assert(C::GUARD_M || C::M % BM == 0, "an unguarded M edge needs M % BM == 0");
  static_assert(!C::DYNAMIC_M || (C::GUARD_M && C::A_K_CONTIGUOUS),
                "rows that vary by launch are guarded, and x is [M, K] (its stride is K)");
  static_assert(C::GUARD_N || C::N % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || C::K % C::BK == 0, "an unguarded K edge needs K % BK == 0");
};

// Copies rows [row0, row0 + ROWS) x columns [col0, col0 + COLS) of the row-major matrix
// g[ROWS_TOTAL][COLS_TOTAL] into the stage at s, element (r, c) at byte place(r, c), VEC elements
// per copy. Out-of-range elements become zeros (VEC divides COLS_TOTAL, so a copy is wholly in
// or wholly out).
template <int ROWS, int COLS, int VEC, int THREADS, bool GUARD_ROWS, bool GUARD_COLS, class T,
          class Place>
__device__ __forceinline__ void fill_tile_placed(unsigned s, const T* g, int row0, int col0,
                                                 int rows_total, int cols_total, int tid,
                                                 const Place& place) {
  constexpr int BYTES = sizeof(T);
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
    const T* src = valid ? g + static_cast<long long>(row0 + r) * cols_total + col0 + c : g;
    cp_async<BYTES * VEC>(s + place(r, c), src, valid);
  }
}

// fill_tile_placed into the stage s[ROWS][PITCH].
template <int ROWS, int COLS, int PITCH, int VEC, int THREADS, bool GUARD_ROWS, bool GUARD_COLS,
          class T>
__device__ __forceinline__ void fill_tile(unsigned s, const T* g, int row0, int col0,
                                          int rows_total, int cols_total, int tid) {
  fill_tile_placed<ROWS, COLS, VEC, THREADS, GUARD_ROWS, GUARD_COLS>(
      s, g, row0, col0, rows_total, cols_total, tid,
      [](int r, int c) { return static_cast<unsigned>((r * PITCH + c) * sizeof(T)); });
}

// This warp's operand fragments at one 8-deep k-step of fp32 data: TF32 big parts, and small
// parts for 3xTF32.
template <class C, class S>
struct MmaFragmentsTf32 {
  static constexpr bool SPLIT = C::PASSES == 3;
  unsigned a_big[C::MMA_TILES_M][4], a_small[SPLIT ? C::MMA_TILES_M : 1][4];
  unsigned b_big[C::MMA_TILES_N][2], b_small[SPLIT ? C::MMA_TILES_N : 1][2];

  // as/bs: the stage; m0/n0: the warp's first row/column in the block tile; k: the step's first k.
  __device__ __forceinline__ void load(const float* as, const float* bs, int m0, int n0, int k,
                                       int lane) {
    const int g = lane / 4, t = lane % 4;  // see mma_tf32.cuh
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

// This warp's operand fragments at one 16-deep k-step of T (bf16 or fp16) data, by ldmatrix.x4:
// matrix i of an instruction is addressed by lanes 8i..8i+7, lane 8i + r giving its row r.
template <class C, class S, class T>
struct MmaFragments16Bit {
  unsigned a[C::MMA_TILES_M][4];  // per 16x16 tile: a0..a3 (mma_16bit.cuh)
  unsigned b[C::MMA_TILES_N][2];  // per 16x8 tile: b0, b1

  // as/bs: the stage; m0/n0: the warp's first row/column in the block tile; k: the step's first k.
  __device__ __forceinline__ void load(const T* as, const T* bs, int m0, int n0, int k, int lane) {
    const unsigned a_stage = smem_address(as), b_stage = smem_address(bs);
    const int i = lane / 8, r = lane % 8;
#pragma unroll
    for (int mt = 0; mt < C::MMA_TILES_M; ++mt) {
      // Matrix i: rows m..m+7 (8 further on for odd i) by k kk..kk+7 (8 further on for i >= 2),
      // so its registers are a0..a3 in order.
      const int m = m0 + mt * 16 + i % 2 * 8, kk = k + i / 2 * 8;
      if constexpr (C::A_K_CONTIGUOUS)
        ldmatrix_x4(a[mt], a_stage + ((m + r) * S::A_PITCH + kk) * S::ELEMENT_BYTES);
      else
        ldmatrix_x4_trans(a[mt], a_stage + ((kk + r) * S::A_PITCH + m) * S::ELEMENT_BYTES);
    }
#pragma unroll
    for (int nt = 0; nt < C::MMA_TILES_N; nt += 2) {
      // Matrix i: the 8 columns of tile nt + i / 2 by k kk..kk+7 (8 further on for odd i), so
      // its registers are b0, b1 of tile nt, then b0, b1 of tile nt + 1.
      const int n = n0 + (nt + i / 2) * 8, kk = k + i % 2 * 8;
      unsigned pair[4];
      if constexpr (C::B_K_CONTIGUOUS)
        ldmatrix_x4(pair, b_stage + ((n + r) * S::B_PITCH + kk) * S::ELEMENT_BYTES);
      else
        ldmatrix_x4_trans(pair, b_stage + ((kk + r) * S::B_PITCH + n) * S::ELEMENT_BYTES);
      b[nt][0] = pair[0], b[nt][1] = pair[1];
      b[nt + 1][0] = pair[2], b[nt + 1][1] = pair[3];
    }
  }

  __device__ __forceinline__ void multiply_into(
      float (&acc)[C::MMA_TILES_M][C::MMA_TILES_N][4]) const {
#pragma unroll
    for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
      for (int nt = 0; nt < C::MMA_TILES_N; ++nt) mma_16bit<T>(acc[mt][nt], a[mt], b[nt]);
  }
};

// The cp.async ring of a k-loop over STAGES stages: the first STAGES - 1 k-tiles copied ahead,
// one commit group each (empty past K_TILES).
template <int STAGES, int K_TILES, class FillStage>
__device__ __forceinline__ void fill_first_stages(const FillStage& fill_stage) {
#pragma unroll
  for (int stage = 0; stage < STAGES - 1; ++stage) {
    if (stage < K_TILES) fill_stage(stage, stage);
    cp_async_commit();
  }
}

// Waits until k-tile `k_tile` has landed for every thread, and every thread has finished
// reading the stage the next fill overwrites; then copies k-tile k_tile + STAGES - 1 into
// `write_stage` (an empty commit group past K_TILES).
template <int STAGES, int K_TILES, class FillStage>
__device__ __forceinline__ void await_tile_and_fill_ahead(const FillStage& fill_stage, int k_tile,
                                                          int write_stage) {
  cp_async_wait<STAGES - 2>();
  __syncthreads();
  if (k_tile + STAGES - 1 < K_TILES) fill_stage(write_stage, k_tile + STAGES - 1);
  cp_async_commit();
}

// The k-loop of the mma.sync templates: a STAGES-deep cp.async ring that
// fill_stage(stage, k_tile) fills, in k order, and every warp's fragments read, over K_TILES
// k-tiles. after_tile(acc) runs once each k-tile's sums are in `acc`, this thread's
// [MMA_TILES_M][MMA_TILES_N] accumulator fragments, and may take and reset them (a
// convolution's cell elements, each a GEMM of its own, run as one pipeline).
template <class C, class S, class Fragments, int K_TILES, class T, class FillStage, class AfterTile>
__device__ __forceinline__ void mma_k_loop_over(float (&acc)[C::MMA_TILES_M][C::MMA_TILES_N][4],
                                                const FillStage& fill_stage,
                                                const AfterTile& after_tile, const T* a_stages,
                                                const T* b_stages, int warp_m0, int warp_n0,
                                                int lane) {
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.f;

  fill_first_stages<C::STAGES, K_TILES>(fill_stage);
  int read_stage = 0, write_stage = C::STAGES - 1;
  Fragments frag;
  for (int k_tile = 0; k_tile < K_TILES; ++k_tile) {
    await_tile_and_fill_ahead<C::STAGES, K_TILES>(fill_stage, k_tile, write_stage);
    const T* as = a_stages + read_stage * S::A_STAGE;
    const T* bs = b_stages + read_stage * S::B_STAGE;
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
      for (int k = 0; k < C::BK; k += S::MMA_K) {
        frag.load(as, bs, warp_m0, warp_n0, k, lane);
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
      for (int k = 0; k < C::BK; k += S::MMA_K) {
        frag.load(as, bs, warp_m0, warp_n0, k, lane);
        frag.multiply_into(acc);
      }
    }
    after_tile(acc);
    read_stage = read_stage + 1 == C::STAGES ? 0 : read_stage + 1;
    write_stage = write_stage + 1 == C::STAGES ? 0 : write_stage + 1;
  }
}

// What a GEMM does after each k-tile: nothing.
struct KeepSumming {
  template <class Acc>
  __device__ __forceinline__ void operator()(Acc&) const {}
};

// The k-loop of a GEMM: S::K_TILES k-tiles, the block's sums left in `acc`.
template <class C, class S, class Fragments, class T, class FillStage>
__device__ __forceinline__ void mma_k_loop(float (&acc)[C::MMA_TILES_M][C::MMA_TILES_N][4],
                                           const FillStage& fill_stage, const T* a_stages,
                                           const T* b_stages, int warp_m0, int warp_n0, int lane) {
  mma_k_loop_over<C, S, Fragments, S::K_TILES>(acc, fill_stage, KeepSumming{}, a_stages, b_stages,
                                               warp_m0, warp_n0, lane);
}

// `rows`: row_count<C>(args), the rows of A and of the output.
template <class C, class T, class Out, class Epilogue>
__device__ __forceinline__ void gemm_mma(const T* __restrict__ a, const T* __restrict__ b,
                                         Out* __restrict__ out, const Epilogue& epilogue,
                                         const int rows) {
  using S = GemmMmaShape<C, T>;
  using Fragments = typename select_type<S::ELEMENT_BYTES == 4, MmaFragmentsTf32<C, S>,
                                         MmaFragments16Bit<C, S, T>>::type;
  extern __shared__ float4 smem_vec[];
  T* smem = reinterpret_cast<T*>(smem_vec);
  T* a_stages = smem;                           // [STAGES][A_STAGE]
  T* b_stages = smem + C::STAGES * S::A_STAGE;  // [STAGES][B_STAGE]
  const unsigned a_smem = smem_address(a_stages);
  const unsigned b_smem = smem_address(b_stages);

  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment coordinates of this lane
  const int warp_m0 = warp % C::WARPS_M * S::WM;
  const int warp_n0 = warp / C::WARPS_M * S::WN;
  // One block per output tile, M fastest (see gemm_simt.cuh).
  const int m_tiles = (rows + S::BM - 1) / S::BM;
  const int m_block = static_cast<int>(blockIdx.x % m_tiles) * S::BM;
  const int n_block = static_cast<int>(blockIdx.x / m_tiles) * S::BN;

  auto fill_stage = [&](int stage, int k_tile) {
    const int k0 = k_tile * C::BK;
    const unsigned as = a_smem + stage * S::A_STAGE * S::ELEMENT_BYTES;
    const unsigned bs = b_smem + stage * S::B_STAGE * S::ELEMENT_BYTES;
    if constexpr (C::A_K_CONTIGUOUS)
      fill_tile<S::BM, C::BK, S::A_PITCH, C::VEC_A, S::THREADS, C::GUARD_M, C::GUARD_K>(
          as, a, m_block, k0, rows, C::K, tid);
    else
      fill_tile<C::BK, S::BM, S::A_PITCH, C::VEC_A, S::THREADS, C::GUARD_K, C::GUARD_M>(
          as, a, k0, m_block, C::K, rows, tid);
    if constexpr (C::B_K_CONTIGUOUS)
      fill_tile<S::BN, C::BK, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_N, C::GUARD_K>(
          bs, b, n_block, k0, C::N, C::K, tid);
    else
      fill_tile<C::BK, S::BN, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_K, C::GUARD_N>(
          bs, b, k0, n_block, C::K, C::N, tid);
  };

  float acc[C::MMA_TILES_M][C::MMA_TILES_N][4];  // [TM, TN, 4] accumulator fragments
  mma_k_loop<C, S, Fragments>(acc, fill_stage, a_stages, b_stages, warp_m0, warp_n0, lane);

  // Each lane holds, per MMA tile, two adjacent columns of rows g and g + 8.
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int m = m_block + warp_m0 + mt * 16 + g + 8 * half;
      if (C::GUARD_M && m >= rows) continue;
      Out* row = out + static_cast<long long>(m) * C::N;
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
  static constexpr int M = 37, N = 200, K = 3004;
  static constexpr bool A_K_CONTIGUOUS = true, B_K_CONTIGUOUS = true, DYNAMIC_M = false;
  static constexpr int WARPS_M = 1, WARPS_N = 2;
  static constexpr int MMA_TILES_M = 2, MMA_TILES_N = 2;
  static constexpr int BK = 64, STAGES = 3;
  static constexpr int PASSES = 1;  // bf16
  static constexpr int VEC_A = 4, VEC_B = 4;
  static constexpr bool GUARD_M = true, GUARD_N = true, GUARD_K = true;
  static constexpr int SMEM_BYTES = 27648;  // what the launch gives
};

struct Epilogue {
  const ft::LaunchArgs& args;

  template <int W>
  __device__ __forceinline__ void apply(float (&v)[W], [[maybe_unused]] int m, int n) const {
    float t2[W];
    ft::load_floats<W>(t2, reinterpret_cast<const ft::bf16*>(args.tensors[2]) + n);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      float x = v[j];
      x = x + t2[j];  // bias
      x = 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));  // gelu(tanh)
      v[j] = x;
    }
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(64, 1)
ft_gemm_mma_32x32x64_w1x2_s3_bf16_va4_vb4_gmnk(const __grid_constant__ ft::LaunchArgs args) {
  ft::gemm_mma<Config>(reinterpret_cast<const ft::bf16*>(args.tensors[0]), reinterpret_cast<const ft::bf16*>(args.tensors[1]), reinterpret_cast<ft::bf16*>(args.out), Epilogue{args}, ft::row_count<Config>(args));
}
