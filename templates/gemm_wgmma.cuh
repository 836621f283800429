// Hopper GEMM on warpgroup MMA (sm_90a): out[m, n] = epilogue(sum_k A[m, k] · B[n, k]) for
// K-contiguous A and B, fp32 accumulation: fp32 data at TF32 (PASSES 1) or 3xTF32 (PASSES 3),
// or bf16/fp16 data as it is (PASSES 1).
//
// Warpgroup 0 produces: one thread issues TMA copies of A and B k-tiles (128 bytes deep: 32
// floats or 64 16-bit values, the 128-byte swizzle wgmma reads) into a ring of STAGES
// shared-memory stages, each guarded by a "full" mbarrier (bytes landed) and an "empty" one
// (every consumer done reading). Warpgroups 1..CONSUMERS consume: each owns BM / CONSUMERS
// rows of the BM x BN tile and multiplies them by the whole B tile with one wgmma per 64 rows
// and 32-byte k-step (k8 TF32, k16 BF16/FP16). Blocks are persistent:
// block b takes work units b, b + gridDim.x, ..., so the producer fills the next unit's stages
// while the consumers run the epilogue of the last. A unit is a tile (M-fastest) and, split-K,
// one of SPLITS ranges of its k-tiles, added through a global workspace (split_k.cuh).
//
// The tensor cores read the top 19 bits of an fp32 operand (tf32_truncated). At TF32 the TMA
// rounds both operands to nearest as it copies them (the launcher's tensor maps say TF32), which
// costs the kernel nothing; truncation would bias the result. 3xTF32 copies them as they are and
// adds the remainders (tf32_remainder): the consumers split A in registers, and warps 1-3 of the
// producer warpgroup write each stage's B remainder beside it in the same swizzled layout
// (signalled by a third, "ready" mbarrier); the product is big·big + big·small + small·big.
// Tensor cores accumulate with round-toward-zero, so each k-tile sums into fresh registers that
// an ordinary round-to-nearest add promotes into the accumulators (without it the bias alone
// exceeds 1e-5 at K = 8192).
//
// TMA_STORE: each consumer writes its rows of the finished tile, through the epilogue, into a
// staging area of shared memory and has the TMA store them from there, so that it goes on to
// the next tile's k-tiles while the copy engine writes (without, the tensor cores idle while
// the consumers store from registers). The output is then in the inputs' type.
//
// TRANSPOSED_A, TRANSPOSED_B (fp32 only): an operand stored the other way, A [K, M] (transpose_a)
// or B [K, N]. The TMA copies its k-tile as it is stored, 32 x 32 boxes of k rows, into a
// staging area beside the stage; warps 1-3 of the producer warpgroup write it into the stage
// K-major, in the layout the TMA writes (transpose_staged_k_tile), rounded to TF32 at TF32 and
// with B's remainder beside it at 3xTF32, and signal it ready. No copy of the operand is made
// in global memory, and the copy engine keeps the k-tiles in flight (the helpers' own loads
// were too few in flight to keep up with the tensor cores).
//
// CLUSTER 2 pairs blocks that take vertically adjacent tiles, so that each loads half of their
// common B k-tile and multicasts it to both: B costs each block half the L2 reads. A stage is
// then refilled once the consumers of both blocks have released it (the multicast writes both).
//
// Config supplies Element (float, ft::bf16, ft::fp16), M, N, K, BM, BN, STAGES, CONSUMERS,
// CLUSTER, PASSES, SPLITS, TMA_STORE, TRANSPOSED_A, TRANSPOSED_B, GUARD_M, GUARD_N and the
// wgmma instruction (generated
// for BN and Element) in the form the configuration uses: wgmma_ss(d, a_descriptor, b_descriptor,
// scale_d) with A in shared memory, or wgmma_rs(d, a_fragment, b_descriptor, scale_d) with A in
// registers.
#pragma once

namespace ft {

template <class C>
struct WgmmaShape {
  static constexpr int BK = 128 / sizeof(typename C::Element);  // one 128-byte swizzle row
  static constexpr int K_STEPS = 4;                             // 32-byte wgmma k-steps
  static constexpr int WG_ROWS = C::BM / C::CONSUMERS;          // rows of a consumer warpgroup
  static constexpr int M_INSTR = WG_ROWS / 64;                  // wgmma rows per k-step
  static constexpr int ACC = C::BN / 2;        // accumulators per thread per 64 rows
  static constexpr int A_STAGE = C::BM * 128;  // bytes: 128 per row
  static constexpr int B_STAGE = C::BN * 128;
  // 3xTF32: A reaches the tensor cores from registers, where it is split, and warps 1-3 of the
  // producer warpgroup write B's TF32 remainder beside each stage.
  static constexpr bool SPLIT_OPERANDS = C::PASSES == 3;
  static constexpr int SMALL_B_STAGE = SPLIT_OPERANDS ? B_STAGE : 0;
  // Warps 1-3 of the producer warpgroup prepare each stage (B's remainder, operands stored the
  // other way) before the consumers take it; the TMA copies the rest.
  static constexpr bool HELPERS = SPLIT_OPERANDS || C::TRANSPOSED_A || C::TRANSPOSED_B;
  // An operand stored the other way lands first in a staging area of its own, as stored.
  static constexpr int RAW_A_STAGE = C::TRANSPOSED_A ? A_STAGE : 0;
  static constexpr int RAW_B_STAGE = C::TRANSPOSED_B ? B_STAGE : 0;
  static constexpr int TMA_BYTES = A_STAGE + B_STAGE;
  static constexpr int TILES_M = (C::M + C::BM - 1) / C::BM;
  static constexpr int TILES_N = (C::N + C::BN - 1) / C::BN;
  static constexpr int TILES = TILES_M * TILES_N;
  static constexpr int K_TILES = (C::K + BK - 1) / BK;
  static constexpr int K_TILES_PER_SPLIT = (K_TILES + C::SPLITS - 1) / C::SPLITS;
  static constexpr int UNITS = TILES * C::SPLITS;
  // TMA_STORE's staging: per consumer, its WG_ROWS x BN outputs in strips 128 bytes wide, each
  // a box of the output's tensor map laid out as the TMA's 128-byte swizzle reads it.
  static constexpr int STRIP_COLS = 128 / sizeof(typename C::Element);
  static constexpr int STRIPS = C::BN / STRIP_COLS;
  static constexpr int STRIP_BYTES = WG_ROWS * 128;
  static constexpr int OUT_STAGE = C::TMA_STORE ? C::CONSUMERS * STRIPS * STRIP_BYTES : 0;
  static constexpr long long PARTIAL_FLOATS = 1ll * UNITS * C::BM * C::BN;  // split-K workspace
  static constexpr int SPLIT_THREADS = 96;
  // What each block of a cluster loads of B's k-tile and multicasts: rows and bytes.
  static constexpr int B_BOX_ROWS = C::BN / C::CLUSTER;
  static constexpr int B_BOX_BYTES = B_STAGE / C::CLUSTER;
  static_assert(C::CLUSTER == 1 || (C::CLUSTER == 2 && C::SPLITS == 1 &&
                                    TILES_M % C::CLUSTER == 0 && B_BOX_BYTES % 1024 == 0),
                "a cluster pairs blocks on vertically adjacent tiles, each loading a 1024-byte "
                "aligned half of B, without split-K");
  static_assert(!C::TMA_STORE || (C::SPLITS == 1 && C::BN % STRIP_COLS == 0),
                "the TMA stores whole 128-byte strips of a tile no split adds to");
  static_assert(WG_ROWS % 64 == 0, "a consumer warpgroup owns a multiple of 64 rows");
  static_assert(C::BN % 8 == 0 && C::BN <= 256, "wgmma N is a multiple of 8 up to 256");
  static_assert(A_STAGE % 1024 == 0 && B_STAGE % 1024 == 0, "stages stay 1024-byte aligned");
  static_assert(C::SPLITS >= 1 && (C::SPLITS - 1) * K_TILES_PER_SPLIT < K_TILES,
                "every split has k-tiles");
  // The layout WgmmaSmem walks, which the generator sized separately (Config::SMEM_BYTES).
  static constexpr int STAGE_BYTES = A_STAGE + B_STAGE + SMALL_B_STAGE + RAW_A_STAGE + RAW_B_STAGE;
  static constexpr int LAYOUT_BYTES =
      C::STAGES * STAGE_BYTES + OUT_STAGE + 24 * C::STAGES + (C::SPLITS > 1 ? 4 * C::CONSUMERS : 0);
  static_assert(LAYOUT_BYTES + 1023 <= C::SMEM_BYTES,
                "the launch's shared memory holds the layout after its base is aligned to 1024");
  static_assert(sizeof(typename C::Element) == 4 || C::PASSES == 1,
                "16-bit operands go to the tensor cores as they landed");
  static_assert(!(C::TRANSPOSED_A || C::TRANSPOSED_B) ||
                    (sizeof(typename C::Element) == 4 && C::CLUSTER == 1),
                "operands stored the other way are fp32, in blocks without a cluster");
};

// One unit of persistent work: a tile, and the k-tiles [k_begin, k_end) of one of its splits.
template <class C>
struct WgmmaUnit {
  int tile, split, m0, n0, k_begin, k_end;
  __device__ __forceinline__ explicit WgmmaUnit(int unit) {
    using S = WgmmaShape<C>;
    tile = unit % S::TILES;
    split = unit / S::TILES;
    m0 = (tile % S::TILES_M) * C::BM;
    n0 = (tile / S::TILES_M) * C::BN;
    k_begin = split * S::K_TILES_PER_SPLIT;
    k_end = min(S::K_TILES, k_begin + S::K_TILES_PER_SPLIT);
  }
};

// Shared memory from a 1024-byte aligned base (the swizzle pattern repeats every 1024 bytes):
// [A stages][B stages][small B stages][raw A stages][raw B stages][output staging][full bars]
// [ready bars][empty bars][split flags].
template <class C>
struct WgmmaSmem {
  using S = WgmmaShape<C>;
  unsigned base;
  __device__ unsigned a(int stage) const { return base + stage * S::A_STAGE; }
  __device__ unsigned b(int stage) const {
    return base + C::STAGES * S::A_STAGE + stage * S::B_STAGE;
  }
  __device__ unsigned small_b(int stage) const {
    return base + C::STAGES * (S::A_STAGE + S::B_STAGE) + stage * S::SMALL_B_STAGE;
  }
  // An operand stored the other way, as the TMA copied it (TRANSPOSED_A, TRANSPOSED_B).
  __device__ unsigned raw_a(int stage) const {
    return base + C::STAGES * (S::A_STAGE + S::B_STAGE + S::SMALL_B_STAGE) + stage * S::RAW_A_STAGE;
  }
  __device__ unsigned raw_b(int stage) const {
    return base + C::STAGES * (S::A_STAGE + S::B_STAGE + S::SMALL_B_STAGE + S::RAW_A_STAGE) +
           stage * S::RAW_B_STAGE;
  }
  __device__ unsigned out(int consumer) const {
    return base + C::STAGES * S::STAGE_BYTES + consumer * S::STRIPS * S::STRIP_BYTES;
  }
  __device__ unsigned bars() const { return base + C::STAGES * S::STAGE_BYTES + S::OUT_STAGE; }
  __device__ unsigned full(int stage) const { return bars() + 8 * stage; }  // TMA landed
  __device__ unsigned ready(int stage) const { return bars() + 8 * (C::STAGES + stage); }
  __device__ unsigned empty(int stage) const { return bars() + 8 * (2 * C::STAGES + stage); }
  // Split-K: where a consumer's first thread leaves the count of splits that finished before.
  __device__ unsigned split_flag(int consumer) const {
    return bars() + 24 * C::STAGES + 4 * consumer;
  }
  // What consumers wait for: the helpers' part written (B's remainder, operands stored the
  // other way), or else the copies landed.
  __device__ unsigned consumable(int stage) const {
    return S::HELPERS ? ready(stage) : full(stage);
  }
};

// The ring position every role walks in the same order: tiles, then k-tiles.
struct RingPosition {
  int stage = 0;
  unsigned phase = 0;
  template <int STAGES>
  __device__ __forceinline__ void advance() {
    if (++stage == STAGES) stage = 0, phase ^= 1;
  }
};

// Rows [row0, row0 + ROWS) of an operand stored [K, EXTENT] (each stored row one k), k-tile
// k0..k0 + 31, as stored: ROWS / 32 boxes of 32 k rows by 32 of its rows, each 4096 bytes in the
// TMA's 128-byte swizzle, at `dst`. Rows past EXTENT and k past K land as zeros.
constexpr int kStoredBoxBytes = 32 * 128;  // a box of 32 k rows by 32 floats

template <int ROWS>
__device__ __forceinline__ void load_stored_k_tile(unsigned dst, const TensorMap* map, unsigned bar,
                                                   int row0, int k0) {
#pragma unroll
  for (int box = 0; box < ROWS / 32; ++box)
    tma_load_2d(dst + box * kStoredBoxBytes, map, bar, row0 + 32 * box, k0);
}

template <class C>
__device__ __forceinline__ void wgmma_produce(const TensorMap* map_a, const TensorMap* map_b,
                                              const WgmmaSmem<C>& smem) {
  using S = WgmmaShape<C>;
  tma_prefetch_descriptor(map_a);
  tma_prefetch_descriptor(map_b);
  RingPosition ring;
  const unsigned rank = C::CLUSTER > 1 ? cluster_rank() : 0;
  for (int u = blockIdx.x; u < S::UNITS; u += gridDim.x) {
    const WgmmaUnit<C> unit(u);
    for (int k_tile = unit.k_begin; k_tile < unit.k_end; ++k_tile) {
      mbarrier_wait(smem.empty(ring.stage), ring.phase ^ 1);
      const unsigned full = smem.full(ring.stage);
      // The whole B tile lands here, half of it from the other block of a cluster.
      mbarrier_expect_bytes(full, S::TMA_BYTES);
      if constexpr (C::TRANSPOSED_A)
        load_stored_k_tile<C::BM>(smem.raw_a(ring.stage), map_a, full, unit.m0, k_tile * S::BK);
      else
        tma_load_2d(smem.a(ring.stage), map_a, full, k_tile * S::BK, unit.m0);
      if constexpr (C::TRANSPOSED_B) {
        load_stored_k_tile<C::BN>(smem.raw_b(ring.stage), map_b, full, unit.n0, k_tile * S::BK);
      } else if constexpr (C::CLUSTER == 1) {
        tma_load_2d(smem.b(ring.stage), map_b, full, k_tile * S::BK, unit.n0);
      } else {
        tma_load_2d_multicast(smem.b(ring.stage) + rank * S::B_BOX_BYTES, map_b, full,
                              k_tile * S::BK, unit.n0 + rank * S::B_BOX_ROWS,
                              (1u << C::CLUSTER) - 1);
      }
      ring.template advance<C::STAGES>();
    }
  }
}

// B's remainder of a stage that landed, written beside it (3xTF32).
template <class C>
__device__ __forceinline__ void split_b_stage(const WgmmaSmem<C>& smem, int stage, int thread) {
  using S = WgmmaShape<C>;
  const unsigned raw = smem.b(stage);
  const unsigned out = smem.small_b(stage);
  // Loads issued in batches, so that each thread has several in flight.
  constexpr int VECTORS = S::B_STAGE / 16;
  constexpr int PER_THREAD = (VECTORS + S::SPLIT_THREADS - 1) / S::SPLIT_THREADS;
  // (Fewer where the same threads also transpose A, within the producer's 40 registers.)
  constexpr int BATCH = C::TRANSPOSED_A ? 2 : 4;
#pragma unroll
  for (int first = 0; first < PER_THREAD; first += BATCH) {
    float v[BATCH][4];
#pragma unroll
    for (int j = 0; j < BATCH; ++j) {
      const int vector = thread + (first + j) * S::SPLIT_THREADS;
      if (first + j < PER_THREAD && vector < VECTORS)
        asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];\n"
                     : "=f"(v[j][0]), "=f"(v[j][1]), "=f"(v[j][2]), "=f"(v[j][3])
                     : "r"(raw + 16 * vector));
    }
#pragma unroll
    for (int j = 0; j < BATCH; ++j) {
      const int vector = thread + (first + j) * S::SPLIT_THREADS;
      if (first + j < PER_THREAD && vector < VECTORS) {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[j][i] = tf32_remainder(v[j][i]);
        asm volatile("st.shared.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"r"(out + 16 * vector),
                     "f"(v[j][0]), "f"(v[j][1]), "f"(v[j][2]), "f"(v[j][3])
                     : "memory");
      }
    }
  }
}

// A k-tile of ROWS rows staged as stored (load_stored_k_tile, at `raw`), written into a stage at
// `dst` K-major as the TMA writes a K-major operand: row r at r x 128 bytes, its 16-byte chunk
// c at (c ^ r % 8) x 16. Rounded to TF32 where ROUND; where `small` is nonzero, the TF32
// remainder beside it there (3xTF32). Lane l takes k = l, and warp w every third run of four
// rows, read as one 16-byte chunk of its staged k row (lanes l and l + 1 in different chunks of
// the swizzle: no bank conflict); a warp's stores of one row fill it.
template <int ROWS, bool ROUND, int BATCH>
__device__ __forceinline__ void transpose_staged_k_tile(unsigned raw, unsigned dst, unsigned small,
                                                        int thread) {
  constexpr int RUNS = ROWS / 4, WARPS = 3;
  const int lane = thread % 32, warp = thread / 32;
  const unsigned column = 4 * (lane % 4);
  // BATCH runs' reads issued before their stores, so that their latencies overlap (as many as
  // the producer warpgroup's 40 registers a thread hold).
  for (int first = warp; first < RUNS; first += WARPS * BATCH) {
    float v[BATCH][4];
#pragma unroll
    for (int j = 0; j < BATCH; ++j) {
      const int run = first + WARPS * j;
      if (run >= RUNS) continue;
      const int box = run / 8, chunk = run % 8;
      asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];\n"
                   : "=f"(v[j][0]), "=f"(v[j][1]), "=f"(v[j][2]), "=f"(v[j][3])
                   : "r"(raw + box * kStoredBoxBytes + lane * 128 + ((chunk ^ (lane % 8)) << 4)));
    }
#pragma unroll
    for (int j = 0; j < BATCH; ++j) {
      const int run = first + WARPS * j;
      if (run >= RUNS) continue;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = 4 * run + i;
        const unsigned offset = row * 128 + (((lane / 4) ^ (row % 8)) << 4) + column;
        const float big = ROUND ? __uint_as_float(to_tf32(v[j][i])) : v[j][i];
        asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(dst + offset), "f"(big) : "memory");
        if (small != 0)
          asm volatile("st.shared.f32 [%0], %1;\n" ::"r"(small + offset),
                       "f"(tf32_remainder(v[j][i]))
                       : "memory");
      }
    }
  }
}

// The producer warpgroup's warps 1-3 (thread 0..95 among them): each stage's share that the TMA
// does not write as the consumers read it, once its copies landed, then ready for the
// consumers.
template <class C>
__device__ __forceinline__ void wgmma_help(const WgmmaSmem<C>& smem, int thread) {
  using S = WgmmaShape<C>;
  constexpr bool ROUND = C::PASSES == 1;  // at TF32, as the TMA rounds its operands
  // Runs read ahead: one at 3xTF32, where the helpers also split B (more would spill).
  constexpr int BATCH = S::SPLIT_OPERANDS ? 1 : 2;
  RingPosition ring;
  for (int u = blockIdx.x; u < S::UNITS; u += gridDim.x) {
    const WgmmaUnit<C> unit(u);
    for (int k_tile = unit.k_begin; k_tile < unit.k_end; ++k_tile) {
      mbarrier_wait(smem.full(ring.stage), ring.phase);
      if constexpr (C::TRANSPOSED_A)
        transpose_staged_k_tile<C::BM, ROUND, BATCH>(smem.raw_a(ring.stage), smem.a(ring.stage), 0u,
                                                     thread);
      if constexpr (C::TRANSPOSED_B)
        transpose_staged_k_tile<C::BN, ROUND, BATCH>(
            smem.raw_b(ring.stage), smem.b(ring.stage),
            S::SPLIT_OPERANDS ? smem.small_b(ring.stage) : 0u, thread);
      else if constexpr (S::SPLIT_OPERANDS)
        split_b_stage<C>(smem, ring.stage, thread);
      fence_async_shared();
      mbarrier_arrive(smem.ready(ring.stage));
      ring.template advance<C::STAGES>();
    }
  }
}

// A consumer warpgroup is done with a stage: its first thread tells the producer of every
// block of the cluster, since each of them writes the stage.
template <class C>
__device__ __forceinline__ void release_stage(const WgmmaSmem<C>& smem, int stage, int thread) {
  if (thread != 0) return;
  if constexpr (C::CLUSTER == 1) {
    mbarrier_arrive(smem.empty(stage));
  } else {
#pragma unroll
    for (int rank = 0; rank < C::CLUSTER; ++rank) mbarrier_arrive_in_block(smem.empty(stage), rank);
  }
}

// A fragment of the rows a warp owns, for one 8-deep k-step, read from a swizzled stage:
// a[0] (g, t), a[1] (g + 8, t), a[2] (g, t + 4), a[3] (g + 8, t + 4).
__device__ __forceinline__ void load_a_fragment(float (&a)[4], unsigned rows, int k_step, int g,
                                                int t) {
#pragma unroll
  for (int q = 0; q < 2; ++q)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const unsigned address = rows + (g + 8 * h) * 128 + (((2 * k_step + q) ^ g) << 4) + 4 * t;
      asm volatile("ld.shared.f32 %0, [%1];\n" : "=f"(a[2 * q + h]) : "r"(address));
    }
}

// One group of MMAs, issued by `issue` into d and run to completion; the tensor cores own the
// accumulators from the fence to the wait.
template <int M_INSTR, int ACC, class Issue>
__device__ __forceinline__ void wgmma_group(float (&d)[M_INSTR][ACC], const Issue& issue) {
#pragma unroll
  for (int i = 0; i < M_INSTR; ++i) fence_registers(d[i]);
  wgmma_fence();
  issue();
  wgmma_commit();
  wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < M_INSTR; ++i) fence_registers(d[i]);
}

// A 3xTF32 k-tile: A read into registers and split there into its truncated part (the raw
// value) and its remainder; B's remainder lies beside the stage.
template <class C>
__device__ __forceinline__ void wgmma_k_tile_split(
    float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], const WgmmaSmem<C>& smem,
    unsigned a_rows, unsigned b_rows, int stage, int warp, int g, int t) {
  using S = WgmmaShape<C>;
  float a[S::M_INSTR][S::K_STEPS][4];
#pragma unroll
  for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
    for (int k = 0; k < S::K_STEPS; ++k)
      load_a_fragment(a[i][k], a_rows + (i * 64 + warp * 16) * 128, k, g, t);
  float small[S::M_INSTR][S::K_STEPS][4];
#pragma unroll
  for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
    for (int k = 0; k < S::K_STEPS; ++k)
#pragma unroll
      for (int e = 0; e < 4; ++e) small[i][k][e] = tf32_remainder(a[i][k][e]);
  // Fresh partial sums, promoted below with a round-to-nearest add (see the file comment).
  float part[S::M_INSTR][S::ACC];
  const unsigned small_b = smem.small_b(stage);
  wgmma_group(part, [&] {
#pragma unroll
    for (int k = 0; k < S::K_STEPS; ++k) {
      const unsigned long long b_big = wgmma_descriptor(b_rows + 32 * k);
      const unsigned long long b_small = wgmma_descriptor(small_b + 32 * k);
#pragma unroll
      for (int i = 0; i < S::M_INSTR; ++i) {
        C::wgmma_rs(part[i], small[i][k], b_big, k > 0);
        C::wgmma_rs(part[i], a[i][k], b_small, 1);
        C::wgmma_rs(part[i], a[i][k], b_big, 1);
      }
    }
  });
#pragma unroll
  for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
    for (int j = 0; j < S::ACC; ++j) acc[i][j] += part[i][j];
}

// A unit's k-tiles with A and B both read from shared memory by the tensor cores: each k-tile's
// group is issued before the one before it is waited for, so the tensor cores do not drain
// between k-tiles, and a stage is released once its group has completed.
template <class C>
__device__ __forceinline__ void wgmma_k_tiles_from_smem(
    float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], const WgmmaSmem<C>& smem,
    RingPosition& ring, const WgmmaUnit<C>& unit, int consumer, int thread) {
  using S = WgmmaShape<C>;
  int previous = -1;  // the stage whose group may still be running
  for (int k_tile = unit.k_begin; k_tile < unit.k_end; ++k_tile) {
    mbarrier_wait(smem.consumable(ring.stage), ring.phase);
    const unsigned a_rows = smem.a(ring.stage) + consumer * S::WG_ROWS * 128;
    const unsigned b_rows = smem.b(ring.stage);
#pragma unroll
    for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[i]);
    wgmma_fence();
#pragma unroll
    for (int k = 0; k < S::K_STEPS; ++k)
#pragma unroll
      for (int i = 0; i < S::M_INSTR; ++i)
        C::wgmma_ss(acc[i], wgmma_descriptor(a_rows + i * 64 * 128 + 32 * k),
                    wgmma_descriptor(b_rows + 32 * k), 1);
    wgmma_commit();
    wgmma_wait<1>();  // the previous k-tile's group has completed
#pragma unroll
    for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[i]);
    if (previous >= 0) release_stage(smem, previous, thread);
    previous = ring.stage;
    ring.template advance<C::STAGES>();
  }
  wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < S::M_INSTR; ++i) fence_registers(acc[i]);
  if (previous >= 0) release_stage(smem, previous, thread);
}

// Calls pair(row, col, x0, x1) for each pair of adjacent accumulators a consumer thread holds:
// columns col and col + 1 of the consumer's row `row` (of its WG_ROWS), col within BN.
template <class C, class Pair>
__device__ __forceinline__ void for_each_accumulator_pair(
    const float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], int warp, int g, int t,
    const Pair& pair) {
  using S = WgmmaShape<C>;
#pragma unroll
  for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
    for (int half = 0; half < 2; ++half)
#pragma unroll
      for (int j = 0; j < C::BN / 8; ++j)
        pair(i * 64 + warp * 16 + g + 8 * half, 8 * j + 2 * t, acc[i][4 * j + 2 * half],
             acc[i][4 * j + 2 * half + 1]);
}

template <class C, class Out, class Epilogue>
__device__ __forceinline__ void wgmma_store(
    const float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], Out* __restrict__ out,
    const Epilogue& epilogue, int m0, int n0, int warp, int g, int t) {
  for_each_accumulator_pair<C>(acc, warp, g, t, [&](int row, int col, float x0, float x1) {
    const int m = m0 + row;
    if (C::GUARD_M && m >= C::M) return;
    store_output_pair<C::N, C::GUARD_N>(out + static_cast<long long>(m) * C::N, m, n0 + col, x0, x1,
                                        epilogue);
  });
}

// TMA_STORE: this consumer's rows of the tile, through the epilogue, into its staging strips,
// then to global memory by the TMA (one thread issues; only the next tile's staging waits, for
// the copy engine's reads). Elements outside the output are neither computed nor written: the
// TMA skips them.
template <class C, class Epilogue>
__device__ __forceinline__ void wgmma_store_staged(
    const float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], const TensorMap* map_out,
    const Epilogue& epilogue, const WgmmaSmem<C>& smem, int m0, int n0, int consumer, int warp,
    int g, int t, int thread) {
  using S = WgmmaShape<C>;
  using Out = typename C::Element;
  const unsigned staging = smem.out(consumer);
  // The last tile's stores must have read the staging area before it is written again.
  if (thread == 0) tma_store_wait_read();
  named_barrier_sync(1 + consumer, 128);
  for_each_accumulator_pair<C>(acc, warp, g, t, [&](int row, int col, float x0, float x1) {
    const int m = m0 + row, n = n0 + col;
    if ((C::GUARD_M && m >= C::M) || (C::GUARD_N && n >= C::N)) return;
    float v[2] = {x0, x1};
    epilogue.template apply<2>(v, m, n);
    // The pair's bytes within its strip's row, the 16-byte chunk swizzled by the row.
    const int byte = col * static_cast<int>(sizeof(Out));
    const int chunk = (byte % 128) / 16 ^ (row % 8);
    const unsigned address =
        staging + byte / 128 * S::STRIP_BYTES + row * 128 + chunk * 16 + byte % 16;
    if constexpr (sizeof(Out) == 4) {
      asm volatile("st.shared.v2.f32 [%0], {%1, %2};\n" ::"r"(address), "f"(v[0]), "f"(v[1])
                   : "memory");
    } else {
      asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(address), "r"(pack_pair<Out>(v[0], v[1]))
                   : "memory");
    }
  });
  fence_async_shared();
  named_barrier_sync(1 + consumer, 128);
  if (thread == 0) {
#pragma unroll
    for (int strip = 0; strip < S::STRIPS; ++strip)
      tma_store_2d(map_out, staging + strip * S::STRIP_BYTES, n0 + strip * S::STRIP_COLS, m0);
    tma_store_commit();
  }
}

// Split-K: this warpgroup's share of the tile through the workspace (split_k.cuh); true in
// the warpgroup of the tile's last split, whose `acc` then holds the sum of every split.
template <class C>
__device__ __forceinline__ bool wgmma_reduce_splits(
    float (&acc)[WgmmaShape<C>::M_INSTR][WgmmaShape<C>::ACC], float* __restrict__ workspace,
    const WgmmaSmem<C>& smem, const WgmmaUnit<C>& unit, int consumer, int thread) {
  using S = WgmmaShape<C>;
  constexpr int FLOATS = S::M_INSTR * S::ACC;
  // [TILES][CONSUMERS][SPLITS][FLOATS / 4][128] float4, then a counter per tile and consumer.
  const int group = unit.tile * C::CONSUMERS + consumer;
  float* partials = workspace + 1ll * group * C::SPLITS * FLOATS * 128;
  unsigned* counter = reinterpret_cast<unsigned*>(workspace + S::PARTIAL_FLOATS) + group;
  return reduce_split_k<C::SPLITS, FLOATS, 128>(&acc[0][0], partials, counter,
                                                smem.split_flag(consumer), unit.split, thread,
                                                [&] { named_barrier_sync(1 + consumer, 128); });
}

template <class C, class Out, class Epilogue>
__device__ __forceinline__ void wgmma_consume(Out* __restrict__ out, const TensorMap* map_out,
                                              float* __restrict__ workspace,
                                              const Epilogue& epilogue, const WgmmaSmem<C>& smem,
                                              int consumer) {
  using S = WgmmaShape<C>;
  const int thread = threadIdx.x % 128;
  const int warp = thread / 32, g = (thread % 32) / 4, t = thread % 4;
  static_assert(!C::TMA_STORE || sizeof(Out) == sizeof(typename C::Element),
                "the TMA stores the output in the inputs' type");
  if (C::TMA_STORE && thread == 0) tma_prefetch_descriptor(map_out);
  float acc[S::M_INSTR][S::ACC];
  RingPosition ring;
  for (int u = blockIdx.x; u < S::UNITS; u += gridDim.x) {
    const WgmmaUnit<C> unit(u);
#pragma unroll
    for (int i = 0; i < S::M_INSTR; ++i)
#pragma unroll
      for (int j = 0; j < S::ACC; ++j) acc[i][j] = 0.f;
    if constexpr (S::SPLIT_OPERANDS) {
      for (int k_tile = unit.k_begin; k_tile < unit.k_end; ++k_tile) {
        mbarrier_wait(smem.consumable(ring.stage), ring.phase);
        wgmma_k_tile_split<C>(acc, smem, smem.a(ring.stage) + consumer * S::WG_ROWS * 128,
                              smem.b(ring.stage), ring.stage, warp, g, t);
        // This warpgroup's tensor-core and register reads of the stage are complete.
        release_stage(smem, ring.stage, thread);
        ring.template advance<C::STAGES>();
      }
    } else {
      wgmma_k_tiles_from_smem<C>(acc, smem, ring, unit, consumer, thread);
    }
    if constexpr (C::SPLITS > 1)
      if (!wgmma_reduce_splits<C>(acc, workspace, smem, unit, consumer, thread)) continue;
    if constexpr (C::TMA_STORE)
      wgmma_store_staged<C>(acc, map_out, epilogue, smem, unit.m0 + consumer * S::WG_ROWS, unit.n0,
                            consumer, warp, g, t, thread);
    else
      wgmma_store<C>(acc, out, epilogue, unit.m0 + consumer * S::WG_ROWS, unit.n0, warp, g, t);
  }
  // The block's shared memory must outlive the reads of the last stores.
  if (C::TMA_STORE && thread == 0) tma_store_wait();
}

template <class C, class Out, class Epilogue>
__device__ __forceinline__ void gemm_wgmma(const TensorMap* map_a, const TensorMap* map_b,
                                           const TensorMap* map_out, Out* __restrict__ out,
                                           float* __restrict__ workspace,
                                           const Epilogue& epilogue) {
  using S = WgmmaShape<C>;
  extern __shared__ __align__(1024) unsigned char smem_bytes[];
  const WgmmaSmem<C> smem{(smem_address(smem_bytes) + 1023u) & ~1023u};
  if (threadIdx.x == 0) {
    for (int s = 0; s < C::STAGES; ++s) {
      mbarrier_init(smem.full(s), 1);
      mbarrier_init(smem.ready(s), S::SPLIT_THREADS);
      mbarrier_init(smem.empty(s), C::CONSUMERS * C::CLUSTER);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  // The other block of a cluster arrives on these barriers and writes this one's stages.
  if constexpr (C::CLUSTER > 1)
    cluster_sync();
  else
    __syncthreads();
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    if constexpr (C::CONSUMERS == 2) release_registers<40>();
    if (threadIdx.x == 0) {
      wgmma_produce<C>(map_a, map_b, smem);
    } else if (S::HELPERS && threadIdx.x >= 32) {
      wgmma_help<C>(smem, threadIdx.x - 32);
    }
  } else {
    if constexpr (C::CONSUMERS == 2) claim_registers<232>();
    wgmma_consume<C>(out, map_out, workspace, epilogue, smem, warpgroup - 1);
  }
  // A block leaves only when the other one no longer arrives on its barriers.
  if constexpr (C::CLUSTER > 1) cluster_sync();
}

}  // namespace ft
