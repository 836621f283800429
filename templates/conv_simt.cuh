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
#pragma once

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
