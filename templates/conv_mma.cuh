// fusetune template: implicit-GEMM convolution on tensor cores (mma.sync m16n8k8 on TF32, sm_80
// and newer) with the epilogue fused: conv2d/3d in PyTorch's layouts (a 2-d convolution is a 3-d
// one with d = 1), any stride, padding, dilation and groups; no pool step, not transposed.
//
// Per group g the convolution is the GEMM out[M, N] = A[M, K] · B[N, K]ᵀ with
//   M = N·D'·H'·W'         output positions, m = ((b·D' + od)·H' + oh)·W' + ow
//   N = K / GROUPS         the group's output channels
//   K = C / GROUPS · TAPS  k = c·TAPS + (kd·KH + kh)·KW + kw: the weight's own order
//   A[m][k] = x[b][g·C/GROUPS + c][od·SD - PD + kd·DD][oh·SH - PH + kh·DH][ow·SW - PW + kw·DW],
//             zero outside the input (padding)
//   B[n][k] = weight[g·N + n][c][kd][kh][kw]: the weight is B, k-contiguous
// One block computes a BM x BN tile of one group's GEMM through gemm_mma.cuh's pipeline and
// fragments (STAGES cp.async stages, MmaFragmentsTf32), and each accumulator (m, n) goes through
// `epilogue.apply(value, channel, index)` to out[b][g·N + n][od][oh][ow].
//
// A is gathered (im2col on the fly) with 4-byte cp.async, zero-filled outside the input: along m
// the addresses step by STRIDE·(1 or a row), rarely 16-byte aligned runs. Shared memory keeps A
// m-contiguous, [BK][BM + 8], so that the 32 lanes of a warp copy 32 consecutive positions of one
// k (consecutive inputs along w at stride 1, and conflict-free stores), and B k-contiguous,
// [BN][BK + 4], copied 16 bytes at a time where K is a multiple of 4. Fragment loads are free of
// bank conflicts as in gemm_mma.cuh (pitch BM + 8 is 8 mod 32, BK + 4 four times an odd number).
//
// Each thread copies A for A_ROWS fixed positions and A_COLS k-columns per stage. What depends on
// the position only (batch offset and input origin) is computed once, before the k-loop; each
// column keeps its (c, tap) and advances by BK per stage without dividing; a copy is then two
// adds, the bounds checks and the cp.async. Positions past M and k past K are poisoned with an
// origin far below zero, so the bounds check alone zero-fills them.
//
// Tunables (a Config struct; generator/conv_mma_space.cc holds their ranges):
//   WARPS_M, WARPS_N        warps per block along M and N             64..256 threads
//   MMA_TILES_M, _N         16x8 MMA tiles per warp along M and N     1..4 and 1..8; BM 32..256
//   BK                      k-depth of a stage                        a multiple of 8 (16, 32)
//   STAGES                  cp.async pipeline depth                   2..4
//   PASSES                  1 (TF32) or 3 (3xTF32: big + small TF32 parts, fp32-level accuracy)
//   VEC_B                   floats per copy of B: 4, 2 or 1, the widest that divides K
//   GUARD_M/N/K             edges checked: required when the shape is not a tile multiple
// Geometry: N, C, K, GROUPS, and one struct per axis (Config::D, ::H, ::W): IN, OUT, KERNEL,
// STRIDE, PADDING, DILATION.
#pragma once

namespace ft {

template <class C>
struct ConvMmaShape {
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  static constexpr int THREADS = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int WM = 16 * C::MMA_TILES_M;  // warp tile rows (positions)
  static constexpr int WN = 8 * C::MMA_TILES_N;   // warp tile columns (channels)
  static constexpr int BM = C::WARPS_M * WM;      // block tile rows
  static constexpr int BN = C::WARPS_N * WN;      // block tile columns
  static constexpr int MMA_K = 8;
  static constexpr int CG = C::C / C::GROUPS;  // input channels of a group
  static constexpr int KG = C::K / C::GROUPS;  // output channels of a group: the GEMM's N
  static constexpr int TAPS = D::KERNEL * H::KERNEL * W::KERNEL;
  static constexpr int IN_PLANE = D::IN * H::IN * W::IN;
  static constexpr int OUT_PLANE = D::OUT * H::OUT * W::OUT;
  static constexpr int GEMM_M = C::N * OUT_PLANE;
  static constexpr int GEMM_K = CG * TAPS;
  static constexpr int M_TILES = (GEMM_M + BM - 1) / BM;
  static constexpr int N_TILES = (KG + BN - 1) / BN;
  static constexpr int K_TILES = (GEMM_K + C::BK - 1) / C::BK;
  // A stage [BK, BM + 8], B stage [BN, BK + 4] (floats).
  static constexpr int A_PITCH = BM + 8;
  static constexpr int B_PITCH = C::BK + 4;
  static constexpr int A_STAGE = C::BK * A_PITCH;
  static constexpr int B_STAGE = BN * B_PITCH;
  // The threads copy A as a [A_THREADS_K, A_THREADS_M] grid, each A_ROWS positions A_THREADS_M
  // apart by A_COLS k-columns A_THREADS_K apart.
  static constexpr int A_ROWS = BM / 32 < 4 ? BM / 32 : 4;
  static constexpr int A_THREADS_M = BM / A_ROWS;
  static constexpr int A_THREADS_K = THREADS / A_THREADS_M;
  static constexpr int A_COLS = C::BK / A_THREADS_K;
  // Far enough below zero that an origin plus any tap offset stays negative.
  static constexpr int POISON = -(1 << 30);

  static_assert(C::STAGES * (A_STAGE + B_STAGE) * 4 <= C::SMEM_BYTES,
                "the stages fit the shared memory the generator sized (Config::SMEM_BYTES)");
  static_assert(C::BK % MMA_K == 0, "a stage holds whole MMA k-steps");
  static_assert(C::STAGES >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(C::PASSES == 1 || C::PASSES == 3, "TF32 takes one pass, 3xTF32 three");
  static_assert(BM % 32 == 0, "a warp copies A for 32 consecutive positions");
  static_assert(THREADS % A_THREADS_M == 0 && C::BK % A_THREADS_K == 0,
                "the A copies of a stage split evenly over the threads");
  static_assert(C::BK % C::VEC_B == 0 && GEMM_K % C::VEC_B == 0,
                "a B copy lies wholly inside or wholly outside K");
  static_assert(C::GUARD_M || GEMM_M % BM == 0, "an unguarded M edge needs M % BM == 0");
  static_assert(C::GUARD_N || KG % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || GEMM_K % C::BK == 0, "an unguarded K edge needs K % BK == 0");
  static_assert(D::IN < (1 << 29) && H::IN < (1 << 29) && W::IN < (1 << 29),
                "a poisoned origin plus a real coordinate stays negative");
};

// The configuration MmaFragmentsTf32 (gemm_mma.cuh) reads: A m-contiguous, B k-contiguous.
template <class C>
struct ConvMmaFragmentConfig : C {
  static constexpr bool A_K_CONTIGUOUS = false;
  static constexpr bool B_K_CONTIGUOUS = true;
};

// The A[m][k] gather of one thread: its A_ROWS positions, fixed, and its A_COLS k-columns, which
// advance by BK with every stage copied. Stages must be copied in order, each once.
template <class C>
struct ConvGatherA {
  using S = ConvMmaShape<C>;
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;

  int base[S::A_ROWS];  // offset in the group's x of the position's batch and input origin
  int d0[S::A_ROWS], h0[S::A_ROWS], w0[S::A_ROWS];  // input origin; h0 poisoned past M
  int c[S::A_COLS], tap[S::A_COLS];                 // each column's k = c·TAPS + tap
  int m_local, k_local;  // the thread's first position and column in a stage

  __device__ __forceinline__ ConvGatherA(int m_block, int tid) {
    m_local = tid % S::A_THREADS_M;
    k_local = tid / S::A_THREADS_M;
#pragma unroll
    for (int j = 0; j < S::A_ROWS; ++j) {
      const int m = m_block + m_local + j * S::A_THREADS_M;
      const int mc = m < S::GEMM_M ? m : S::GEMM_M - 1;  // past M: a real position, poisoned
      const int b = mc / S::OUT_PLANE;
      const int pos = mc - b * S::OUT_PLANE;
      const int ow = pos % W::OUT;
      const int oh = H::OUT == 1 ? 0 : pos / W::OUT % H::OUT;
      const int od = D::OUT == 1 ? 0 : pos / (W::OUT * H::OUT);
      d0[j] = od * D::STRIDE - D::PADDING;
      h0[j] = oh * H::STRIDE - H::PADDING;
      w0[j] = ow * W::STRIDE - W::PADDING;
      base[j] = b * C::C * S::IN_PLANE + (d0[j] * H::IN + h0[j]) * W::IN + w0[j];
      if (C::GUARD_M && m >= S::GEMM_M) h0[j] = S::POISON;
    }
#pragma unroll
    for (int i = 0; i < S::A_COLS; ++i) {
      const int k = k_local + i * S::A_THREADS_K;
      c[i] = k / S::TAPS;
      tap[i] = k % S::TAPS;
    }
  }

  // Copies the current stage's A tile to `stage` ([BK, A_PITCH] floats at this shared address)
  // from the group's input x, then moves the columns on to the next stage.
  __device__ __forceinline__ void copy_and_advance(unsigned stage, const float* x) {
    constexpr int KHW = H::KERNEL * W::KERNEL;
#pragma unroll
    for (int i = 0; i < S::A_COLS; ++i) {
      const int kd = D::KERNEL == 1 ? 0 : tap[i] / KHW;
      const int kh = H::KERNEL == 1 ? 0 : (tap[i] - kd * KHW) / W::KERNEL;
      const int kw = tap[i] - kd * KHW - kh * W::KERNEL;
      const bool k_inside = !C::GUARD_K || c[i] < S::CG;
      const int d_off = kd * D::DILATION;
      const int w_off = kw * W::DILATION;
      const int h_off = k_inside ? kh * H::DILATION : S::POISON;
      const int delta =
          k_inside ? c[i] * S::IN_PLANE + (d_off * H::IN + kh * H::DILATION) * W::IN + w_off : 0;
      const int row = k_local + i * S::A_THREADS_K;
#pragma unroll
      for (int j = 0; j < S::A_ROWS; ++j) {
        const int id = d0[j] + d_off, ih = h0[j] + h_off, iw = w0[j] + w_off;
        const bool valid = static_cast<unsigned>(id) < D::IN && static_cast<unsigned>(ih) < H::IN &&
                           static_cast<unsigned>(iw) < W::IN;
        const float* src = valid ? x + (base[j] + delta) : x;
        cp_async<4>(stage + (row * S::A_PITCH + m_local + j * S::A_THREADS_M) * 4, src, valid);
      }
      // Next stage: k + BK, carried from tap into c without a division.
      tap[i] += C::BK % S::TAPS;
      c[i] += C::BK / S::TAPS;
      if (tap[i] >= S::TAPS) tap[i] -= S::TAPS, ++c[i];
    }
  }
};

template <class C, class Epilogue>
__device__ __forceinline__ void conv_mma(const float* __restrict__ x,
                                         const float* __restrict__ weight, float* __restrict__ out,
                                         const Epilogue& epilogue) {
  using S = ConvMmaShape<C>;
  using Fragments = MmaFragmentsTf32<ConvMmaFragmentConfig<C>, S>;
  extern __shared__ float4 smem_vec[];
  float* a_stages = reinterpret_cast<float*>(smem_vec);  // [STAGES][BK][BM + 8]
  float* b_stages = a_stages + C::STAGES * S::A_STAGE;   // [STAGES][BN][BK + 4]
  const unsigned a_smem = smem_address(a_stages);
  const unsigned b_smem = smem_address(b_stages);

  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;  // the fragment coordinates of this lane (mma_tf32.cuh)
  const int warp_m0 = warp % C::WARPS_M * S::WM;
  const int warp_n0 = warp / C::WARPS_M * S::WN;
  // Channel tiles fastest, so that the blocks reading one A tile run together; then groups.
  int block = blockIdx.x;
  const int n_block = block % S::N_TILES * S::BN;  // within the group
  block /= S::N_TILES;
  const int group = block % C::GROUPS;
  const int m_block = block / C::GROUPS * S::BM;

  const float* x_group = x + group * S::CG * S::IN_PLANE;
  const float* w_group = weight + group * S::KG * S::GEMM_K;  // B [KG, GEMM_K]
  ConvGatherA<C> gather(m_block, tid);
  auto fill_stage = [&](int stage, int k_tile) {
    gather.copy_and_advance(a_smem + stage * S::A_STAGE * 4, x_group);
    fill_tile<S::BN, C::BK, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_N, C::GUARD_K>(
        b_smem + stage * S::B_STAGE * 4, w_group, n_block, k_tile * C::BK, S::KG, S::GEMM_K, tid);
  };

  // Stages are filled in k order, each once (ConvGatherA advances with every fill).
  float acc[C::MMA_TILES_M][C::MMA_TILES_N][4];  // [TM, TN, 4] accumulator fragments
  mma_k_loop<C, S, Fragments>(acc, fill_stage, a_stages, b_stages, warp_m0, warp_n0, lane);

  // Each lane holds, per MMA tile, channels 2t and 2t + 1 of positions g and g + 8: the 8 lanes
  // of one t store 8 consecutive positions (32 bytes of one channel's plane) per instruction.
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int m = m_block + warp_m0 + mt * 16 + g + 8 * half;
      if (C::GUARD_M && m >= S::GEMM_M) continue;
      const int b = m / S::OUT_PLANE;
      const int position = b * C::K * S::OUT_PLANE + (m - b * S::OUT_PLANE);  // channel 0's
#pragma unroll
      for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int n = n_block + warp_n0 + nt * 8 + 2 * t + e;
          if (C::GUARD_N && n >= S::KG) continue;
          const int channel = group * S::KG + n;
          const int index = position + channel * S::OUT_PLANE;
          float value = acc[mt][nt][2 * half + e];
          epilogue.apply(value, channel, index);
          out[index] = value;
        }
    }
}

}  // namespace ft
