// fusetune generated kernel; regenerate with: fusetune gen "matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu" --config ft_gemv_simt_cols_m3_w4_c32_u8_v2_k4_gmnk
// spec:   matmul(m=5, n=998, k=300, transpose_a=true) -> add(row) -> silu
// config: ft_gemv_simt_cols_m3_w4_c32_u8_v2_k4_gmnk
// launch: grid (32, 4, 1), block (128, 1, 1), 3088 bytes of dynamic shared memory

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

// ---- templates/gemv_simt.cuh ----
// fusetune SIMT fp32 matrix-vector product for a few rows of x, with a fused epilogue:
// out[M,N] = epilogue(A · B) for M of 1 to 16. Such a product is bound by streaming B (the
// weight) from memory, so a block loads each element of its part of B once and uses it for
// every one of its BLOCK_M rows of x, which sit in shared memory. Every product is an exact
// fp32 FFMA, and the order of the sums is fixed: the result is the same at every launch.
//
// A is x[M,K] (A_K_CONTIGUOUS) or [K,M]; it is small, and is staged in shared memory X_CHUNK k
// at a time as xs[BLOCK_M][X_CHUNK + 4] (k contiguous; zeros past M and past the chunk).
// B comes in two layouts:
//   rows     B_K_CONTIGUOUS: W[N,K], a linear layer's weight. Each warp streams ROWS_PER_WARP
//            whole rows of W, its lanes loading VEC consecutive floats each (32·VEC consecutive
//            floats of a row per warp and load), UNROLL loads per row in flight. Each lane dots
//            them with x from shared memory (consecutive lanes read consecutive words: no bank
//            conflicts) and the lanes' partial sums are added with shuffles.
//   columns  B[K,N]. The block's threads form GROUPS x COLUMN_THREADS: a thread owns VEC
//            consecutive columns and walks every GROUPS-th k, UNROLL loads in flight; a warp
//            loads 32·VEC consecutive floats of one row of B and reads one x (a broadcast).
//            The groups' partial sums are added through shared memory.
// A block computes BLOCK_M rows x BN columns of the output. With SPLITS > 1 the k range is
// divided among blockIdx.y and the splits' sums are added through the workspace (split_k.cuh),
// whose last block to arrive applies the epilogue.
//
// Tunables (a Config struct; generator/gemv_simt_space.cc holds their ranges):
//   M, N, K          problem shape (compile-time: a kernel is tuned for one shape)
//   DYNAMIC_M        a bucket's kernel: M is the most rows, and a launch's come at run time
//                    (row_count in common.cuh); requires GUARD_M
//   A_K_CONTIGUOUS   A stored [M,K] (true) or [K,M]
//   B_K_CONTIGUOUS   B stored [N,K] (true: the rows layout) or [K,N] (the columns layout)
//   BLOCK_M          rows of x per block                                    1..16
//   WARPS            warps per block                                        2, 4, 8
//   ROWS_PER_WARP    rows layout: rows of W a warp streams together         1, 2, 4
//   COLUMN_THREADS   columns layout: threads along N, whole warps           32..256
//   UNROLL           loads of B in flight per row (rows) or per thread      1..16
//   VEC              floats per load of B: 4, 2 or 1, the widest its rows allow (a row of B
//                    starts 4·VEC-byte aligned only if its length is a multiple of VEC)
//   SPLITS           split-K: k ranges, one per blockIdx.y                  1..32
//   X_CHUNK          k of x in shared memory at a time, a multiple of the k-step
//   PARTIAL_FLOATS   floats of one split's partial sums of a tile in the workspace (split-K)
//   SMEM_BYTES       the dynamic shared memory the generator sized
//   GUARD_M/N/K      edges checked: M or N not a multiple of the tile, K of the k-step

namespace ft {

// ---- pieces both layouts use ----

// What a block covers and where its shared memory goes, given its k-step and its partial-sum
// tile ([GROUPS][BLOCK_M][BN] floats, written over the x chunk once the k loop is done).
template <class C, int BN_, int STEP_, int GROUPS_, int THREADS_>
struct GemvTiling {
  static constexpr int THREADS = THREADS_;
  static constexpr int BN = BN_;          // output columns per block
  static constexpr int STEP = STEP_;      // k covered by one step of the block's loads
  static constexpr int GROUPS = GROUPS_;  // partial tiles to add in shared memory
  // The output tiles at M rows: a bucket's most, which its workspace was sized for.
  static constexpr int MOST_TILES = (C::M + C::BLOCK_M - 1) / C::BLOCK_M * ((C::N + BN - 1) / BN);
  static constexpr int STEPS = (C::K + STEP - 1) / STEP;
  static constexpr int STEPS_PER_SPLIT = (STEPS + C::SPLITS - 1) / C::SPLITS;
  static constexpr int K_PER_SPLIT = STEPS_PER_SPLIT * STEP;
  static constexpr int LDX = C::X_CHUNK + 4;         // pitch of the x chunk, in floats
  static constexpr int X_FLOATS = C::BLOCK_M * LDX;  // [BLOCK_M, LDX]
  static constexpr int TILE = C::BLOCK_M * BN;       // outputs of a block
  static constexpr int PARTIALS = GROUPS * TILE;     // [GROUPS, BLOCK_M, BN]
  static constexpr int FLAG = ((X_FLOATS > PARTIALS ? X_FLOATS : PARTIALS) + 3) / 4 * 4;
  // The threads that finish the tile, a float4 of outputs each (whole warps, so that they can
  // meet at a named barrier), and how many float4s each takes.
  static constexpr int VECTORS = TILE / 4;
  static constexpr int WARP_ROUNDED = (VECTORS + 31) / 32 * 32;
  static constexpr int FINISHERS = WARP_ROUNDED < THREADS ? WARP_ROUNDED : THREADS;
  static constexpr int PER_FINISHER = (VECTORS + FINISHERS - 1) / FINISHERS;

  static_assert(C::M >= 1 && C::BLOCK_M >= 1 && C::BLOCK_M <= 16, "a block takes 1..16 rows");
  static_assert(C::GUARD_M || C::M % C::BLOCK_M == 0, "an unguarded M edge needs M % BLOCK_M == 0");
  static_assert(!C::DYNAMIC_M || (C::GUARD_M && C::A_K_CONTIGUOUS),
                "rows that vary by launch are guarded, and x is [M, K] (its stride is K)");
  static_assert(C::GUARD_N || C::N % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || C::K % STEP == 0, "an unguarded K edge needs K % STEP == 0");
  static_assert(BN % 4 == 0, "a block's columns come in float4s of outputs");
  static_assert(STEP % 4 == 0, "k ranges and chunks start where rows of x are 16-byte aligned");
  static_assert(C::X_CHUNK % STEP == 0, "a chunk of x holds whole k-steps");
  static_assert(C::SPLITS >= 1 && (C::SPLITS - 1) * STEPS_PER_SPLIT < STEPS,
                "every split has k-steps");
  static_assert(4 * (FLAG + (C::SPLITS > 1 ? 4 : 0)) <= C::SMEM_BYTES,
                "x, the partial sums and the split-K flag fit the shared memory the generator "
                "sized (Config::SMEM_BYTES)");
  static_assert(C::SPLITS == 1 || 4 * PER_FINISHER * FINISHERS == C::PARTIAL_FLOATS,
                "the workspace holds what the generator sized (Config::PARTIAL_FLOATS)");
};

// The number of totals a lane holds after sum_across_lanes<COUNT, OFFSET>.
__device__ constexpr int lane_sums_held(int count, int offset) {
  return offset == 0 ? count : lane_sums_held(count % 2 == 0 ? count / 2 : count, offset / 2);
}

// Adds v[0..COUNT) over the lanes of a warp (OFFSET = 16: all 32). While COUNT is even each
// exchange halves it: lanes with the OFFSET bit set keep the upper half (`first` moves up by
// it), their partners the lower, so that a warp makes about COUNT shuffles in all. An odd COUNT
// is exchanged whole (a butterfly), which leaves equal totals in both lanes; `owner` is cleared
// in one. Afterwards v[0, lane_sums_held(COUNT, OFFSET)) holds the totals of values first,
// first + 1, ...
template <int COUNT, int OFFSET, int V>
__device__ __forceinline__ void sum_across_lanes(float (&v)[V], int lane, int& first, bool& owner) {
  if constexpr (OFFSET > 0) {
    if constexpr (COUNT % 2 == 0) {
      constexpr int HALF = COUNT / 2;
      const bool upper = (lane & OFFSET) != 0;
#pragma unroll
      for (int i = 0; i < HALF; ++i) {
        const float give = upper ? v[i] : v[i + HALF];
        const float keep = upper ? v[i + HALF] : v[i];
        v[i] = keep + __shfl_xor_sync(0xffffffffu, give, OFFSET);
      }
      if (upper) first += HALF;
      sum_across_lanes<HALF, OFFSET / 2>(v, lane, first, owner);
    } else {
#pragma unroll
      for (int i = 0; i < COUNT; ++i) v[i] += __shfl_xor_sync(0xffffffffu, v[i], OFFSET);
      if (lane & OFFSET) owner = false;
      sum_across_lanes<COUNT, OFFSET / 2>(v, lane, first, owner);
    }
  }
}

// Copies x's rows [m_block, m_block + BLOCK_M) at k in [k0, k0 + length) into the chunk
// xs[BLOCK_M][LDX]. Rows past `rows` and k in [length, X_CHUNK) become zeros, so that the
// missing loads of a guarded step (zeros as well) add nothing. Consecutive threads read
// consecutive elements of A in either layout, 16-byte vectors where K allows.
template <class C, class S>
__device__ __forceinline__ void stage_x(float* xs, const float* __restrict__ x, int m_block, int k0,
                                        int length, int rows, int tid) {
  constexpr int WIDTH = C::A_K_CONTIGUOUS && C::K % 4 == 0 ? 4 : 1;
  constexpr int PER_ROW = C::X_CHUNK / WIDTH;
  constexpr int COUNT = C::BLOCK_M * PER_ROW;
  constexpr int PASSES = (COUNT + S::THREADS - 1) / S::THREADS;
#pragma unroll 8
  for (int pass = 0; pass < PASSES; ++pass) {
    const int i = pass * S::THREADS + tid;
    if (COUNT % S::THREADS != 0 && i >= COUNT) break;
    const int m = C::A_K_CONTIGUOUS ? i / PER_ROW : i % C::BLOCK_M;
    const int kk = (C::A_K_CONTIGUOUS ? i % PER_ROW : i / C::BLOCK_M) * WIDTH;
    float v[WIDTH];
#pragma unroll
    for (int j = 0; j < WIDTH; ++j) v[j] = 0.f;
    // With K % 4 == 0, k0 and length are multiples of 4 too: a vector is wholly in or out.
    if (kk < length && (!C::GUARD_M || m_block + m < rows)) {
      if constexpr (C::A_K_CONTIGUOUS)
        load_floats<WIDTH>(v, x + static_cast<long long>(m_block + m) * C::K + k0 + kk);
      else
        v[0] = __ldg(x + static_cast<long long>(k0 + kk) * rows + m_block + m);
    }
    store_floats<WIDTH>(xs + m * S::LDX + kk, v);
  }
}

// Loads VEC floats from shared memory (aligned to 4·VEC bytes).
template <int VEC>
__device__ __forceinline__ void load_shared(float (&v)[VEC], const float* p) {
  if constexpr (VEC == 4) {
    const float4 t = *reinterpret_cast<const float4*>(p);
    v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
  } else if constexpr (VEC == 2) {
    const float2 t = *reinterpret_cast<const float2*>(p);
    v[0] = t.x, v[1] = t.y;
  } else {
    v[0] = *p;
  }
}

// Applies the epilogue to the outputs of row m (of `rows`) at columns n .. n + 3 and stores them:
// one 16-byte store where N allows (then n is a multiple of 4), else one column at a time.
template <class C, class Epilogue>
__device__ __forceinline__ void store_four(float* __restrict__ out, const float (&sums)[4], int m,
                                           int n, int rows, const Epilogue& epilogue) {
  if (C::GUARD_M && m >= rows) return;
  float* row = out + static_cast<long long>(m) * C::N;
  if constexpr (C::N % 4 == 0) {
    if (C::GUARD_N && n >= C::N) return;
    float v[4] = {sums[0], sums[1], sums[2], sums[3]};
    epilogue.template apply<4>(v, m, n);
    store_floats<4>(row + n, v);
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (n + j >= C::N) continue;
      float v[1] = {sums[j]};
      epilogue.template apply<1>(v, m, n + j);
      row[n + j] = v[0];
    }
  }
}

// Adds the GROUPS partial tiles `partials` [GROUPS][BLOCK_M][BN] in group order, then, with
// split-K, the splits' sums in split order (only the last block of a tile goes on), and writes
// the outputs through the epilogue. Each of the first FINISHERS threads takes PER_FINISHER
// float4s of the tile; the rest have nothing to do.
template <class C, class S, class Epilogue>
__device__ __forceinline__ void finish_tile(const float* partials, float* __restrict__ out,
                                            float* __restrict__ workspace, unsigned flag,
                                            int m_block, int n_block, int rows, int tid,
                                            const Epilogue& epilogue) {
  if (tid >= S::FINISHERS) return;
  float sums[4 * S::PER_FINISHER];  // [PER_FINISHER, 4]
#pragma unroll
  for (int p = 0; p < S::PER_FINISHER; ++p) {
    const int i = p * S::FINISHERS + tid;
    float4 total = make_float4(0.f, 0.f, 0.f, 0.f);
    if (i < S::VECTORS) {
#pragma unroll
      for (int g = 0; g < S::GROUPS; ++g) {
        const float4 t = *reinterpret_cast<const float4*>(partials + g * S::TILE + 4 * i);
        total.x += t.x, total.y += t.y, total.z += t.z, total.w += t.w;
      }
    }
    sums[4 * p] = total.x, sums[4 * p + 1] = total.y;
    sums[4 * p + 2] = total.z, sums[4 * p + 3] = total.w;
  }
  if constexpr (C::SPLITS > 1) {
    // [TILES][SPLITS][PER_FINISHER][FINISHERS] float4, then a counter per tile. A bucket's
    // counters stay where its largest grid puts them, so that they are zero at every launch.
    constexpr long long TILE_FLOATS = 1ll * C::SPLITS * C::PARTIAL_FLOATS;
    const unsigned tiles = C::DYNAMIC_M ? S::MOST_TILES : gridDim.x;
    unsigned* counters = reinterpret_cast<unsigned*>(workspace + tiles * TILE_FLOATS);
    // The finishers are whole warps and the other threads have left: barrier 1 for them alone.
    if (!reduce_split_k<C::SPLITS, 4 * S::PER_FINISHER, S::FINISHERS>(
            sums, workspace + blockIdx.x * TILE_FLOATS, counters + blockIdx.x, flag,
            static_cast<int>(blockIdx.y), tid, [] {
              asm volatile("bar.sync 1, %0;\n" ::"n"(S::FINISHERS) : "memory");
            }))
      return;
  }
#pragma unroll
  for (int p = 0; p < S::PER_FINISHER; ++p) {
    const int i = p * S::FINISHERS + tid;
    if (S::VECTORS % S::FINISHERS != 0 && i >= S::VECTORS) continue;
    const float four[4] = {sums[4 * p], sums[4 * p + 1], sums[4 * p + 2], sums[4 * p + 3]};
    store_four<C>(out, four, m_block + 4 * i / S::BN, n_block + 4 * i % S::BN, rows, epilogue);
  }
}

// The block's output tile (M fastest, so that the blocks of one slab of B run together and
// share it through L2) and its k range: all of K, or split-K's range blockIdx.y; and the rows
// of x (row_count<C>(args)).
struct GemvBlock {
  int m_block, n_block, k_begin, k_end, rows;
};

template <class C, class S>
__device__ __forceinline__ GemvBlock gemv_block(int rows) {
  const int k_begin = static_cast<int>(blockIdx.y) * S::K_PER_SPLIT;
  const int m_tiles = (rows + C::BLOCK_M - 1) / C::BLOCK_M;
  return {static_cast<int>(blockIdx.x % m_tiles) * C::BLOCK_M,
          static_cast<int>(blockIdx.x / m_tiles) * S::BN, k_begin,
          min(C::K, k_begin + S::K_PER_SPLIT), rows};
}

// ---- rows layout: B is W[N,K] ----

template <class C>
using GemvRowsTiling =
    GemvTiling<C, C::WARPS * C::ROWS_PER_WARP, 32 * C::VEC * C::UNROLL, 1, 32 * C::WARPS>;

// One k-step of a warp: UNROLL loads of VEC floats from each of its rows (all issued before any
// is used), each dotted with the same k of every row of x. `rows[r]` points at this lane's
// float of row r at the step's first k and `xs` at its float of that k in row 0 of the x chunk,
// so that every address is one of those plus a constant. GUARDED: loads at or past `remaining`
// (the chunk's end, counted from the step's first k) read nothing and count as zeros.
template <class C, class S, bool GUARDED>
__device__ __forceinline__ void rows_step(float (&acc)[C::BLOCK_M * C::ROWS_PER_WARP],
                                          const float* const (&rows)[C::ROWS_PER_WARP],
                                          const float* xs, int remaining, int lane) {
  constexpr int R = C::ROWS_PER_WARP;
  float w[C::UNROLL][R][C::VEC];  // [UNROLL, ROWS_PER_WARP, VEC]
#pragma unroll
  for (int u = 0; u < C::UNROLL; ++u) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (!GUARDED || u * 32 * C::VEC + C::VEC * lane < remaining) {
        load_floats<C::VEC>(w[u][r], rows[r] + u * 32 * C::VEC);
      } else {
#pragma unroll
        for (int j = 0; j < C::VEC; ++j) w[u][r][j] = 0.f;
      }
    }
  }
#pragma unroll
  for (int u = 0; u < C::UNROLL; ++u) {
#pragma unroll
    for (int m = 0; m < C::BLOCK_M; ++m) {
      float xv[C::VEC];
      load_shared<C::VEC>(xv, xs + m * S::LDX + u * 32 * C::VEC);
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int j = 0; j < C::VEC; ++j) acc[m * R + r] = fmaf(w[u][r][j], xv[j], acc[m * R + r]);
    }
  }
}

template <class C, class Epilogue>
__device__ __forceinline__ void gemv_rows(const float* __restrict__ x, const float* __restrict__ w,
                                          float* __restrict__ out, float* __restrict__ workspace,
                                          const Epilogue& epilogue, const int x_rows) {
  using S = GemvRowsTiling<C>;
  constexpr int R = C::ROWS_PER_WARP;
  constexpr int SUMS = C::BLOCK_M * R;
  static_assert(C::VEC == 4 || C::VEC == 2 || C::VEC == 1, "loads of 16, 8 or 4 bytes");
  static_assert(C::K % C::VEC == 0, "a row of W starts 4·VEC-byte aligned only if VEC divides K");
  extern __shared__ float4 smem_vec[];
  float* smem = reinterpret_cast<float*>(smem_vec);  // the x chunk, later the partial sums

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const GemvBlock block = gemv_block<C, S>(x_rows);
  // This lane's first float of each of the warp's rows. Rows past N read row N - 1; their sums
  // are never stored.
  const float* rows[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int n = min(block.n_block + warp * R + r, C::N - 1);
    rows[r] = w + static_cast<long long>(n) * C::K + C::VEC * lane;
  }
  const float* xs = smem + C::VEC * lane;

  float acc[SUMS];  // [BLOCK_M, ROWS_PER_WARP] this lane's partial sums
#pragma unroll
  for (int i = 0; i < SUMS; ++i) acc[i] = 0.f;
  for (int k0 = block.k_begin; k0 < block.k_end; k0 += C::X_CHUNK) {
    const int length = min(C::X_CHUNK, block.k_end - k0);
    if (k0 != block.k_begin) __syncthreads();  // every warp is done with the previous chunk
    stage_x<C, S>(smem, x, block.m_block, k0, length, block.rows, tid);
    __syncthreads();
    const float* step_rows[R];  // this lane's floats at the step's first k
#pragma unroll
    for (int r = 0; r < R; ++r) step_rows[r] = rows[r] + k0;
    const float* step_xs = xs;
    int k = 0;
    // One step at a time: UNROLL alone sets the loads in flight (and the registers they take).
#pragma unroll 1
    for (; k + S::STEP <= length; k += S::STEP) {
      rows_step<C, S, false>(acc, step_rows, step_xs, length - k, lane);
#pragma unroll
      for (int r = 0; r < R; ++r) step_rows[r] += S::STEP;
      step_xs += S::STEP;
    }
    if constexpr (C::GUARD_K)
      if (k < length) rows_step<C, S, true>(acc, step_rows, step_xs, length - k, lane);
  }

  // The warp's totals, spread over its lanes, go to the partial-sum tile [BLOCK_M][BN].
  int first = 0;
  bool owner = true;
  sum_across_lanes<SUMS, 16>(acc, lane, first, owner);
  __syncthreads();  // every warp is done with x: its space takes the tile
  if (owner) {
#pragma unroll
    for (int i = 0; i < lane_sums_held(SUMS, 16); ++i) {
      const int m = (first + i) / R, r = (first + i) % R;
      smem[m * S::BN + warp * R + r] = acc[i];
    }
  }
  __syncthreads();
  finish_tile<C, S>(smem, out, workspace, smem_address(smem + S::FLAG), block.m_block,
                    block.n_block, block.rows, tid, epilogue);
}

// ---- columns layout: B is [K,N] ----

template <class C>
using GemvColumnsTiling =
    GemvTiling<C, C::COLUMN_THREADS * C::VEC, 32 * C::WARPS / C::COLUMN_THREADS * C::UNROLL,
               32 * C::WARPS / C::COLUMN_THREADS, 32 * C::WARPS>;

// One k-step of a thread: UNROLL loads of its VEC columns at k, k + GROUPS, ... (all issued
// before any is used), each multiplied by x at that k for every row of x. `column` points at
// the thread's columns in the row of B of its first k in the step, `xs` at that k in row 0 of
// the x chunk. GUARDED: k at or past `remaining` (the chunk's end, counted from the thread's
// first k) read nothing and count as zeros.
template <class C, class S, bool GUARDED>
__device__ __forceinline__ void columns_step(float (&acc)[C::BLOCK_M][C::VEC], const float* column,
                                             const float* xs, int remaining) {
  float b[C::UNROLL][C::VEC];  // [UNROLL, VEC]
#pragma unroll
  for (int u = 0; u < C::UNROLL; ++u) {
    if (!GUARDED || u * S::GROUPS < remaining) {
      load_floats<C::VEC>(b[u], column + static_cast<long long>(u * S::GROUPS) * C::N);
    } else {
#pragma unroll
      for (int j = 0; j < C::VEC; ++j) b[u][j] = 0.f;
    }
  }
#pragma unroll
  for (int u = 0; u < C::UNROLL; ++u) {
#pragma unroll
    for (int m = 0; m < C::BLOCK_M; ++m) {
      const float xv = xs[m * S::LDX + u * S::GROUPS];
#pragma unroll
      for (int j = 0; j < C::VEC; ++j) acc[m][j] = fmaf(b[u][j], xv, acc[m][j]);
    }
  }
}

template <class C, class Epilogue>
__device__ __forceinline__ void gemv_columns(const float* __restrict__ x,
                                             const float* __restrict__ b, float* __restrict__ out,
                                             float* __restrict__ workspace,
                                             const Epilogue& epilogue, const int rows) {
  using S = GemvColumnsTiling<C>;
  static_assert(C::VEC == 4 || C::VEC == 2 || C::VEC == 1, "loads of 16, 8 or 4 bytes");
  static_assert(C::N % C::VEC == 0, "a row of B starts 4·VEC-byte aligned only if VEC divides N");
  static_assert(C::COLUMN_THREADS % 32 == 0 && S::THREADS % C::COLUMN_THREADS == 0,
                "a warp lies in one group of k, so that it reads one row of B and one x");
  extern __shared__ float4 smem_vec[];
  float* smem = reinterpret_cast<float*>(smem_vec);  // the x chunk, later the partial sums

  const int tid = threadIdx.x;
  const int thread_column = tid % C::COLUMN_THREADS, group = tid / C::COLUMN_THREADS;
  const GemvBlock block = gemv_block<C, S>(rows);
  // Columns past N read the last VEC columns (VEC divides N); their sums are never stored.
  const int n = min(block.n_block + thread_column * C::VEC, C::N - C::VEC);
  const float* xs = smem + group;

  float acc[C::BLOCK_M][C::VEC];  // [BLOCK_M, VEC] this thread's partial sums
#pragma unroll
  for (int m = 0; m < C::BLOCK_M; ++m)
#pragma unroll
    for (int j = 0; j < C::VEC; ++j) acc[m][j] = 0.f;
  for (int k0 = block.k_begin; k0 < block.k_end; k0 += C::X_CHUNK) {
    const int length = min(C::X_CHUNK, block.k_end - k0);
    if (k0 != block.k_begin) __syncthreads();  // every warp is done with the previous chunk
    stage_x<C, S>(smem, x, block.m_block, k0, length, block.rows, tid);
    __syncthreads();
    const float* column = b + static_cast<long long>(k0 + group) * C::N + n;
    const float* step_xs = xs;
    int k = 0;
    // One step at a time: UNROLL alone sets the loads in flight (and the registers they take).
#pragma unroll 1
    for (; k + S::STEP <= length; k += S::STEP) {
      columns_step<C, S, false>(acc, column, step_xs, length - k - group);
      column += static_cast<long long>(S::STEP) * C::N;
      step_xs += S::STEP;
    }
    if constexpr (C::GUARD_K)
      if (k < length) columns_step<C, S, true>(acc, column, step_xs, length - k - group);
  }

  // Each group's partial sums go to its tile [GROUPS][BLOCK_M][BN], added in finish_tile.
  __syncthreads();  // every warp is done with x: its space takes the tiles
#pragma unroll
  for (int m = 0; m < C::BLOCK_M; ++m)
    store_floats<C::VEC>(smem + (group * C::BLOCK_M + m) * S::BN + thread_column * C::VEC, acc[m]);
  __syncthreads();
  finish_tile<C, S>(smem, out, workspace, smem_address(smem + S::FLAG), block.m_block,
                    block.n_block, block.rows, tid, epilogue);
}

// `rows`: row_count<C>(args), the rows of A and of the output.
template <class C, class Epilogue>
__device__ __forceinline__ void gemv_simt(const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ out, float* __restrict__ workspace,
                                          const Epilogue& epilogue, const int rows) {
  if constexpr (C::B_K_CONTIGUOUS)
    gemv_rows<C>(a, b, out, workspace, epilogue, rows);
  else
    gemv_columns<C>(a, b, out, workspace, epilogue, rows);
}

}  // namespace ft

// ---- generated ----
namespace {

struct Config {
  static constexpr int M = 5, N = 998, K = 300;
  static constexpr bool A_K_CONTIGUOUS = false, B_K_CONTIGUOUS = false, DYNAMIC_M = false;
  static constexpr int BLOCK_M = 3, WARPS = 4;
  static constexpr int COLUMN_THREADS = 32;
  static constexpr int UNROLL = 8, VEC = 2;
  static constexpr int SPLITS = 4;
  static constexpr int X_CHUNK = 96, PARTIAL_FLOATS = 256, SMEM_BYTES = 3088;
  static constexpr bool GUARD_M = true, GUARD_N = true, GUARD_K = true;
};

struct Epilogue {
  const ft::LaunchArgs& args;

  template <int W>
  __device__ __forceinline__ void apply(float (&v)[W], int m, [[maybe_unused]] int n) const {
    const float t2 = __ldg(args.tensors[2] + m);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      float x = v[j];
      x = x + t2;  // add(row)
      x = x / (1.f + expf(-x));  // silu
      v[j] = x;
    }
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(128, 1)
ft_gemv_simt_cols_m3_w4_c32_u8_v2_k4_gmnk(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {
  ft::gemv_simt<Config>(args.tensors[0], args.tensors[1], args.out, workspace, Epilogue{args},
                        ft::row_count<Config>(args));
}
