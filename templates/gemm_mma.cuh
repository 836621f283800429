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
#pragma once

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
