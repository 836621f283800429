// fusetune template: an fp32 GEMM emulated on int8 tensor cores (sm_90a), out[m, n] = sum_k
// A[m, k] B[n, k], from the digit planes and row exponents the slicing pass left
// (templates/int8_slices.cuh; the arithmetic and its host model: generator/int8_slices.h).
//
// A value is 2^e (q_1 digit_place(1) + ... + q_p digit_place(p)), e its row's. The product of
// rows a and b is then 2^(e_a + e_b) sum over digit pairs (s, t) of pair_place(s + t) sum_k q_s
// q_t, and each sum over k of int8 products is exact in int32 (127^2 K summed over the pairs of
// one diagonal stays below 2^31: the generator's rule). The kernel computes the pairs with
// s + t <= THROUGH, one int32 accumulator set per diagonal d = s + t, and recombines them in
// fp64 in the epilogue as the host model's recombine_diagonals does: Horner's rule in base 255
// from the largest place down (exact below 2^53), one product by the last diagonal's place,
// then the exponents.
//
// Warpgroup 0 produces: one thread issues the TMA copies of each k-tile (BK digits: 128, with
// the 128-byte swizzle, or 64 with the 64-byte one, which fits twice the stages) of every
// digit plane of A's BM rows and B's BN rows into a ring of STAGES stages,
// guarded by "full" and "empty" mbarriers as in templates/gemm_wgmma.cuh. The planes of an
// operand are one tensor map of SLICES x rows rows: plane s's rows start at s x rows, and the
// rows of a tile past an operand's edge read the next plane's (or zeros), which only reach
// outputs that are not stored. Warpgroups 1..CONSUMERS each own BM / CONSUMERS rows of the
// BM x BN tile and issue, per 32-byte k-step, a wgmma per digit pair and 64 rows. Blocks are
// persistent, taking tiles b, b + gridDim.x, ...
//
// Config: M, N, K, PITCH (bytes per digit row), SLICES, THROUGH, RUNS_ON, BM, BN, BK, STAGES,
// CONSUMERS, SMEM_BYTES, GUARD_M, GUARD_N, and wgmma_ss(int (&d)[BN / 2], a_descriptor,
// b_descriptor, scale_d) (m64nBNk32 s32.s8.s8, generated for BN). Needs templates/int8_slices.cuh's
// constants.
#pragma once

namespace ft {

template <class C>
struct Int8Shape {
  static constexpr int BK = C::BK;  // digits per k-tile: one swizzled row
  static constexpr int K_STEPS = BK / 32;
  static constexpr int WG_ROWS = C::BM / C::CONSUMERS;
  static constexpr int M_INSTR = WG_ROWS / 64;
  static constexpr int ACC = C::BN / 2;
  static constexpr int DIAGONALS = C::THROUGH - 1;  // s + t = 2 .. THROUGH
  static constexpr int A_PLANE = C::BM * BK;
  static constexpr int B_PLANE = C::BN * BK;
  static constexpr int A_STAGE = C::SLICES * A_PLANE;
  static constexpr int B_STAGE = C::SLICES * B_PLANE;
  static constexpr int TILES_M = (C::M + C::BM - 1) / C::BM;
  static constexpr int TILES_N = (C::N + C::BN - 1) / C::BN;
  static constexpr int TILES = TILES_M * TILES_N;
  static constexpr int K_TILES = (C::PITCH + BK - 1) / BK;
  static constexpr int LAYOUT_BYTES = C::STAGES * (A_STAGE + B_STAGE) + 16 * C::STAGES;
  static_assert(BK == 128 || BK == 64, "k-tiles of the 128- or 64-byte swizzle");
  static_assert(C::SLICES >= 1 && C::THROUGH >= 2 && C::THROUGH <= 2 * C::SLICES,
                "digit pairs s + t from 2 up to 2 SLICES");
  static_assert(WG_ROWS % 64 == 0, "a consumer warpgroup owns a multiple of 64 rows");
  static_assert(C::BN % 16 == 0 && C::BN <= 224, "integer wgmma N: multiples of 16 up to 224");
  static_assert(A_PLANE % 1024 == 0 && B_PLANE % 1024 == 0, "planes stay 1024-byte aligned");
  static_assert(LAYOUT_BYTES + 1023 <= C::SMEM_BYTES,
                "the launch's shared memory holds the layout after its base is aligned");
};

// [A stages: SLICES planes each][B stages: SLICES planes each][full bars][empty bars]
template <class C>
struct Int8Smem {
  using S = Int8Shape<C>;
  unsigned base;
  __device__ unsigned a(int stage, int slice) const {
    return base + stage * S::A_STAGE + slice * S::A_PLANE;
  }
  __device__ unsigned b(int stage, int slice) const {
    return base + C::STAGES * S::A_STAGE + stage * S::B_STAGE + slice * S::B_PLANE;
  }
  __device__ unsigned full(int stage) const {
    return base + C::STAGES * (S::A_STAGE + S::B_STAGE) + 8 * stage;
  }
  __device__ unsigned empty(int stage) const {
    return base + C::STAGES * (S::A_STAGE + S::B_STAGE) + 8 * (C::STAGES + stage);
  }
};

template <class C>
__device__ __forceinline__ void int8_produce(const TensorMap* map_a, const TensorMap* map_b,
                                             const Int8Smem<C>& smem) {
  using S = Int8Shape<C>;
  tma_prefetch_descriptor(map_a);
  tma_prefetch_descriptor(map_b);
  int stage = 0;
  unsigned phase = 0;
  for (int tile = blockIdx.x; tile < S::TILES; tile += gridDim.x) {
    const int m0 = (tile % S::TILES_M) * C::BM, n0 = (tile / S::TILES_M) * C::BN;
    for (int k_tile = 0; k_tile < S::K_TILES; ++k_tile) {
      mbarrier_wait(smem.empty(stage), phase ^ 1);
      const unsigned full = smem.full(stage);
      mbarrier_expect_bytes(full, S::A_STAGE + S::B_STAGE);
#pragma unroll
      for (int s = 0; s < C::SLICES; ++s) {
        tma_load_2d(smem.a(stage, s), map_a, full, k_tile * S::BK, s * C::M + m0);
        tma_load_2d(smem.b(stage, s), map_b, full, k_tile * S::BK, s * C::N + n0);
      }
      if (++stage == C::STAGES) stage = 0, phase ^= 1;
    }
  }
}

template <class C, class Epilogue>
__device__ __forceinline__ void int8_consume(float* __restrict__ out,
                                             const int* __restrict__ a_exponents,
                                             const int* __restrict__ b_exponents,
                                             const Int8Smem<C>& smem, int consumer,
                                             const Epilogue& epilogue) {
  using S = Int8Shape<C>;
  constexpr double kLastPlace = pair_place(C::THROUGH);
  const int thread = threadIdx.x % 128;
  const int warp = thread / 32, g = (thread % 32) / 4, t = thread % 4;
  int acc[S::DIAGONALS][S::M_INSTR][S::ACC];
  int stage = 0;
  unsigned phase = 0;
  for (int tile = blockIdx.x; tile < S::TILES; tile += gridDim.x) {
    const int m0 = (tile % S::TILES_M) * C::BM + consumer * S::WG_ROWS;
    const int n0 = (tile / S::TILES_M) * C::BN;
#pragma unroll
    for (int d = 0; d < S::DIAGONALS; ++d)
#pragma unroll
      for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
        for (int j = 0; j < S::ACC; ++j) acc[d][i][j] = 0;
    // Each k-tile's group is issued before the one before it is waited for, so that the
    // tensor cores do not drain between k-tiles; a stage is released once its group is done.
    int previous = -1;  // the stage whose group may still be running
    for (int k_tile = 0; k_tile < S::K_TILES; ++k_tile) {
      mbarrier_wait(smem.full(stage), phase);
#pragma unroll
      for (int d = 0; d < S::DIAGONALS; ++d)
#pragma unroll
        for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[d][i]);
      wgmma_fence();
#pragma unroll
      for (int k = 0; k < S::K_STEPS; ++k)
#pragma unroll
        for (int s = 1; s <= C::SLICES; ++s)
#pragma unroll
          for (int u = 1; u <= C::SLICES; ++u) {
            if (s + u > C::THROUGH) continue;
            const unsigned long long b =
                wgmma_descriptor_of_rows<S::BK>(smem.b(stage, u - 1) + 32 * k);
#pragma unroll
            for (int i = 0; i < S::M_INSTR; ++i)
              C::wgmma_ss(
                  acc[s + u - 2][i],
                  wgmma_descriptor_of_rows<S::BK>(
                      smem.a(stage, s - 1) + (consumer * S::WG_ROWS + i * 64) * S::BK + 32 * k),
                  b, 1);
          }
      wgmma_commit();
      wgmma_wait<1>();  // the previous k-tile's group has completed
#pragma unroll
      for (int d = 0; d < S::DIAGONALS; ++d)
#pragma unroll
        for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[d][i]);
      if (previous >= 0 && thread == 0) mbarrier_arrive(smem.empty(previous));
      previous = stage;
      if (++stage == C::STAGES) stage = 0, phase ^= 1;
    }
    wgmma_wait<0>();
#pragma unroll
    for (int d = 0; d < S::DIAGONALS; ++d)
#pragma unroll
      for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[d][i]);
    if (previous >= 0 && thread == 0) mbarrier_arrive(smem.empty(previous));
      // Recombined in fp64 (above), then the epilogue, a lane's two adjacent columns at a time.
#pragma unroll
    for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = m0 + i * 64 + warp * 16 + g + 8 * half;
        if (C::GUARD_M && m >= C::M) continue;
        const int e_a = a_exponents[m];
#pragma unroll
        for (int j = 0; j < C::BN / 8; ++j) {
          const int n = n0 + 8 * j + 2 * t;
          float x[2];
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            double sum = 0.0;
#pragma unroll
            for (int d = 0; d < S::DIAGONALS; ++d)
              sum = fma(sum, kDigitBase, static_cast<double>(acc[d][i][4 * j + 2 * half + c]));
            const int e_b = !C::GUARD_N || n + c < C::N ? b_exponents[n + c] : 0;
            x[c] = static_cast<float>(ldexp(sum * kLastPlace, e_a + e_b));
          }
          store_output_pair<C::N, C::GUARD_N>(out + static_cast<long long>(m) * C::N, m, n, x[0],
                                              x[1], epilogue);
        }
      }
  }
}

// The product in fp32 FFMA from the operands as they are, A [M, K] and B [N, K] (or stored the
// other way, [K, M] and [K, N], where C::TRANSPOSED_A, C::TRANSPOSED_B say so), where the
// guard found that the digits cannot hold the accuracy (int8_slices.cuh's judge_slices): what
// the precision promises, infinities and NaN propagating as in PyTorch. Tiles of 128 x 128
// outputs, taken in turn by the persistent blocks; each of a block's first 256 threads sums
// 8 x 8 of them over k-steps of 8 staged in shared memory k-major (a thread's rows and columns
// are two 16-byte reads each), which every thread of the block helps stage. `smem`: the
// launch's dynamic shared memory, of which this takes 8 KiB.
template <class C, class Epilogue>
__device__ __noinline__ void int8_fallback(const float* __restrict__ a, const float* __restrict__ b,
                                           float* __restrict__ out, const Epilogue& epilogue,
                                           float* smem) {
  constexpr int TILE = 128, STEP = 8, COMPUTING = 256;
  constexpr int TILES_M = (C::M + TILE - 1) / TILE, TILES_N = (C::N + TILE - 1) / TILE;
  float(*a_step)[TILE] = reinterpret_cast<float(*)[TILE]>(smem);  // [STEP][TILE]
  float(*b_step)[TILE] = reinterpret_cast<float(*)[TILE]>(smem + STEP * TILE);
  const int tid = threadIdx.x;
  const bool computing = tid < COMPUTING;
  const int row0 = tid / 16 * 8, column0 = tid % 16 * 8;
  // Value i of a k-step's [STEP][TILE] stage of an operand of `rows` rows from row r0, past an
  // edge zero (reaching only outputs that are not stored). Neighbouring threads read
  // neighbouring values as the operand is stored: along k of a row, or along the rows of a k
  // for an operand stored the other way ([K, rows]).
  const auto stage = [](float(*dst)[TILE], const float* __restrict__ src, bool transposed, int rows,
                        int r0, int k0, int i) {
    const int r = transposed ? i % TILE : i / STEP, k = k0 + (transposed ? i / TILE : i % STEP);
    const long long at = transposed ? static_cast<long long>(k) * rows + r0 + r
                                    : static_cast<long long>(r0 + r) * C::K + k;
    dst[k - k0][r] = r0 + r < rows && k < C::K ? src[at] : 0.f;
  };
  for (int tile = blockIdx.x; tile < TILES_M * TILES_N; tile += gridDim.x) {
    const int m0 = tile % TILES_M * TILE, n0 = tile / TILES_M * TILE;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
    for (int k0 = 0; k0 < C::K; k0 += STEP) {
      for (int i = tid; i < STEP * TILE; i += blockDim.x) {
        stage(a_step, a, C::TRANSPOSED_A, C::M, m0, k0, i);
        stage(b_step, b, C::TRANSPOSED_B, C::N, n0, k0, i);
      }
      __syncthreads();
      if (computing) {
#pragma unroll
        for (int k = 0; k < STEP; ++k) {
          float x[8], y[8];
          *reinterpret_cast<float4*>(x) = *reinterpret_cast<const float4*>(&a_step[k][row0]);
          *reinterpret_cast<float4*>(x + 4) =
              *reinterpret_cast<const float4*>(&a_step[k][row0 + 4]);
          *reinterpret_cast<float4*>(y) = *reinterpret_cast<const float4*>(&b_step[k][column0]);
          *reinterpret_cast<float4*>(y + 4) =
              *reinterpret_cast<const float4*>(&b_step[k][column0 + 4]);
#pragma unroll
          for (int i = 0; i < 8; ++i)
#pragma unroll
            for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(x[i], y[j], acc[i][j]);
        }
      }
      __syncthreads();
    }
    if (!computing) continue;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const int m = m0 + row0 + i;
      if (m >= C::M) continue;
#pragma unroll
      for (int j = 0; j < 8; j += 2)
        store_output_pair<C::N, true>(out + static_cast<long long>(m) * C::N, m, n0 + column0 + j,
                                      acc[i][j], acc[i][j + 1], epilogue);
    }
  }
}

// map_a and map_b the digit planes, a_exponents and b_exponents the rows' exponents; each
// output value goes through `epilogue` (store_output_pair, common.cuh). `verdict`, where given,
// is the guard's (int8_slices.cuh's kVerdict*): the product computes only on the verdict
// C::RUNS_ON names (kVerdictDigits: the plan's product, kVerdictDeeper: its deeper one, which
// adds digit pairs), and the plan's product sends a kVerdictFp32 launch to int8_fallback on `a`
// and `b`.
template <class C, class Epilogue>
__device__ __forceinline__ void gemm_wgmma_int8(
    const TensorMap* map_a, const TensorMap* map_b, float* __restrict__ out,
    const int* __restrict__ a_exponents, const int* __restrict__ b_exponents,
    const Epilogue& epilogue, const int* __restrict__ verdict = nullptr,
    const float* __restrict__ a = nullptr, const float* __restrict__ b = nullptr) {
  extern __shared__ __align__(1024) unsigned char smem_bytes[];
  if (verdict != nullptr && *verdict != C::RUNS_ON) {
    if (*verdict == kVerdictFp32 && C::RUNS_ON == kVerdictDigits)
      int8_fallback<C>(a, b, out, epilogue, reinterpret_cast<float*>(smem_bytes));
    return;
  }
  const Int8Smem<C> smem{(smem_address(smem_bytes) + 1023u) & ~1023u};
  if (threadIdx.x == 0) {
    for (int s = 0; s < C::STAGES; ++s) {
      mbarrier_init(smem.full(s), 1);
      mbarrier_init(smem.empty(s), C::CONSUMERS);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    if constexpr (C::CONSUMERS == 2) release_registers<40>();
    if (threadIdx.x == 0) int8_produce<C>(map_a, map_b, smem);
  } else {
    if constexpr (C::CONSUMERS == 2) claim_registers<232>();
    int8_consume<C>(out, a_exponents, b_exponents, smem, warpgroup - 1, epilogue);
  }
}

}  // namespace ft
