// fusetune generated kernel; regenerate with: fusetune gen "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)" --config ft_conv_simt_co8x8_t1x2x32_c1x2x1_ci16
// spec:   conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)
// config: ft_conv_simt_co8x8_t1x2x32_c1x2x1_ci16
// launch: grid (8192, 1, 1), block (64, 1, 1), 13824 bytes of dynamic shared memory

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

// ---- templates/conv_cells.cuh ----
// fusetune template: what the convolution families share of the cells that cover an output
// (generator/conv_cells.h): the pool kinds a cell folds its elements with, and an average
// window's divisor.

namespace ft {

constexpr int kPoolNone = 0;  // every element is stored
constexpr int kPoolMax = 1;
constexpr int kPoolAvg = 2;  // PyTorch's count_include_pad=True divisor
constexpr int kPoolGlobalAvg = 3;  // the mean over every position: blocks add up through split_k.cuh

// The cell's elements that fall inside the padded extent count in an average (count_include_pad).
template <class A>
__device__ __forceinline__ int cell_divisor(int c) {
  const int start = c * A::CELL_STRIDE - A::CELL_OFFSET;
  const int end = min(start + A::CELL, A::OUT + A::CELL_OFFSET);
  return end - start;
}

}  // namespace ft

// ---- templates/conv_simt.cuh ----
// fusetune template: direct convolution on CUDA cores (FFMA, exact fp32) with the epilogue and a
// pooling step fused: conv2d/3d and conv_transpose2d/3d in PyTorch's layouts (a 2-d convolution
// is a 3-d one with d = 1).
//
// The output is covered by *cells*:
//   - with a pool step, a cell is one pooling window and yields one pooled value;
//   - else, for a transposed convolution, a cell is STRIDE elements along each axis, one of each
//     output phase, so that which taps reach an element is known at compile time;
//   - else a cell is one element.
// A thread owns CELLS_D x CELLS_H x CELLS_W cells (interleaved: THREADS_x apart, so that the
// lanes of a warp read neighbouring inputs) and CO_THREAD output channels. For each element of
// its cells in turn it accumulates every input channel and tap in registers, applies the
// epilogue (where it holds all of a position's channels, a softmax over them too), and folds
// the value into the cell's pooled value, or stores it. A transposed convolution never
// multiplies by the zeros of its strided input: the taps an element's phase does not meet are
// never issued.
//
// The weights of the block's CO_BLOCK channels are staged in shared memory, CI_CHUNK input
// channels at a time, as [CI_CHUNK][TAPS][CO_BLOCK]: a thread reads its CO_THREAD channels of a
// tap as float4s that every lane of the warp shares. Inputs are read through the L1 cache.
//
// Tunables (Config):
//   CO_BLOCK                      output channels per block, within one group: 4..64
//   CO_THREAD                     output channels per thread: 4, 8, 16
//   THREADS_D, THREADS_H, THREADS_W   threads of one channel group along the cell grid
//   CELLS_D, CELLS_H, CELLS_W     cells per thread along each axis
//   CI_CHUNK                      input channels staged at a time; divides C / GROUPS
// With global average pooling the kernel takes a workspace (split_k.cuh): per (image, channel
// block), [SPATIAL_BOXES][THREADS] float4 partial sums, then one arrival counter each.
// Needs templates/conv_cells.cuh (pool kinds, cell divisors).
// Geometry (Config::D, Config::H, Config::W, one struct per axis): IN, OUT (the convolution's
// extents), KERNEL, STRIDE, PADDING, DILATION, and the cells' CELL (elements per cell),
// CELL_STRIDE, CELL_OFFSET (a cell c spans outputs c * CELL_STRIDE - CELL_OFFSET + [0, CELL))
// and CELLS (cells along the axis).

namespace ft {

// Which input a tap reads for element `e` of a cell, relative to the cell's input origin along
// one axis; `valid` is false where the tap meets an inserted zero of a transposed convolution.
struct TapOffset {
  bool valid;
  int offset;
};

template <class A, bool TRANSPOSED>
__host__ __device__ constexpr TapOffset tap_offset(int e, int tap) {
  if (TRANSPOSED) {
    // output o = i * STRIDE - PADDING + tap * DILATION, with o = cell origin + e - CELL_OFFSET
    const int numerator = e - A::CELL_OFFSET + A::PADDING - tap * A::DILATION;
    const int phase = ((numerator % A::STRIDE) + A::STRIDE) % A::STRIDE;
    return {phase == 0, phase == 0 ? numerator / A::STRIDE : 0};
  }
  return {true, (e - A::CELL_OFFSET) * A::STRIDE - A::PADDING + tap * A::DILATION};
}

// The input coordinate that offset 0 of cell `c` stands for.
template <class A, bool TRANSPOSED>
__device__ __forceinline__ int cell_input_origin(int c) {
  return TRANSPOSED ? c * (A::CELL_STRIDE / A::STRIDE) : c * A::CELL_STRIDE * A::STRIDE;
}

// Copies the weights of input channels [ci0, ci0 + CI_CHUNK) and the block's output channels
// [co0, co0 + CO_BLOCK) of group g to shared memory as [CI_CHUNK][TAPS][CO_BLOCK]; channels past
// the group's end are zero.
template <class Config>
__device__ __forceinline__ void stage_weights(float* smem, const float* __restrict__ weight, int g,
                                              int co0, int ci0, int thread) {
  using D = typename Config::D;
  using H = typename Config::H;
  using W = typename Config::W;
  constexpr int TAPS = D::KERNEL * H::KERNEL * W::KERNEL;
  constexpr int CG = Config::C / Config::GROUPS, KG = Config::K / Config::GROUPS;
  constexpr int COUNT = Config::CI_CHUNK * TAPS * Config::CO_BLOCK;
  for (int i = thread; i < COUNT; i += Config::THREADS) {
    const int co = i % Config::CO_BLOCK;  // co fastest: shared-memory stores without conflicts
    const int tap = (i / Config::CO_BLOCK) % TAPS;
    const int ci = ci0 + i / (Config::CO_BLOCK * TAPS);
    const int co_in_group = co0 + co;
    float value = 0.0f;
    if (co_in_group < KG) {
      // conv: [K][CG][taps]; transposed: [C][KG][taps]
      const int index = Config::TRANSPOSED ? ((g * CG + ci) * KG + co_in_group) * TAPS + tap
                                           : ((g * KG + co_in_group) * CG + ci) * TAPS + tap;
      value = __ldg(weight + index);
    }
    smem[i] = value;
  }
}

// A thread's cells: their coordinates on the cell grid and where their inputs start.
template <class Config>
struct ThreadCells {
  using D = typename Config::D;
  using H = typename Config::H;
  using W = typename Config::W;
  static constexpr int COUNT = Config::CELLS_D * Config::CELLS_H * Config::CELLS_W;

  int d[Config::CELLS_D], h[Config::CELLS_H], w[Config::CELLS_W];           // cell coordinates
  int in_d[Config::CELLS_D], in_h[Config::CELLS_H], in_w[Config::CELLS_W];  // input origins

  __device__ __forceinline__ ThreadCells(int box_d, int box_h, int box_w, int td, int th, int tw) {
#pragma unroll
    for (int i = 0; i < Config::CELLS_D; ++i) {
      d[i] = box_d * Config::THREADS_D * Config::CELLS_D + td + i * Config::THREADS_D;
      in_d[i] = cell_input_origin<D, Config::TRANSPOSED>(d[i]);
    }
#pragma unroll
    for (int i = 0; i < Config::CELLS_H; ++i) {
      h[i] = box_h * Config::THREADS_H * Config::CELLS_H + th + i * Config::THREADS_H;
      in_h[i] = cell_input_origin<H, Config::TRANSPOSED>(h[i]);
    }
#pragma unroll
    for (int i = 0; i < Config::CELLS_W; ++i) {
      w[i] = box_w * Config::THREADS_W * Config::CELLS_W + tw + i * Config::THREADS_W;
      in_w[i] = cell_input_origin<W, Config::TRANSPOSED>(w[i]);
    }
  }
};

// Global average pooling: the block's sums per channel (`sums`, this thread's CO_THREAD
// channels over its cells) meet those of the other blocks of the same image and channel block
// in the workspace; the last block to arrive adds them up in a fixed order and writes the mean.
// SPLITS blocks (the spatial boxes) share each of the TILES (image, channel block) pairs.
template <class Config, int SPLITS, int TILES, class Epilogue>
__device__ __forceinline__ void write_global_mean(float (&sums)[Config::CO_THREAD], float* smem,
                                                  float* __restrict__ workspace, int tile,
                                                  int split, int n, int channel0,
                                                  float* __restrict__ out, const Epilogue& epilogue,
                                                  int thread) {
  constexpr int CO_THREAD = Config::CO_THREAD;
  constexpr int WARPS_PER_GROUP = Config::THREADS_D * Config::THREADS_H * Config::THREADS_W / 32;
  constexpr int KG = Config::K / Config::GROUPS;
#pragma unroll
  for (int c = 0; c < CO_THREAD; ++c)
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2)
      sums[c] += __shfl_xor_sync(0xffffffffu, sums[c], offset);
  __syncthreads();  // the staged weights are no longer read: their memory holds the warps' sums
  const int warp = thread / 32;
  if (thread % 32 == 0)
#pragma unroll
    for (int c = 0; c < CO_THREAD; ++c) smem[warp * CO_THREAD + c] = sums[c];
  __syncthreads();
  // Thread t < CO_BLOCK / 4 gathers channels 4t .. 4t + 3 of the block.
  float block_sums[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  if (thread < Config::CO_BLOCK / 4)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int co = 4 * thread + e, group = co / CO_THREAD;
      for (int w = 0; w < WARPS_PER_GROUP; ++w)
        block_sums[e] += smem[(group * WARPS_PER_GROUP + w) * CO_THREAD + co % CO_THREAD];
    }
  __shared__ unsigned flag;
  constexpr long long PARTIALS = 4ll * SPLITS * Config::THREADS;  // floats per tile
  float* partials = workspace + PARTIALS * tile;
  unsigned* counter = reinterpret_cast<unsigned*>(workspace + PARTIALS * TILES) + tile;
  const bool last = reduce_split_k<SPLITS, 4, Config::THREADS>(
      block_sums, partials, counter, smem_address(&flag), split, thread, [] { __syncthreads(); });
  if (!last || thread >= Config::CO_BLOCK / 4) return;
  constexpr float POSITIONS = Config::D::OUT * Config::H::OUT * Config::W::OUT;
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const int co = 4 * thread + e;
    if (channel0 % KG + co >= KG) continue;
    const int channel = channel0 + co;
    const int index = n * Config::K + channel;
    float value = block_sums[e] / POSITIONS;
    epilogue.apply_pooled(value, channel, index);
    out[index] = value;
  }
}

template <class Config, class Epilogue>
__device__ __forceinline__ void conv_simt(const float* __restrict__ x,
                                          const float* __restrict__ weight, float* __restrict__ out,
                                          float* __restrict__ workspace, const Epilogue& epilogue) {
  using D = typename Config::D;
  using H = typename Config::H;
  using W = typename Config::W;
  constexpr bool TRANSPOSED = Config::TRANSPOSED;
  constexpr int TAPS = D::KERNEL * H::KERNEL * W::KERNEL;
  constexpr int CG = Config::C / Config::GROUPS, KG = Config::K / Config::GROUPS;
  constexpr int CO_THREAD = Config::CO_THREAD;
  constexpr int SPATIAL = Config::THREADS_D * Config::THREADS_H * Config::THREADS_W;
  constexpr int CO_BLOCKS_PER_GROUP = (KG + Config::CO_BLOCK - 1) / Config::CO_BLOCK;
  constexpr int BOXES_D =
      (D::CELLS + Config::THREADS_D * Config::CELLS_D - 1) / (Config::THREADS_D * Config::CELLS_D);
  constexpr int BOXES_H =
      (H::CELLS + Config::THREADS_H * Config::CELLS_H - 1) / (Config::THREADS_H * Config::CELLS_H);
  constexpr int BOXES_W =
      (W::CELLS + Config::THREADS_W * Config::CELLS_W - 1) / (Config::THREADS_W * Config::CELLS_W);
  constexpr int CELLS = Config::CELLS_D * Config::CELLS_H * Config::CELLS_W;
  constexpr int IN_PLANE = D::IN * H::IN * W::IN;
  constexpr int OUT_PLANE = D::OUT * H::OUT * W::OUT;
  constexpr int POOLED_PLANE = D::CELLS * H::CELLS * W::CELLS;
  static_assert(Config::THREADS == SPATIAL * (Config::CO_BLOCK / CO_THREAD),
                "a block is its spatial threads times its channel groups");
  static_assert(SPATIAL % 32 == 0, "a warp's lanes share their output channels");
  static_assert(Config::CO_BLOCK % CO_THREAD == 0 && CO_THREAD % 4 == 0,
                "channels are read from shared memory four at a time");
  static_assert(CG % Config::CI_CHUNK == 0, "input channels are staged in whole chunks");
  static_assert(!TRANSPOSED || (D::CELL_STRIDE % D::STRIDE == 0 &&
                                H::CELL_STRIDE % H::STRIDE == 0 && W::CELL_STRIDE % W::STRIDE == 0),
                "cells of a transposed convolution start on the same output phase");

  extern __shared__ float4 shared_words[];
  float* w_smem = reinterpret_cast<float*>(shared_words);  // [CI_CHUNK][TAPS][CO_BLOCK]

  // Blocks: output-channel blocks fastest, so that blocks reading the same inputs run together.
  int block = blockIdx.x;
  const int co_block = block % (Config::GROUPS * CO_BLOCKS_PER_GROUP);
  block /= Config::GROUPS * CO_BLOCKS_PER_GROUP;
  const int box_w = block % BOXES_W;
  block /= BOXES_W;
  const int box_h = block % BOXES_H;
  block /= BOXES_H;
  const int box_d = block % BOXES_D;
  const int n = block / BOXES_D;
  const int g = co_block / CO_BLOCKS_PER_GROUP;
  const int co0 = (co_block % CO_BLOCKS_PER_GROUP) * Config::CO_BLOCK;  // within the group

  const int thread = threadIdx.x;
  const int co_group = thread / SPATIAL;  // the same for every lane of a warp
  const int spatial = thread % SPATIAL;
  const int tw = spatial % Config::THREADS_W;
  const int th = spatial / Config::THREADS_W % Config::THREADS_H;
  const int td = spatial / (Config::THREADS_W * Config::THREADS_H);
  const ThreadCells<Config> cells(box_d, box_h, box_w, td, th, tw);
  const int co_first = co0 + co_group * CO_THREAD;  // the thread's first channel in the group

  const float* x_group = x + (n * Config::C + g * CG) * IN_PLANE;
  constexpr int CHUNKS = CG / Config::CI_CHUNK;
  if constexpr (CHUNKS == 1) {
    stage_weights<Config>(w_smem, weight, g, co0, 0, thread);
    __syncthreads();
  }

  const float initial = Config::POOL == kPoolMax ? __int_as_float(0xff800000) : 0.0f;  // -inf
  float pooled[CELLS][CO_THREAD];
#pragma unroll
  for (int j = 0; j < CELLS; ++j)
#pragma unroll
    for (int c = 0; c < CO_THREAD; ++c) pooled[j][c] = initial;

  // A transposed convolution unrolls the elements of a cell (each has its own taps); a plain
  // one loops over them, which keeps its code short.
  constexpr int UNROLL_ELEMENTS = TRANSPOSED ? 64 : 1;
#pragma unroll UNROLL_ELEMENTS
  for (int ed = 0; ed < D::CELL; ++ed)
#pragma unroll UNROLL_ELEMENTS
    for (int eh = 0; eh < H::CELL; ++eh)
#pragma unroll UNROLL_ELEMENTS
      for (int ew = 0; ew < W::CELL; ++ew) {
        float acc[CELLS][CO_THREAD];
#pragma unroll
        for (int j = 0; j < CELLS; ++j)
#pragma unroll
          for (int c = 0; c < CO_THREAD; ++c) acc[j][c] = 0.0f;

        for (int chunk = 0; chunk < CHUNKS; ++chunk) {
          if constexpr (CHUNKS > 1) {
            __syncthreads();
            stage_weights<Config>(w_smem, weight, g, co0, chunk * Config::CI_CHUNK, thread);
            __syncthreads();
          }
#pragma unroll 1
          for (int ci = 0; ci < Config::CI_CHUNK; ++ci) {
            const float* x_channel = x_group + (chunk * Config::CI_CHUNK + ci) * IN_PLANE;
            const float* w_channel = w_smem + ci * TAPS * Config::CO_BLOCK + co_group * CO_THREAD;
#pragma unroll
            for (int kd = 0; kd < D::KERNEL; ++kd)
#pragma unroll
              for (int kh = 0; kh < H::KERNEL; ++kh)
#pragma unroll
                for (int kw = 0; kw < W::KERNEL; ++kw) {
                  // Compile-time constants once the loops are unrolled.
                  const TapOffset od = tap_offset<D, TRANSPOSED>(ed, kd);
                  const TapOffset oh = tap_offset<H, TRANSPOSED>(eh, kh);
                  const TapOffset ow = tap_offset<W, TRANSPOSED>(ew, kw);
                  if (!(od.valid && oh.valid && ow.valid)) continue;
                  const int tap = (kd * H::KERNEL + kh) * W::KERNEL + kw;
                  float wv[CO_THREAD];
#pragma unroll
                  for (int c = 0; c < CO_THREAD; c += 4) {
                    const float4 q =
                        *reinterpret_cast<const float4*>(w_channel + tap * Config::CO_BLOCK + c);
                    wv[c] = q.x, wv[c + 1] = q.y, wv[c + 2] = q.z, wv[c + 3] = q.w;
                  }
#pragma unroll
                  for (int i = 0; i < Config::CELLS_D; ++i)
#pragma unroll
                    for (int k = 0; k < Config::CELLS_H; ++k)
#pragma unroll
                      for (int l = 0; l < Config::CELLS_W; ++l) {
                        const int id = cells.in_d[i] + od.offset;
                        const int ih = cells.in_h[k] + oh.offset;
                        const int iw = cells.in_w[l] + ow.offset;
                        const bool inside = static_cast<unsigned>(id) < D::IN &&
                                            static_cast<unsigned>(ih) < H::IN &&
                                            static_cast<unsigned>(iw) < W::IN;
                        const float v =
                            inside ? __ldg(x_channel + (id * H::IN + ih) * W::IN + iw) : 0.0f;
                        const int j = (i * Config::CELLS_H + k) * Config::CELLS_W + l;
#pragma unroll
                        for (int c = 0; c < CO_THREAD; ++c) acc[j][c] = fmaf(v, wv[c], acc[j][c]);
                      }
                }
          }
        }

        // The element's value through the epilogue, then into its cell.
#pragma unroll
        for (int i = 0; i < Config::CELLS_D; ++i)
#pragma unroll
          for (int k = 0; k < Config::CELLS_H; ++k)
#pragma unroll
            for (int l = 0; l < Config::CELLS_W; ++l) {
              const int od = cells.d[i] * D::CELL_STRIDE - D::CELL_OFFSET + ed;
              const int oh = cells.h[k] * H::CELL_STRIDE - H::CELL_OFFSET + eh;
              const int ow = cells.w[l] * W::CELL_STRIDE - W::CELL_OFFSET + ew;
              const bool inside = static_cast<unsigned>(od) < D::OUT &&
                                  static_cast<unsigned>(oh) < H::OUT &&
                                  static_cast<unsigned>(ow) < W::OUT;
              const bool cell_inside =
                  cells.d[i] < D::CELLS && cells.h[k] < H::CELLS && cells.w[l] < W::CELLS;
              if (!inside || !cell_inside) continue;
              const int j = (i * Config::CELLS_H + k) * Config::CELLS_W + l;
              // The element in each of the thread's channels through the epilogue: its
              // elementwise ops, then (where the thread holds them all) a normalization over the
              // channels.
              const int channel0 = g * KG + co_first;
              const int index0 =
                  (n * Config::K + channel0) * OUT_PLANE + (od * H::OUT + oh) * W::OUT + ow;
              float values[CO_THREAD];
#pragma unroll
              for (int c = 0; c < CO_THREAD; ++c) {
                values[c] = acc[j][c];
                if (co_first + c < KG)
                  epilogue.apply(values[c], channel0 + c, index0 + c * OUT_PLANE);
              }
              epilogue.apply_channels(values, channel0, index0, OUT_PLANE);
#pragma unroll
              for (int c = 0; c < CO_THREAD; ++c) {
                if (co_first + c >= KG) continue;
                const int index = index0 + c * OUT_PLANE;
                const float value = values[c];
                if constexpr (Config::POOL == kPoolNone) {
                  out[index] = value;
                } else if constexpr (Config::POOL == kPoolMax) {
                  pooled[j][c] = fmaxf(pooled[j][c], value);
                } else {
                  pooled[j][c] += value;
                }
              }
            }
      }

  if constexpr (Config::POOL == kPoolGlobalAvg) {
    float sums[CO_THREAD];
#pragma unroll
    for (int c = 0; c < CO_THREAD; ++c) {
      sums[c] = 0.0f;
#pragma unroll
      for (int j = 0; j < CELLS; ++j) sums[c] += pooled[j][c];
    }
    const int tile = n * Config::GROUPS * CO_BLOCKS_PER_GROUP + co_block;
    const int split = (box_d * BOXES_H + box_h) * BOXES_W + box_w;
    constexpr int SPLITS = BOXES_D * BOXES_H * BOXES_W;
    constexpr int TILES = Config::N * Config::GROUPS * CO_BLOCKS_PER_GROUP;
    write_global_mean<Config, SPLITS, TILES>(sums, w_smem, workspace, tile, split, n, g * KG + co0,
                                             out, epilogue, thread);
  } else if constexpr (Config::POOL != kPoolNone) {
#pragma unroll
    for (int i = 0; i < Config::CELLS_D; ++i)
#pragma unroll
      for (int k = 0; k < Config::CELLS_H; ++k)
#pragma unroll
        for (int l = 0; l < Config::CELLS_W; ++l) {
          if (cells.d[i] >= D::CELLS || cells.h[k] >= H::CELLS || cells.w[l] >= W::CELLS) continue;
          const int j = (i * Config::CELLS_H + k) * Config::CELLS_W + l;
          const float divisor =
              Config::POOL == kPoolAvg
                  ? static_cast<float>(cell_divisor<D>(cells.d[i]) * cell_divisor<H>(cells.h[k]) *
                                       cell_divisor<W>(cells.w[l]))
                  : 1.0f;
#pragma unroll
          for (int c = 0; c < CO_THREAD; ++c) {
            if (co_first + c >= KG) continue;
            const int channel = g * KG + co_first + c;
            const int index = (n * Config::K + channel) * POOLED_PLANE +
                              (cells.d[i] * H::CELLS + cells.h[k]) * W::CELLS + cells.w[l];
            float value = Config::POOL == kPoolAvg ? pooled[j][c] / divisor : pooled[j][c];
            epilogue.apply_pooled(value, channel, index);
            out[index] = value;
          }
        }
  }
}

}  // namespace ft

// ---- generated ----
namespace {

struct Config {
  static constexpr int N = 16, C = 16, K = 32, GROUPS = 1;
  static constexpr bool TRANSPOSED = true;
  static constexpr int POOL = ft::kPoolMax;
  struct D {
    static constexpr int IN = 16, OUT = 32;
    static constexpr int KERNEL = 3, STRIDE = 2, PADDING = 1, DILATION = 1;
    static constexpr int CELL = 2, CELL_STRIDE = 2, CELL_OFFSET = 0, CELLS = 16;
  };
  struct H {
    static constexpr int IN = 32, OUT = 64;
    static constexpr int KERNEL = 3, STRIDE = 2, PADDING = 1, DILATION = 1;
    static constexpr int CELL = 2, CELL_STRIDE = 2, CELL_OFFSET = 0, CELLS = 32;
  };
  struct W {
    static constexpr int IN = 32, OUT = 64;
    static constexpr int KERNEL = 3, STRIDE = 2, PADDING = 1, DILATION = 1;
    static constexpr int CELL = 2, CELL_STRIDE = 2, CELL_OFFSET = 0, CELLS = 32;
  };
  static constexpr int CO_BLOCK = 8, CO_THREAD = 8, CI_CHUNK = 16;
  static constexpr int THREADS_D = 1, THREADS_H = 2, THREADS_W = 32;
  static constexpr int CELLS_D = 1, CELLS_H = 2, CELLS_W = 1;
  static constexpr int THREADS = 64;
};

struct Epilogue {
  const ft::LaunchArgs& args;

  // The ops before the pool step (all of them without one), on one convolution output.
  __device__ __forceinline__ void apply(float& value, int channel, [[maybe_unused]] long long index) const {
    const float s0 = args.scalars[0];
    const float s1 = args.scalars[1];
    {
      float x = value;
      x = x + __ldg(args.tensors[2] + channel);  // bias
      x = x < 0.f ? x * s0 : x;  // leaky_relu(0.2)
      x = x * __ldg(args.tensors[3] + channel);  // mul(channel)
      x = x < 0.f ? x * s1 : x;  // leaky_relu(0.2)
      value = x;
    }
  }
  // A normalization over a position's channels, then the ops after it, where the thread holds
  // every channel.
  template <int CO>
  __device__ __forceinline__ void apply_channels(float (&)[CO], int, int, int) const {}
  // The ops after the pool step, on one pooled value.
  __device__ __forceinline__ void apply_pooled(float& value, [[maybe_unused]] int channel, [[maybe_unused]] long long index) const {
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(64, 1)
ft_conv_simt_co8x8_t1x2x32_c1x2x1_ci16(const __grid_constant__ ft::LaunchArgs args) {
  ft::conv_simt<Config>(args.tensors[0], args.tensors[1], args.out, nullptr, Epilogue{args});
}
