// fusetune generated kernel; regenerate with: fusetune gen "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)" --config ft_gemm_simt_64x256x16_w2x2_t8x16_s3_m_spread
// spec:   linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)
// config: ft_gemm_simt_64x256x16_w2x2_t8x16_s3_m_spread
// launch: grid (512, 1, 1), block (128, 1, 1), 62976 bytes of dynamic shared memory

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

// ---- templates/split_k.cuh ----
// Split-K through global memory, shared by the GEMM templates. A tile's k-tiles are divided
// into SPLITS ranges computed by different blocks (or units of work). Each writes its partial
// sums to a workspace and counts itself in on the tile's counter; the last to arrive adds every
// split's partial sums in split order, so the result does not depend on who came last, runs the
// epilogue, and sets the counter back to zero for the next launch. Nobody waits for anybody.
//
// Workspace of one tile (and, where a block's threads split into groups that finish on their
// own, one group): [SPLITS][FLOATS / 4][THREADS] float4, so that each of a warp's stores and
// loads covers one contiguous 512-byte run.

namespace ft {

// `acc` holds this thread's FLOATS accumulators (a multiple of 4, contiguous), `partials` the
// tile's workspace, `counter` its arrival counter in global memory and `flag` a word of shared
// memory (an address from smem_address) for the group; `sync` synchronizes the group's THREADS
// threads. Returns true in the last split's group, whose `acc` then holds the sum of every split.
template <int SPLITS, int FLOATS, int THREADS, class Sync>
__device__ __forceinline__ bool reduce_split_k(float* acc, float* __restrict__ partials,
                                               unsigned* counter, unsigned flag, int split,
                                               int thread, const Sync& sync) {
  static_assert(FLOATS % 4 == 0, "accumulators are stored as float4 vectors");
  constexpr int VECTORS = FLOATS / 4;
  float* mine = partials + 4ll * VECTORS * THREADS * split;
#pragma unroll
  for (int v = 0; v < VECTORS; ++v)
    asm volatile(
        "st.global.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(mine + 4 * (v * THREADS + thread)),
        "f"(acc[4 * v]), "f"(acc[4 * v + 1]), "f"(acc[4 * v + 2]), "f"(acc[4 * v + 3])
        : "memory");
  __threadfence();  // the partial sums are visible before the counter says so
  sync();
  if (thread == 0) {
    unsigned before;
    asm volatile("atom.global.add.u32 %0, [%1], 1;\n" : "=r"(before) : "l"(counter) : "memory");
    asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(flag), "r"(before) : "memory");
  }
  sync();
  unsigned before;
  asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(before) : "r"(flag) : "memory");
  if (before != SPLITS - 1) return false;
  __threadfence();
#pragma unroll
  for (int f = 0; f < FLOATS; ++f) acc[f] = 0.f;
  for (int s = 0; s < SPLITS; ++s) {
    const float* theirs = partials + 4ll * VECTORS * THREADS * s;
#pragma unroll
    for (int v = 0; v < VECTORS; ++v) {
      float p[4];
      // .cg: from L2, where the other blocks' stores are, never a stale L1 line.
      asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];\n"
                   : "=f"(p[0]), "=f"(p[1]), "=f"(p[2]), "=f"(p[3])
                   : "l"(theirs + 4 * (v * THREADS + thread)));
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[4 * v + e] += p[e];
    }
  }
  if (thread == 0) *counter = 0;  // every split has counted in: ready for the next launch
  return true;
}

}  // namespace ft

// ---- templates/gemm_simt.cuh ----
// fusetune SIMT fp32 GEMM with a fused epilogue:  out[M,N] = epilogue(A · B).
//
// A is x[M,K] (A_K_CONTIGUOUS) or [K,M]; B is W[N,K] (B_K_CONTIGUOUS, a linear layer's weight)
// or [K,N]. Every product is an exact fp32 FFMA; accumulation order is k ascending.
//
// Tiling: a block computes a [BM, BN] tile; its warps form a WARPS_M x WARPS_N grid; the lanes of
// a warp form a LANES_M x LANES_N grid; each thread owns REP_M x REP_N fragments of 4x4 outputs,
// spaced a warp-width apart so that a warp's shared-memory reads are distinct consecutive
// float4s (conflict-free) and its stores are 16-byte vectors along N.
//
// Tunables (a Config struct; generator/gemm_simt_space.cc holds their ranges):
//   M, N, K            problem shape (compile-time: a kernel is tuned for one shape)
//   DYNAMIC_M          a bucket's kernel: M is the most rows, and a launch's come at run time
//                      (row_count in common.cuh); requires GUARD_M
//   A_K_CONTIGUOUS     A stored [M,K] (true) or [K,M]
//   B_K_CONTIGUOUS     B stored [N,K] (true) or [K,N]
//   WARPS_M, WARPS_N   warps per block along M and N            1..8, 64..512 threads
//   LANES_M, LANES_N   lane grid of a warp                       4x8 or 8x4
//   LANE_N_FASTEST     consecutive lanes step along N (true) or along M
//   REP_M, REP_N       4x4 fragments per thread along M and N    1, 2, 4
//   BK                 k-depth of a shared-memory stage          8, 16, 32
//   STAGES             cp.async pipeline depth                   2..4
//   VEC_A, VEC_B       floats per cp.async for an operand that is not k-contiguous  1, 2, 4
//   SPLITS             split-K: blockIdx.y takes one of SPLITS ranges of the k-tiles, added
//                      through the workspace (split_k.cuh)                       1..32
//   GUARD_M/N/K        edges checked: required when the shape is not a tile multiple
//
// Shared memory per stage: A as [BK][BM + 4] and B as [BK][BN + 4], both k-major, so the inner
// loop reads a thread's 4 rows (or columns) as one float4.

namespace ft {

template <class C>
struct GemmSimtShape {
  static constexpr int THREADS = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int TM = 4 * C::REP_M;      // thread tile rows
  static constexpr int TN = 4 * C::REP_N;      // thread tile columns
  static constexpr int WM = C::LANES_M * TM;   // warp tile rows
  static constexpr int WN = C::LANES_N * TN;   // warp tile columns
  static constexpr int BM = C::WARPS_M * WM;   // block tile rows
  static constexpr int BN = C::WARPS_N * WN;   // block tile columns
  static constexpr int LDA = BM + 4;           // smem pitch of A, in floats
  static constexpr int LDB = BN + 4;           // smem pitch of B, in floats
  static constexpr int A_STAGE = C::BK * LDA;  // floats per A stage  [BK, LDA]
  static constexpr int B_STAGE = C::BK * LDB;  // floats per B stage  [BK, LDB]
  static constexpr int K_TILES = (C::K + C::BK - 1) / C::BK;
  static constexpr int K_TILES_PER_SPLIT = (K_TILES + C::SPLITS - 1) / C::SPLITS;
  // The output tiles at M rows: a bucket's most, which its workspace was sized for.
  static constexpr int MOST_TILES = (C::M + BM - 1) / BM * ((C::N + BN - 1) / BN);

  static_assert(C::LANES_M * C::LANES_N == 32, "a warp's lane grid must hold 32 lanes");
  static_assert(C::BK % 8 == 0, "k-contiguous fills copy k in runs of 8 floats");
  static_assert(C::STAGES >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(C::GUARD_M || C::M % BM == 0, "an unguarded M edge needs M % BM == 0");
  static_assert(!C::DYNAMIC_M || (C::GUARD_M && C::A_K_CONTIGUOUS),
                "rows that vary by launch are guarded, and x is [M, K] (its stride is K)");
  static_assert(C::GUARD_N || C::N % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || C::K % C::BK == 0, "an unguarded K edge needs K % BK == 0");
  static_assert(C::SPLITS >= 1 && (C::SPLITS - 1) * K_TILES_PER_SPLIT < K_TILES,
                "every split has k-tiles");
};

// Copies a [ROWS, BK] slice of a k-contiguous matrix g[rows_total][K] into a k-major stage
// [BK][LD]. Eight consecutive threads copy one 32-byte run of k, so a warp reads four whole
// sectors per instruction and, with LD = ROWS + 4, writes 32 distinct banks. All but the k-tile
// offset is fixed per thread, so a stage's copies use constant offsets from two registers.
template <class C, int ROWS, bool GUARD_ROWS, int THREADS, int LD>
struct KContiguousFill {
  static constexpr int K_RUN = 8;
  static constexpr int ROWS_PER_PASS = THREADS / K_RUN;
  static constexpr int PASSES = ROWS / ROWS_PER_PASS;
  static_assert(ROWS % ROWS_PER_PASS == 0, "the block's threads must tile the rows evenly");

  const float* g;    // the matrix; the harmless address of copies that read nothing
  const float* src;  // this thread's first source element: (row, k_in_run)
  unsigned dst;      // this thread's first destination, in bytes from the stage start
  int rows_total;    // the rows of g (a bucket's A: the launch's)
  int row;           // this thread's first row of g
  int k_in_run;      // this thread's k within a run of K_RUN

  __device__ __forceinline__ KContiguousFill(const float* matrix, int matrix_rows, int row0,
                                             int tid)
      : g(matrix), rows_total(matrix_rows), row(row0 + tid / K_RUN), k_in_run(tid % K_RUN) {
    src = g + static_cast<long long>(row) * C::K + k_in_run;
    dst = (k_in_run * LD + tid / K_RUN) * 4;
  }

  // Issues the copies whose index is `part` modulo PARTS (all of them when PARTS == 1).
  template <int PARTS>
  __device__ __forceinline__ void copy(unsigned stage, int k_tile, int part) const {
    const float* tile = src + k_tile * C::BK;
#pragma unroll
    for (int k_run = 0; k_run < C::BK; k_run += K_RUN) {
#pragma unroll
      for (int pass = 0; pass < PASSES; ++pass) {
        if ((k_run / K_RUN * PASSES + pass) % PARTS != part) continue;
        const bool valid = (!GUARD_ROWS || row + pass * ROWS_PER_PASS < rows_total) &&
                           (!C::GUARD_K || k_tile * C::BK + k_run + k_in_run < C::K);
        const float* p = tile + static_cast<long long>(pass * ROWS_PER_PASS) * C::K + k_run;
        cp_async<4>(stage + dst + (k_run * LD + pass * ROWS_PER_PASS) * 4, valid ? p : g, valid);
      }
    }
  }
};

// Copies a [BK, ROWS] slice of a row-contiguous matrix g[K][ROWS_TOTAL] into a stage [BK][LD],
// VEC floats per copy.
template <class C, int ROWS, int ROWS_TOTAL, bool GUARD_ROWS, int THREADS, int LD, int VEC>
struct RowsContiguousFill {
  static constexpr int VECS_PER_K = ROWS / VEC;
  static constexpr int COPIES = C::BK * VECS_PER_K;
  static constexpr int PASSES = (COPIES + THREADS - 1) / THREADS;
  static_assert(ROWS_TOTAL % VEC == 0, "a vector copy must not straddle the matrix edge");

  const float* g;  // the matrix; the harmless address of copies that read nothing
  int row0;        // the block's first row
  int tid;

  __device__ __forceinline__ RowsContiguousFill(const float* matrix, int first_row, int thread)
      : g(matrix), row0(first_row), tid(thread) {}

  // Issues the copies whose index is `part` modulo PARTS (all of them when PARTS == 1).
  template <int PARTS>
  __device__ __forceinline__ void copy(unsigned stage, int k_tile, int part) const {
#pragma unroll
    for (int pass = 0; pass < PASSES; ++pass) {
      if (pass % PARTS != part) continue;
      const int i = pass * THREADS + tid;
      if (COPIES % THREADS != 0 && i >= COPIES) break;
      const int k_local = i / VECS_PER_K;
      const int r = i % VECS_PER_K * VEC;
      const int k = k_tile * C::BK + k_local;
      const bool valid = (!GUARD_ROWS || row0 + r < ROWS_TOTAL) && (!C::GUARD_K || k < C::K);
      const float* p = g + static_cast<long long>(k) * ROWS_TOTAL + row0 + r;
      cp_async<4 * VEC>(stage + (k_local * LD + r) * 4, valid ? p : g, valid);
    }
  }
};

// A fill of `matrix`, whose rows number `matrix_rows` where it is k-contiguous (else its Fill
// has them compiled in), from row or column `first` of the block.
template <class Fill, bool K_CONTIGUOUS>
__device__ __forceinline__ Fill make_fill(const float* matrix, int matrix_rows, int first,
                                          int tid) {
  if constexpr (K_CONTIGUOUS) {
    return Fill(matrix, matrix_rows, first, tid);
  } else {
    return Fill(matrix, first, tid);
  }
}

// Issues part `part` (of PARTS) of the copies that fill one stage of A and one of B.
template <int PARTS, class FillA, class FillB>
__device__ __forceinline__ void fill_stage(const FillA& fill_a, const FillB& fill_b,
                                           unsigned a_stage, unsigned b_stage, int k_tile,
                                           int part) {
  fill_a.template copy<PARTS>(a_stage, k_tile, part);
  fill_b.template copy<PARTS>(b_stage, k_tile, part);
}

// This thread's A column and B row at one k: REP_M (REP_N) float4s spaced a warp-width apart.
template <class C, class S>
struct Fragments {
  float a[S::TM];  // [TM]
  float b[S::TN];  // [TN]

  __device__ __forceinline__ void load(const float* as, const float* bs, int k) {
#pragma unroll
    for (int r = 0; r < C::REP_M; ++r) {
      const float4 v = *reinterpret_cast<const float4*>(as + k * S::LDA + r * C::LANES_M * 4);
      a[4 * r + 0] = v.x, a[4 * r + 1] = v.y, a[4 * r + 2] = v.z, a[4 * r + 3] = v.w;
    }
#pragma unroll
    for (int r = 0; r < C::REP_N; ++r) {
      const float4 v = *reinterpret_cast<const float4*>(bs + k * S::LDB + r * C::LANES_N * 4);
      b[4 * r + 0] = v.x, b[4 * r + 1] = v.y, b[4 * r + 2] = v.z, b[4 * r + 3] = v.w;
    }
  }

  __device__ __forceinline__ void multiply_into(float (&acc)[S::TM][S::TN]) const {
#pragma unroll
    for (int i = 0; i < S::TM; ++i)
#pragma unroll
      for (int j = 0; j < S::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
};

// Applies the epilogue to this thread's outputs and writes them, 4 columns at a time where N
// allows 16-byte stores. (m0, n0) is the thread's first output row and column, of `rows`.
template <class C, class S, class Epilogue>
__device__ __forceinline__ void store_outputs(float (&acc)[S::TM][S::TN], const Epilogue& epilogue,
                                              float* out, int m0, int n0, int rows) {
#pragma unroll
  for (int i = 0; i < S::TM; ++i) {
    const int m = m0 + (i / 4) * C::LANES_M * 4 + i % 4;
    if (C::GUARD_M && m >= rows) continue;
#pragma unroll
    for (int r = 0; r < C::REP_N; ++r) {
      const int n = n0 + r * C::LANES_N * 4;
      float* row = out + static_cast<long long>(m) * C::N;
      if constexpr (C::N % 4 == 0) {
        if (C::GUARD_N && n >= C::N) continue;
        float v[4] = {acc[i][4 * r], acc[i][4 * r + 1], acc[i][4 * r + 2], acc[i][4 * r + 3]};
        epilogue.template apply<4>(v, m, n);
        store_floats<4>(row + n, v);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (C::GUARD_N && n + j >= C::N) continue;
          float v[1] = {acc[i][4 * r + j]};
          epilogue.template apply<1>(v, m, n + j);
          row[n + j] = v[0];
        }
      }
    }
  }
}

// `rows`: row_count<C>(args), the rows of A and of the output.
template <class C, class Epilogue>
__device__ __forceinline__ void gemm_simt(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ out, float* __restrict__ workspace,
                                          const Epilogue& epilogue, const int rows) {
  using S = GemmSimtShape<C>;
  extern __shared__ float4 smem_vec[];
  float* smem = reinterpret_cast<float*>(smem_vec);
  float* a_stages = smem;                           // [STAGES][BK][LDA]
  float* b_stages = smem + C::STAGES * S::A_STAGE;  // [STAGES][BK][LDB]

  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int warp_m = warp % C::WARPS_M, warp_n = warp / C::WARPS_M;
  const int lane_m = C::LANE_N_FASTEST ? lane / C::LANES_N : lane % C::LANES_M;
  const int lane_n = C::LANE_N_FASTEST ? lane % C::LANES_N : lane / C::LANES_M;
  // One block per output tile, M fastest: the blocks resident together share one slab of B
  // (the larger operand of a linear layer) through L2. A 1-D grid has no 65535-block axis.
  const int m_tiles = (rows + S::BM - 1) / S::BM;
  const int m_block = static_cast<int>(blockIdx.x % m_tiles) * S::BM;
  const int n_block = static_cast<int>(blockIdx.x / m_tiles) * S::BN;
  // This block's k-tiles: all of them, or split-K's range blockIdx.y.
  const int k_begin = static_cast<int>(blockIdx.y) * S::K_TILES_PER_SPLIT;
  const int k_end = min(S::K_TILES, k_begin + S::K_TILES_PER_SPLIT);

  using FillA = typename select_type<
      C::A_K_CONTIGUOUS, KContiguousFill<C, S::BM, C::GUARD_M, S::THREADS, S::LDA>,
      RowsContiguousFill<C, S::BM, C::M, C::GUARD_M, S::THREADS, S::LDA, C::VEC_A>>::type;
  using FillB = typename select_type<
      C::B_K_CONTIGUOUS, KContiguousFill<C, S::BN, C::GUARD_N, S::THREADS, S::LDB>,
      RowsContiguousFill<C, S::BN, C::N, C::GUARD_N, S::THREADS, S::LDB, C::VEC_B>>::type;
  const FillA fill_a = make_fill<FillA, C::A_K_CONTIGUOUS>(a, rows, m_block, tid);
  const FillB fill_b = make_fill<FillB, C::B_K_CONTIGUOUS>(b, C::N, n_block, tid);
  const unsigned a_smem = smem_address(a_stages);
  const unsigned b_smem = smem_address(b_stages);
  // With SPREAD_FILL a tile's copies are issued over the first FILL_PARTS k-steps of the tile
  // before, instead of in one burst that stalls the load/store pipe.
  constexpr int FILL_PARTS = C::SPREAD_FILL ? C::BK / 2 : 1;
  auto a_stage_smem = [&](int stage) { return a_smem + stage * S::A_STAGE * 4; };
  auto b_stage_smem = [&](int stage) { return b_smem + stage * S::B_STAGE * 4; };

  float acc[S::TM][S::TN];  // [TM, TN] this thread's outputs
#pragma unroll
  for (int i = 0; i < S::TM; ++i)
#pragma unroll
    for (int j = 0; j < S::TN; ++j) acc[i][j] = 0.f;

  const int a_offset = warp_m * S::WM + lane_m * 4;
  const int b_offset = warp_n * S::WN + lane_n * 4;
  auto stage_a = [&](int stage) { return a_stages + stage * S::A_STAGE + a_offset; };
  auto stage_b = [&](int stage) { return b_stages + stage * S::B_STAGE + b_offset; };

#pragma unroll
  for (int stage = 0; stage < C::STAGES - 1; ++stage) {
    if (k_begin + stage < k_end)
      fill_stage<1>(fill_a, fill_b, a_stage_smem(stage), b_stage_smem(stage), k_begin + stage, 0);
    cp_async_commit();
  }
  cp_async_wait<C::STAGES - 2>();
  __syncthreads();

  // Software pipeline: the fragments of step k+1 are loaded while step k multiplies, across
  // stage boundaries too, so the FFMAs never wait on shared memory.
  Fragments<C, S> frag[2];
  int read_stage = 0, write_stage = C::STAGES - 1;
  frag[0].load(stage_a(0), stage_b(0), 0);
  for (int k_tile = k_begin; k_tile < k_end; ++k_tile) {
    // The stage read during the previous tile is free: every thread passed the barrier that
    // ended that tile after its last read.
    const bool fill_next = k_tile + C::STAGES - 1 < k_end;
    const float* as = stage_a(read_stage);
    const float* bs = stage_b(read_stage);
#pragma unroll
    for (int k = 0; k < C::BK; ++k) {
      if (k < FILL_PARTS && fill_next)
        fill_stage<FILL_PARTS>(fill_a, fill_b, a_stage_smem(write_stage), b_stage_smem(write_stage),
                               k_tile + C::STAGES - 1, k);
      if (k == C::BK - 1) {
        cp_async_commit();
        // The next tile's stage must have landed for every thread before its first read.
        cp_async_wait<C::STAGES - 2>();
        __syncthreads();
        read_stage = read_stage + 1 == C::STAGES ? 0 : read_stage + 1;
        write_stage = write_stage + 1 == C::STAGES ? 0 : write_stage + 1;
        if (k_tile + 1 < k_end) frag[(k + 1) % 2].load(stage_a(read_stage), stage_b(read_stage), 0);
      } else {
        frag[(k + 1) % 2].load(as, bs, k + 1);
      }
      frag[k % 2].multiply_into(acc);
    }
  }

  if constexpr (C::SPLITS > 1) {
    // [TILES][SPLITS][TM * TN / 4][THREADS] float4, then a counter per tile. A bucket's counters
    // stay where its largest grid puts them, so that they are zero at every launch.
    constexpr long long TILE_FLOATS = 1ll * C::SPLITS * S::BM * S::BN;
    const unsigned tiles = C::DYNAMIC_M ? S::MOST_TILES : gridDim.x;
    unsigned* counter = reinterpret_cast<unsigned*>(workspace + tiles * TILE_FLOATS);
    const unsigned flag = smem_address(smem + C::STAGES * (S::A_STAGE + S::B_STAGE));
    if (!reduce_split_k<C::SPLITS, S::TM * S::TN, S::THREADS>(
            &acc[0][0], workspace + blockIdx.x * TILE_FLOATS, counter + blockIdx.x, flag,
            static_cast<int>(blockIdx.y), tid, [] { __syncthreads(); }))
      return;
  }
  store_outputs<C, S>(acc, epilogue, out, m_block + a_offset, n_block + b_offset, rows);
}

}  // namespace ft

// ---- generated ----
namespace {

struct Config {
  static constexpr int M = 1024, N = 8192, K = 8192;
  static constexpr bool A_K_CONTIGUOUS = true, B_K_CONTIGUOUS = true, DYNAMIC_M = false;
  static constexpr int WARPS_M = 2, WARPS_N = 2;
  static constexpr int LANES_M = 4, LANES_N = 8;
  static constexpr bool LANE_N_FASTEST = false;
  static constexpr int REP_M = 2, REP_N = 4;
  static constexpr int BK = 16, STAGES = 3;
  static constexpr bool SPREAD_FILL = true;
  static constexpr int VEC_A = 1, VEC_B = 1;
  static constexpr int SPLITS = 1;
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

extern "C" __global__ void __launch_bounds__(128, 1)
ft_gemm_simt_64x256x16_w2x2_t8x16_s3_m_spread(const __grid_constant__ ft::LaunchArgs args) {
  ft::gemm_simt<Config>(args.tensors[0], args.tensors[1], args.out, nullptr, Epilogue{args},
                        ft::row_count<Config>(args));
}
