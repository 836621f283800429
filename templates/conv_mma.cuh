// fusetune template: implicit-GEMM convolution on tensor cores (mma.sync m16n8k8 on TF32, sm_80
// and newer) with the epilogue and a pool step fused: conv2d/3d and conv_transpose2d/3d in
// PyTorch's layouts (a 2-d convolution is a 3-d one with d = 1), any stride, padding and
// groups, dilation for plain ones.
//
// The output is covered by *cells* (generator/conv_cells.h): with a pool step a cell is one
// pooling window; else, for a transposed convolution, a cell is STRIDE elements along each axis,
// one of each output phase; else a cell is one element. Each element e of a cell is a GEMM of
// its own, per group g:
//   M = N·cells            the cells, m = ((b·CELLS_D + cd)·CELLS_H + ch)·CELLS_W + cw
//   N = K / GROUPS         the group's output channels
//   K = C / GROUPS · T(e)  k = c·T(e) + j, j = (jd·T_h + jh)·T_w + jw, over the T(e) taps the
//                          element meets: every tap of a plain convolution, those of the
//                          element's output phase for a transposed one (never an inserted zero)
//   A[m][k] = x[b][g·C/GROUPS + c][input origin of (cell m, element e) + j·INPUT_STEP per axis],
//             zero outside the input (padding)
//   B[n][k] = the weight's tap first(e) + j·TAP_STEP per axis: plain, weight[g·N + n][c][tap],
//             every element's the same k-contiguous matrix; transposed, weight[g·C/GROUPS + c][n]
//             [tap], gathered like A
// One block computes a BM x BN tile of the cells of one group, through all of a cell's elements
// in one cp.async pipeline (gemm_mma.cuh's k-loop and fragments, STAGES stages,
// MmaFragmentsTf32): an element's k-tiles follow the previous element's, and once its last
// k-tile is summed each accumulator (m, n) goes through `epilogue.apply(value, channel, index)`
// and is stored at out[b][g·N + n][od][oh][ow], or folded into the cell's pooled value, which
// `epilogue.apply_pooled` takes at the end.
//
// A is gathered (im2col on the fly) with 4-byte cp.async, zero-filled outside the input: along m
// the addresses step by a cell's input stride, rarely 16-byte aligned runs. Shared memory keeps
// A m-contiguous, [BK][BM + 8], so that the 32 lanes of a warp copy 32 consecutive cells of one
// k (consecutive inputs along w at stride 1, and conflict-free stores), and B k-contiguous,
// [BN][BK + 4], copied 16 bytes at a time where K is a multiple of 4. Fragment loads are free of
// bank conflicts as in gemm_mma.cuh (pitch BM + 8 is 8 mod 32, BK + 4 four times an odd number).
//
// Each thread copies A for A_ROWS fixed cells and A_COLS k-columns per stage. What depends on
// the cell only (its image and coordinates) is computed once, what depends on the element
// (input origins, the taps' radix) once per element; each column keeps its (c, jd, jh, jw) and
// advances by BK per stage in that mixed radix, without dividing; a copy is then two adds, the
// bounds checks and the cp.async. Cells past M, and elements outside the output (a pooling
// window's padding), are poisoned with an origin far below zero, so the bounds check alone
// zero-fills them.
//
// WGMMA (sm_90a): the k-loop on warpgroup MMA instead (conv_wgmma_k_loop below): the same
// copies, A in registers from the same stages, B stored as wgmma reads it.
//
// Tunables (a Config struct; generator/conv_mma_space.cc holds their ranges):
//   WARPS_M, WARPS_N        warps per block along M and N             64..256 threads
//   MMA_TILES_M, _N         16x8 MMA tiles per warp along M and N     1..4 and 1..8; BM 32..256
//   BK                      k-depth of a stage                        a multiple of 8 (16, 32)
//   STAGES                  cp.async pipeline depth                   2..4
//   PASSES                  1 (TF32) or 3 (3xTF32: big + small TF32 parts, fp32-level accuracy)
//   VEC_B                   floats per copy of B: 4, 2 or 1, the widest that divides K
//   WGMMA                   0: mma.sync; 1: warpgroup MMA (4 or 8 warps along M, one 16-row
//                           tile each, WARPS_N 1, BK 32); 2: the same, the next stage prepared
//                           while the tensor cores multiply
//   GUARD_M/N/K             edges checked: required when the shape is not a tile multiple
// Geometry (generator/conv_cells.h's conv_config_head): N, C, K, GROUPS, TRANSPOSED, POOL
// (conv_cells.cuh's kinds, not the global average), and one struct per axis (Config::D, ::H,
// ::W): IN, OUT, KERNEL, STRIDE, PADDING, DILATION, CELL, CELL_STRIDE, CELL_OFFSET, CELLS.
#pragma once

namespace ft {

// What element e of a cell meets along one axis: `taps` taps, the j-th the weight's tap
// first + j·TAP_STEP, read at the cell's input origin + shift + j·INPUT_STEP; the cell's input
// origin is its coordinate times CELL_INPUT_STEP. A transposed convolution's element keeps to
// its phase (o + PADDING ≡ first mod STRIDE), its cells starting on one phase.
template <class A, bool TRANSPOSED>
struct ElementAxis {
  static constexpr int TAP_STEP = TRANSPOSED ? A::STRIDE : 1;
  static constexpr int INPUT_STEP = TRANSPOSED ? -1 : A::DILATION;
  static constexpr int CELL_INPUT_STEP =
      TRANSPOSED ? A::CELL_STRIDE / A::STRIDE : A::CELL_STRIDE * A::STRIDE;
  int taps = 0, first = 0, shift = 0;
  __host__ __device__ constexpr explicit ElementAxis(int e) {
    if (TRANSPOSED) {
      // Output o = i·STRIDE - PADDING + tap, o = cell·CELL_STRIDE - CELL_OFFSET + e.
      const int n = e - A::CELL_OFFSET + A::PADDING;
      first = (n % A::STRIDE + A::STRIDE) % A::STRIDE;
      taps = first < A::KERNEL ? (A::KERNEL - 1 - first) / A::STRIDE + 1 : 0;
      shift = (n - first) / A::STRIDE;
    } else {
      taps = A::KERNEL;
      shift = (e - A::CELL_OFFSET) * A::STRIDE - A::PADDING;
    }
  }
};

// Element e of a cell (ew fastest): its coordinates and what it meets along each axis.
template <class C>
struct CellElement {
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  int ed, eh, ew;
  ElementAxis<D, C::TRANSPOSED> d;
  ElementAxis<H, C::TRANSPOSED> h;
  ElementAxis<W, C::TRANSPOSED> w;
  __host__ __device__ constexpr explicit CellElement(int e)
      : ed(e / (H::CELL * W::CELL)),
        eh(e / W::CELL % H::CELL),
        ew(e % W::CELL),
        d(e / (H::CELL * W::CELL)),
        h(e / W::CELL % H::CELL),
        w(e % W::CELL) {}
  __host__ __device__ constexpr int taps() const { return d.taps * h.taps * w.taps; }
  __host__ __device__ constexpr int k_tiles() const {
    return ((C::C / C::GROUPS) * taps() + C::BK - 1) / C::BK;
  }
};

// The k-tiles of every element of a cell, and the fewest taps an element meets.
template <class C>
__host__ __device__ constexpr int cell_k_tiles() {
  int tiles = 0;
  for (int e = 0; e < C::D::CELL * C::H::CELL * C::W::CELL; ++e)
    tiles += CellElement<C>(e).k_tiles();
  return tiles;
}
template <class C>
__host__ __device__ constexpr int fewest_element_taps() {
  int fewest = 1 << 30;
  for (int e = 0; e < C::D::CELL * C::H::CELL * C::W::CELL; ++e)
    fewest = CellElement<C>(e).taps() < fewest ? CellElement<C>(e).taps() : fewest;
  return fewest;
}

template <class C>
struct ConvMmaShape {
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  static constexpr int THREADS = 32 * C::WARPS_M * C::WARPS_N;
  static constexpr int WM = 16 * C::MMA_TILES_M;  // warp tile rows (cells)
  static constexpr int WN = 8 * C::MMA_TILES_N;   // warp tile columns (channels)
  static constexpr int BM = C::WARPS_M * WM;      // block tile rows
  static constexpr int BN = C::WARPS_N * WN;      // block tile columns
  static constexpr int MMA_K = 8;
  static constexpr int CG = C::C / C::GROUPS;  // input channels of a group
  static constexpr int KG = C::K / C::GROUPS;  // output channels of a group: the GEMM's N
  static constexpr int TAPS = D::KERNEL * H::KERNEL * W::KERNEL;
  static constexpr int IN_PLANE = D::IN * H::IN * W::IN;
  static constexpr int OUT_PLANE = D::OUT * H::OUT * W::OUT;
  static constexpr int CELL_PLANE = D::CELLS * H::CELLS * W::CELLS;
  static constexpr int ELEMENTS = D::CELL * H::CELL * W::CELL;
  static constexpr int GEMM_M = C::N * CELL_PLANE;
  static constexpr int M_TILES = (GEMM_M + BM - 1) / BM;
  static constexpr int N_TILES = (KG + BN - 1) / BN;
  static constexpr int K_TILES = cell_k_tiles<C>();  // of all of a cell's elements
  // A stage [BK, BM + 8], B stage [BN, BK + 4] (floats); under WGMMA B's rows are BK = 32
  // floats, 128 bytes, swizzled (swizzled_b_offset), and 3xTF32 keeps their remainders beside.
  static constexpr int A_PITCH = BM + 8;
  static constexpr int B_PITCH = C::WGMMA ? C::BK : C::BK + 4;
  static constexpr int A_STAGE = C::BK * A_PITCH;
  static constexpr int B_STAGE = BN * B_PITCH;
  // The threads copy A as a [A_THREADS_K, A_THREADS_M] grid, each A_ROWS cells A_THREADS_M
  // apart by A_COLS k-columns A_THREADS_K apart.
  static constexpr int A_ROWS = BM / 32 < 4 ? BM / 32 : 4;
  static constexpr int A_THREADS_M = BM / A_ROWS;
  static constexpr int A_THREADS_K = THREADS / A_THREADS_M;
  static constexpr int A_COLS = C::BK / A_THREADS_K;
  // A transposed convolution's B is gathered: thread t copies column t % BK of B_ROWS rows.
  static constexpr int B_ROWS = BN * C::BK / THREADS;
  // Far enough below zero that an origin plus any tap offset stays negative.
  static constexpr int POISON = -(1 << 30);

  static constexpr int B_COPIES = C::WGMMA && C::PASSES == 3 ? 2 : 1;
  static constexpr int ALIGNMENT = C::WGMMA ? 1024 : 0;  // bytes lost aligning the swizzle
  static_assert(C::STAGES * (A_STAGE + B_COPIES * B_STAGE) * 4 + ALIGNMENT <= C::SMEM_BYTES,
                "the stages fit the shared memory the generator sized (Config::SMEM_BYTES)");
  static_assert(!C::WGMMA || (C::WARPS_N == 1 && C::MMA_TILES_M == 1 && C::WARPS_M % 4 == 0 &&
                              C::BK == 32 && BN <= 128),
                "warpgroup MMA: whole warpgroups along M, one 16-row tile a warp, rows of 32 "
                "floats, at most 128 channels");
  static_assert(C::BK % MMA_K == 0, "a stage holds whole MMA k-steps");
  static_assert(C::STAGES >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(C::PASSES == 1 || C::PASSES == 3, "TF32 takes one pass, 3xTF32 three");
  static_assert(BM % 32 == 0, "a warp copies A for 32 consecutive cells");
  static_assert(THREADS % A_THREADS_M == 0 && C::BK % A_THREADS_K == 0,
                "the A copies of a stage split evenly over the threads");
  static_assert(C::BK % C::VEC_B == 0 && (CG * TAPS) % C::VEC_B == 0,
                "a B copy lies wholly inside or wholly outside K");
  static_assert(!C::TRANSPOSED || (THREADS % C::BK == 0 && (BN * C::BK) % THREADS == 0),
                "a transposed convolution's B copies split evenly over the threads");
  static_assert(C::GUARD_M || GEMM_M % BM == 0, "an unguarded M edge needs M % BM == 0");
  static_assert(C::GUARD_N || KG % BN == 0, "an unguarded N edge needs N % BN == 0");
  static_assert(C::GUARD_K || ELEMENTS * ((CG * TAPS) % C::BK) == 0 || C::TRANSPOSED,
                "an unguarded K edge needs K % BK == 0");
  static_assert(fewest_element_taps<C>() > 0, "every element of a cell meets a tap");
  static_assert(!C::TRANSPOSED ||
                    (D::DILATION == 1 && H::DILATION == 1 && W::DILATION == 1 &&
                     D::CELL_STRIDE % D::STRIDE == 0 && H::CELL_STRIDE % H::STRIDE == 0 &&
                     W::CELL_STRIDE % W::STRIDE == 0),
                "a transposed convolution without dilation, its cells starting on one phase");
  static_assert(C::POOL != kPoolGlobalAvg, "the global average is a finishing kernel's");
  static_assert(D::IN < (1 << 29) && H::IN < (1 << 29) && W::IN < (1 << 29),
                "a poisoned origin plus a real coordinate stays negative");
};

// Under WGMMA, the byte offset of B[n][k] in a stage: rows of 128 bytes, each 16-byte chunk of
// row n at chunk (k / 4) xor (n mod 8), the 128-byte swizzle wgmma_descriptor reads.
__device__ __forceinline__ unsigned swizzled_b_offset(int n, int k) {
  return n * 128 + ((((k >> 2) ^ n) & 7) << 4) + (k & 3) * 4;
}

// The configuration MmaFragmentsTf32 (gemm_mma.cuh) reads: A m-contiguous, B k-contiguous.
template <class C>
struct ConvMmaFragmentConfig : C {
  static constexpr bool A_K_CONTIGUOUS = false;
  static constexpr bool B_K_CONTIGUOUS = true;
};

// The cell of GEMM row m (a real one: the caller clamps or guards rows past M): its image, its
// index in the image's cell plane, its coordinates, and where an element of it lands.
template <class C>
struct Cell {
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  static constexpr int PLANE = D::CELLS * H::CELLS * W::CELLS;
  int b, index, cd, ch, cw;
  __device__ __forceinline__ explicit Cell(int m)
      : b(m / PLANE),
        index(m - b * PLANE),
        cd(D::CELLS == 1 ? 0 : index / (W::CELLS * H::CELLS)),
        ch(H::CELLS == 1 ? 0 : index / W::CELLS % H::CELLS),
        cw(index % W::CELLS) {}
  // Element e's output coordinates: cell · CELL_STRIDE - CELL_OFFSET + e per axis.
  __device__ __forceinline__ int od(const CellElement<C>& e) const {
    return cd * D::CELL_STRIDE - D::CELL_OFFSET + e.ed;
  }
  __device__ __forceinline__ int oh(const CellElement<C>& e) const {
    return ch * H::CELL_STRIDE - H::CELL_OFFSET + e.eh;
  }
  __device__ __forceinline__ int ow(const CellElement<C>& e) const {
    return cw * W::CELL_STRIDE - W::CELL_OFFSET + e.ew;
  }
  // Whether element e is an output (not a pooling window's padding).
  __device__ __forceinline__ bool holds(const CellElement<C>& e) const {
    return static_cast<unsigned>(od(e)) < D::OUT && static_cast<unsigned>(oh(e)) < H::OUT &&
           static_cast<unsigned>(ow(e)) < W::OUT;
  }
};

// An element's taps as the k-columns walk them: k = c·T + j, j = (jd·T_h + jh)·T_w + jw, and
// what a column advances by per stage (BK) in that mixed radix.
struct TapWalk {
  int td, th, tw;  // taps per axis
  int step_c, step_d, step_h, step_w;

  template <class Element>
  __device__ __forceinline__ TapWalk(const Element& element, int bk)
      : td(element.d.taps), th(element.h.taps), tw(element.w.taps) {
    const int taps = td * th * tw;
    step_c = bk / taps;
    const int rest = bk % taps;
    step_w = rest % tw;
    step_h = rest / tw % th;
    step_d = rest / (tw * th);
  }
};

// One k-column: its input channel and tap (jd, jh, jw) within the element.
struct TapColumn {
  int c, jd, jh, jw;
  __device__ __forceinline__ int d() const { return jd; }
  __device__ __forceinline__ int h() const { return jh; }
  __device__ __forceinline__ int w() const { return jw; }

  __device__ __forceinline__ void start(const TapWalk& walk, int k) {
    const int taps = walk.td * walk.th * walk.tw;
    c = k / taps;
    const int j = k % taps;
    jw = j % walk.tw;
    jh = j / walk.tw % walk.th;
    jd = j / (walk.tw * walk.th);
  }
  // k + BK, with carries from jw to jh to jd to c.
  __device__ __forceinline__ void advance(const TapWalk& walk) {
    jw += walk.step_w;
    int carry = jw >= walk.tw;
    jw -= carry * walk.tw;
    jh += walk.step_h + carry;
    carry = jh >= walk.th;
    jh -= carry * walk.th;
    jd += walk.step_d + carry;
    carry = jd >= walk.td;
    jd -= carry * walk.td;
    c += walk.step_c + carry;
  }
};

// A plain convolution's column: every element meets every tap, so the tap is one index, split
// by constant divisions where it is read: fewer registers than three counters, as many
// instructions.
template <class C>
struct FlatTapColumn {
  static constexpr int KHW = C::H::KERNEL * C::W::KERNEL;
  static constexpr int TAPS = C::D::KERNEL * KHW;
  int c, tap;
  __device__ __forceinline__ int d() const { return C::D::KERNEL == 1 ? 0 : tap / KHW; }
  __device__ __forceinline__ int h() const {
    return C::H::KERNEL == 1 ? 0 : (tap - d() * KHW) / C::W::KERNEL;
  }
  __device__ __forceinline__ int w() const { return tap - d() * KHW - h() * C::W::KERNEL; }
  __device__ __forceinline__ void start(const TapWalk&, int k) {
    c = k / TAPS;
    tap = k % TAPS;
  }
  __device__ __forceinline__ void advance(const TapWalk&) {
    tap += C::BK % TAPS;
    c += C::BK / TAPS;
    if (tap >= TAPS) tap -= TAPS, ++c;
  }
};

// The A[m][k] gather of one thread: its A_ROWS cells, fixed, and its A_COLS k-columns, which
// advance by BK with every stage copied and start over at each element. Stages must be copied
// in order, each once.
template <class C>
struct ConvGatherA {
  using S = ConvMmaShape<C>;
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  using Element = CellElement<C>;
  using ED = ElementAxis<D, C::TRANSPOSED>;
  using EH = ElementAxis<H, C::TRANSPOSED>;
  using EW = ElementAxis<W, C::TRANSPOSED>;

  int base[S::A_ROWS];                              // offset of the element's input origin
  int d0[S::A_ROWS], h0[S::A_ROWS], w0[S::A_ROWS];  // the origin; h0 poisoned outside
  using Column = typename select_type<C::TRANSPOSED, TapColumn, FlatTapColumn<C>>::type;
  Column column[S::A_COLS];
  int m_first;           // the thread's first cell
  int m_local, k_local;  // the thread's first cell and column in a stage

  __device__ __forceinline__ ConvGatherA(int m_block, int tid) {
    m_local = tid % S::A_THREADS_M;
    k_local = tid / S::A_THREADS_M;
    m_first = m_block + m_local;
  }

  // Starts element `element`'s columns at k = 0 and its cells' input origins. A cell's
  // coordinates are found again for each element rather than kept: registers are what limits
  // the blocks an SM holds.
  __device__ __forceinline__ void start(const Element& element, const TapWalk& walk) {
#pragma unroll
    for (int j = 0; j < S::A_ROWS; ++j) {
      const int m = m_first + j * S::A_THREADS_M;
      const Cell<C> cell(m < S::GEMM_M ? m : S::GEMM_M - 1);  // past M: a real cell, poisoned
      const bool inside = (!C::GUARD_M || m < S::GEMM_M) && cell.holds(element);
      d0[j] = cell.cd * ED::CELL_INPUT_STEP + element.d.shift;
      h0[j] = cell.ch * EH::CELL_INPUT_STEP + element.h.shift;
      w0[j] = cell.cw * EW::CELL_INPUT_STEP + element.w.shift;
      base[j] = cell.b * C::C * S::IN_PLANE + (d0[j] * H::IN + h0[j]) * W::IN + w0[j];
      if (!inside) h0[j] = S::POISON;
    }
#pragma unroll
    for (int i = 0; i < S::A_COLS; ++i) column[i].start(walk, k_local + i * S::A_THREADS_K);
  }

  // Copies the current stage's A tile to `stage` ([BK, A_PITCH] floats at this shared address)
  // from the group's input x, then moves the columns on to the next stage.
  __device__ __forceinline__ void copy_and_advance(unsigned stage, const float* x,
                                                   const TapWalk& walk) {
#pragma unroll
    for (int i = 0; i < S::A_COLS; ++i) {
      const Column& k = column[i];
      const bool k_inside = !C::GUARD_K || k.c < S::CG;
      const int d_off = k.d() * ED::INPUT_STEP;
      const int w_off = k.w() * EW::INPUT_STEP;
      const int h_off = k_inside ? k.h() * EH::INPUT_STEP : S::POISON;
      const int delta =
          k_inside ? k.c * S::IN_PLANE + (d_off * H::IN + k.h() * EH::INPUT_STEP) * W::IN + w_off
                   : 0;
      const int row = k_local + i * S::A_THREADS_K;
#pragma unroll
      for (int j = 0; j < S::A_ROWS; ++j) {
        const int id = d0[j] + d_off, ih = h0[j] + h_off, iw = w0[j] + w_off;
        const bool valid = static_cast<unsigned>(id) < D::IN && static_cast<unsigned>(ih) < H::IN &&
                           static_cast<unsigned>(iw) < W::IN;
        const float* src = valid ? x + (base[j] + delta) : x;
        cp_async<4>(stage + (row * S::A_PITCH + m_local + j * S::A_THREADS_M) * 4, src, valid);
      }
      column[i].advance(walk);
    }
  }
};

// A transposed convolution's B[n][k] = weight[c][n][tap] (the group's weight, [C/GROUPS][KG]
// [TAPS]), gathered: thread t copies column t % BK of rows t / BK + i·THREADS / BK.
template <class C>
struct ConvGatherB {
  using S = ConvMmaShape<C>;
  using Element = CellElement<C>;
  TapColumn column;
  int k_local, n_local;
  int first_d, first_h, first_w;  // the element's first taps

  __device__ __forceinline__ explicit ConvGatherB(int tid)
      : k_local(tid % C::BK), n_local(tid / C::BK) {}

  __device__ __forceinline__ void start(const Element& element, const TapWalk& walk) {
    first_d = element.d.first;
    first_h = element.h.first;
    first_w = element.w.first;
    column.start(walk, k_local);
  }

  __device__ __forceinline__ void copy_and_advance(unsigned stage, const float* weight, int n_block,
                                                   const TapWalk& walk) {
    using D = typename C::D;
    using H = typename C::H;
    using W = typename C::W;
    const int tap =
        ((first_d + column.jd * D::STRIDE) * H::KERNEL + first_h + column.jh * H::STRIDE) *
            W::KERNEL +
        first_w + column.jw * W::STRIDE;
    const bool k_inside = !C::GUARD_K || column.c < S::CG;
#pragma unroll
    for (int i = 0; i < S::B_ROWS; ++i) {
      const int row = n_local + i * (S::THREADS / C::BK);
      const int n = n_block + row;
      const bool valid = k_inside && (!C::GUARD_N || n < S::KG);
      const float* src = valid ? weight + (column.c * S::KG + n) * S::TAPS + tap : weight;
      cp_async<4>(
          stage + (C::WGMMA ? swizzled_b_offset(row, k_local) : (row * S::B_PITCH + k_local) * 4),
          src, valid);
    }
    column.advance(walk);
  }
};

// ---- WGMMA: the k-loop on warpgroup MMA (sm_90a) ----
//
// Warpgroup w (warps 4w .. 4w + 3, a 16-row MMA tile each) multiplies rows 64w .. 64w + 63 of
// the block tile by the whole B tile, one wgmma m64nBNk8 per 8-deep k-step: A from registers,
// read from the A stage exactly as mma.sync's fragments are (the layouts agree), B from shared
// memory. The copies stay the block's cp.async pipeline. Once a stage has landed, the threads
// round its B to TF32 in place (the tensor cores would truncate it, a bias) or, at 3xTF32, write
// its TF32 remainder beside it (the big part is the raw value the tensor cores truncate), and
// make the stage visible to the tensor cores' proxy. Each k-tile's products sum into fresh
// registers that a round-to-nearest add promotes (the tensor cores' sums truncate).
//
// WGMMA 1 runs a k-tile's MMAs to completion before preparing the next stage; WGMMA 2 prepares
// stage k + 1 (its B's pass, A's fragments into a second set of registers) while the tensor
// cores multiply stage k.

__device__ __forceinline__ void fence_for_tensor_cores() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// A stage's A fragments and B, as the tensor cores take them (see above).
template <class C, class S>
struct WgmmaStage {
  static constexpr int STEPS = C::BK / 8;
  float a[STEPS][4];
  float small[C::PASSES == 3 ? STEPS : 1][4];  // 3xTF32: A's TF32 remainders

  // B of `stage` rounded to TF32, or its remainders written beside it; then fenced for the
  // tensor cores. Every thread of the block takes a share; a barrier must follow.
  static __device__ __forceinline__ void prepare_b(float* b_stages, int stage) {
    float* b = b_stages + stage * S::B_STAGE;
    float* small_b = b_stages + (C::STAGES + stage) * S::B_STAGE;
    for (int i = threadIdx.x; i < S::B_STAGE; i += S::THREADS) {
      if constexpr (C::PASSES == 3)
        small_b[i] = tf32_remainder(b[i]);
      else
        b[i] = __uint_as_float(to_tf32(b[i]));
    }
    fence_for_tensor_cores();
  }

  // This warp's A fragments of `stage`: rows 16·warp + g (+ 8), k-steps of 8.
  __device__ __forceinline__ void load_a(const float* a_stages, int stage, int warp, int lane) {
    const float* as = a_stages + stage * S::A_STAGE;
    const int m = warp * 16 + lane / 4, t = lane % 4;
#pragma unroll
    for (int k = 0; k < STEPS; ++k) {
      const int row = 8 * k + t;
      const float v[4] = {as[row * S::A_PITCH + m], as[row * S::A_PITCH + m + 8],
                          as[(row + 4) * S::A_PITCH + m], as[(row + 4) * S::A_PITCH + m + 8]};
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if constexpr (C::PASSES == 3) {
          a[k][e] = v[e];
          small[k][e] = tf32_remainder(v[e]);
        } else {
          a[k][e] = __uint_as_float(to_tf32(v[e]));
        }
      }
    }
  }

  // Keeps the compiler from reusing the fragments' registers while issued MMAs read them.
  __device__ __forceinline__ void hold() {
#pragma unroll
    for (int k = 0; k < STEPS; ++k) {
      fence_registers(a[k]);
      if constexpr (C::PASSES == 3) fence_registers(small[k]);
    }
  }

  // Issues and commits the stage's MMAs into `part`, fresh sums; they run until a wait.
  __device__ __forceinline__ void issue(float (&part)[S::BN / 2], const float* b_stages,
                                        int stage) {
    const unsigned b = smem_address(b_stages + stage * S::B_STAGE);
    const unsigned small_b = smem_address(b_stages + (C::STAGES + stage) * S::B_STAGE);
    fence_registers(part);
    wgmma_fence();
#pragma unroll
    for (int k = 0; k < STEPS; ++k) {
      const unsigned long long b_big = wgmma_descriptor(b + 32 * k);
      if constexpr (C::PASSES == 3) {
        C::wgmma_rs(part, small[k], b_big, k > 0);
        C::wgmma_rs(part, a[k], wgmma_descriptor(small_b + 32 * k), 1);
        C::wgmma_rs(part, a[k], b_big, 1);
      } else {
        C::wgmma_rs(part, a[k], b_big, k > 0);
      }
    }
    wgmma_commit();
  }
};

// Waits for the issued MMAs and promotes their sums into `sums` (round to nearest).
template <int ACC>
__device__ __forceinline__ void promote_wgmma(float (&sums)[ACC], float (&part)[ACC]) {
  wgmma_wait<0>();
  fence_registers(part);
#pragma unroll
  for (int j = 0; j < ACC; ++j) sums[j] += part[j];
}

template <class C, class S, int K_TILES, class FillStage, class AfterTile>
__device__ __forceinline__ void conv_wgmma_k_loop(float (&acc)[1][C::MMA_TILES_N][4],
                                                  const FillStage& fill_stage,
                                                  const AfterTile& after_tile,
                                                  const float* a_stages, float* b_stages, int warp,
                                                  int lane) {
  constexpr int ACC = S::BN / 2;
  using Stage = WgmmaStage<C, S>;
  float(&sums)[ACC] = reinterpret_cast<float(&)[ACC]>(acc[0]);
#pragma unroll
  for (int j = 0; j < ACC; ++j) sums[j] = 0.f;
  fill_first_stages<C::STAGES, K_TILES>(fill_stage);
  int read_stage = 0, write_stage = C::STAGES - 1;
  float part[ACC];
  if constexpr (C::WGMMA == 1) {
    Stage stage;
    for (int k_tile = 0; k_tile < K_TILES; ++k_tile) {
      // Every warpgroup's MMAs have finished with the stage the fill overwrites: each waited.
      await_tile_and_fill_ahead<C::STAGES, K_TILES>(fill_stage, k_tile, write_stage);
      Stage::prepare_b(b_stages, read_stage);
      __syncthreads();
      stage.load_a(a_stages, read_stage, warp, lane);
      stage.issue(part, b_stages, read_stage);
      promote_wgmma(sums, part);
      after_tile(acc);
      read_stage = read_stage + 1 == C::STAGES ? 0 : read_stage + 1;
      write_stage = write_stage + 1 == C::STAGES ? 0 : write_stage + 1;
    }
  } else {
    // Stage k + 1 is prepared while the tensor cores multiply stage k: its B's pass and A's
    // fragments (into the other set of registers) between the issue and the wait.
    Stage even, odd;  // the fragments of even and odd k-tiles
    cp_async_wait<C::STAGES - 2>();
    __syncthreads();
    Stage::prepare_b(b_stages, 0);
    __syncthreads();
    even.load_a(a_stages, 0, warp, lane);
    auto tile = [&](Stage& now, Stage& next, int k_tile) {
      now.issue(part, b_stages, read_stage);
      now.hold();
      // The stage refilled is the one multiplied last: every warpgroup waited for it before
      // the barrier that ended the last k-tile.
      if (k_tile + C::STAGES - 1 < K_TILES) fill_stage(write_stage, k_tile + C::STAGES - 1);
      cp_async_commit();
      const int next_stage = read_stage + 1 == C::STAGES ? 0 : read_stage + 1;
      if (k_tile + 1 < K_TILES) {
        cp_async_wait<C::STAGES - 2>();
        __syncthreads();  // stage k + 1 has landed for every thread
        Stage::prepare_b(b_stages, next_stage);
        next.load_a(a_stages, next_stage, warp, lane);
      }
      promote_wgmma(sums, part);
      now.hold();
      after_tile(acc);
      // Stage k + 1 is prepared by every thread, and stage k read by every warpgroup.
      __syncthreads();
      read_stage = next_stage;
      write_stage = write_stage + 1 == C::STAGES ? 0 : write_stage + 1;
    };
    for (int k_tile = 0; k_tile < K_TILES; k_tile += 2) {
      tile(even, odd, k_tile);
      if (k_tile + 1 < K_TILES) tile(odd, even, k_tile + 1);
    }
  }
  cp_async_wait<0>();
}

template <class C, class Epilogue>
__device__ __forceinline__ void conv_mma(const float* __restrict__ x,
                                         const float* __restrict__ weight, float* __restrict__ out,
                                         const Epilogue& epilogue) {
  using S = ConvMmaShape<C>;
  using D = typename C::D;
  using H = typename C::H;
  using W = typename C::W;
  using Element = CellElement<C>;
  using Fragments = MmaFragmentsTf32<ConvMmaFragmentConfig<C>, S>;
  extern __shared__ float4 smem_vec[];
  // [STAGES][BK][BM + 8] then [STAGES][BN][BK + 4]; under WGMMA, from the first 1024-byte
  // boundary, B's stages (and their remainders) first, then A's.
  float* const smem = reinterpret_cast<float*>(smem_vec);
  const unsigned smem_base = smem_address(smem);
  float* const aligned = smem + (((smem_base + 1023u) & ~1023u) - smem_base) / 4;
  float* a_stages = C::WGMMA ? aligned + S::B_COPIES * C::STAGES * S::B_STAGE : smem;
  float* b_stages = C::WGMMA ? aligned : a_stages + C::STAGES * S::A_STAGE;
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
  // B: plain, [KG, CG·TAPS] from the group's first output channel; transposed, [CG][KG][TAPS]
  // from its first input channel.
  const float* w_group = weight + group * S::KG * S::CG * S::TAPS;

  // The fill walks the elements' k-tiles in order, each once.
  ConvGatherA<C> gather_a(m_block, tid);
  ConvGatherB<C> gather_b(tid);
  int fill_element = 0, filled_tiles = 0;  // of the element being filled
  Element filling(0);
  TapWalk fill_walk(filling, C::BK);
  gather_a.start(filling, fill_walk);
  if constexpr (C::TRANSPOSED) gather_b.start(filling, fill_walk);
  // A cell of one element keeps its taps' walk a constant: no register holds it.
  auto fill_stage = [&](int stage, int) {
    if constexpr (S::ELEMENTS > 1) {
      if (filled_tiles == filling.k_tiles()) {
        filling = Element(++fill_element);
        fill_walk = TapWalk(filling, C::BK);
        filled_tiles = 0;
        gather_a.start(filling, fill_walk);
        if constexpr (C::TRANSPOSED) gather_b.start(filling, fill_walk);
      }
    }
    gather_a.copy_and_advance(a_smem + stage * S::A_STAGE * 4, x_group, fill_walk);
    if constexpr (C::TRANSPOSED)
      gather_b.copy_and_advance(b_smem + stage * S::B_STAGE * 4, w_group, n_block, fill_walk);
    else if constexpr (C::WGMMA)
      fill_tile_placed<S::BN, C::BK, C::VEC_B, S::THREADS, C::GUARD_N, C::GUARD_K>(
          b_smem + stage * S::B_STAGE * 4, w_group, n_block, filled_tiles * C::BK, S::KG,
          S::CG * S::TAPS, tid, [](int n, int k) { return swizzled_b_offset(n, k); });
    else
      fill_tile<S::BN, C::BK, S::B_PITCH, C::VEC_B, S::THREADS, C::GUARD_N, C::GUARD_K>(
          b_smem + stage * S::B_STAGE * 4, w_group, n_block, filled_tiles * C::BK, S::KG,
          S::CG * S::TAPS, tid);
    ++filled_tiles;
  };

  // Each lane holds, per MMA tile, channels 2t and 2t + 1 of cells g and g + 8.
  const float initial = C::POOL == kPoolMax ? __int_as_float(0xff800000) : 0.0f;  // -inf
  float pooled[C::MMA_TILES_M][C::MMA_TILES_N][4];
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) pooled[mt][nt][i] = initial;

  // An element's sums, each value through the epilogue, then stored or folded into its cell's.
  auto fold_element = [&](const float(&acc)[C::MMA_TILES_M][C::MMA_TILES_N][4], const Element& e) {
#pragma unroll
    for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = m_block + warp_m0 + mt * 16 + g + 8 * half;
        if (C::GUARD_M && m >= S::GEMM_M) continue;
        const Cell<C> cell(m);
        if (!cell.holds(e)) continue;
        const int position =
            cell.b * C::K * S::OUT_PLANE + (cell.od(e) * H::OUT + cell.oh(e)) * W::OUT + cell.ow(e);
#pragma unroll
        for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const int n = n_block + warp_n0 + nt * 8 + 2 * t + c;
            if (C::GUARD_N && n >= S::KG) continue;
            const int channel = group * S::KG + n;
            const int index = position + channel * S::OUT_PLANE;
            float value = acc[mt][nt][2 * half + c];
            epilogue.apply(value, channel, index);
            if constexpr (C::POOL == kPoolNone)
              out[index] = value;
            else if constexpr (C::POOL == kPoolMax)
              pooled[mt][nt][2 * half + c] = fmaxf(pooled[mt][nt][2 * half + c], value);
            else
              pooled[mt][nt][2 * half + c] += value;
          }
      }
  };

  float acc[C::MMA_TILES_M][C::MMA_TILES_N][4];  // [TM, TN, 4] accumulator fragments
  // The k-loop: mma.sync's, or under WGMMA the warpgroups' (whose accumulators lie as these).
  if constexpr (S::ELEMENTS == 1) {
    // One element: its sums are folded once the loop is done, as a GEMM's are stored.
    if constexpr (C::WGMMA)
      conv_wgmma_k_loop<C, S, S::K_TILES>(acc, fill_stage, KeepSumming{}, a_stages, b_stages, warp,
                                          lane);
    else
      mma_k_loop_over<C, S, Fragments, S::K_TILES>(acc, fill_stage, KeepSumming{}, a_stages,
                                                   b_stages, warp_m0, warp_n0, lane);
    fold_element(acc, Element(0));
  } else {
    // Once an element's last k-tile is summed, its sums are folded and the next one's begin.
    int element = 0;
    int tiles_left = Element(0).k_tiles();
    auto finish_element = [&](float(&sums)[C::MMA_TILES_M][C::MMA_TILES_N][4]) {
      if (--tiles_left > 0) return;
      fold_element(sums, Element(element));
#pragma unroll
      for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
        for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
          for (int i = 0; i < 4; ++i) sums[mt][nt][i] = 0.f;
      if (++element < S::ELEMENTS) tiles_left = Element(element).k_tiles();
    };
    if constexpr (C::WGMMA)
      conv_wgmma_k_loop<C, S, S::K_TILES>(acc, fill_stage, finish_element, a_stages, b_stages, warp,
                                          lane);
    else
      mma_k_loop_over<C, S, Fragments, S::K_TILES>(acc, fill_stage, finish_element, a_stages,
                                                   b_stages, warp_m0, warp_n0, lane);
  }
  if constexpr (C::POOL == kPoolNone) return;

    // The cells' pooled values: the 8 lanes of one t store 8 consecutive cells of a channel.
#pragma unroll
  for (int mt = 0; mt < C::MMA_TILES_M; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int m = m_block + warp_m0 + mt * 16 + g + 8 * half;
      if (C::GUARD_M && m >= S::GEMM_M) continue;
      const Cell<C> cell(m);
      const float divisor = C::POOL == kPoolAvg ? static_cast<float>(cell_divisor<D>(cell.cd) *
                                                                     cell_divisor<H>(cell.ch) *
                                                                     cell_divisor<W>(cell.cw))
                                                : 1.0f;
#pragma unroll
      for (int nt = 0; nt < C::MMA_TILES_N; ++nt)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int n = n_block + warp_n0 + nt * 8 + 2 * t + c;
          if (C::GUARD_N && n >= S::KG) continue;
          const int channel = group * S::KG + n;
          const int index = (cell.b * C::K + channel) * S::CELL_PLANE + cell.index;
          float value = pooled[mt][nt][2 * half + c];
          if constexpr (C::POOL == kPoolAvg) value /= divisor;
          epilogue.apply_pooled(value, channel, index);
          out[index] = value;
        }
    }
}

}  // namespace ft
