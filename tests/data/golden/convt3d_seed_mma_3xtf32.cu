// fusetune generated kernel; regenerate with: fusetune gen "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)" --config ft_conv_mma_128x32x16_w4x1_s3_3xtf32_vb1
// spec:   conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)
// config: ft_conv_mma_128x32x16_w4x1_s3_3xtf32_vb1
// launch: grid (2048, 1, 1), block (128, 1, 1), 33792 bytes of dynamic shared memory

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

// ---- templates/hopper.cuh ----
// Hopper (sm_90a) building blocks as inline PTX: mbarriers, TMA tile loads, warpgroup MMA
// (wgmma) with its shared-memory descriptors, and register reallocation between warpgroups.
//
// wgmma m64nNk8 with TF32 operands reads A and B from shared memory in K-major layout. The
// fp32 accumulator fragment of warp w (of the 4 in the warpgroup), lane l, g = l / 4,
// t = l % 4, holds for each 8-column chunk j: d[4j] (16w + g, 8j + 2t), d[4j + 1] (.., + 1),
// d[4j + 2] (16w + g + 8, 8j + 2t), d[4j + 3] (.., + 1) — the mma.m16n8 layout repeated.

namespace ft {

// A CUtensorMap as the host encodes it (128 bytes, 64-byte aligned); the kernel only passes
// its address to the copy engine.
struct alignas(64) TensorMap {
  unsigned long long opaque[16];
};

// ---- mbarriers (shared-memory addresses, see smem_address) ----

__device__ __forceinline__ void mbarrier_init(unsigned bar, unsigned arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(arrivals));
}

// Arrives and announces that `bytes` more will land through the copy engine.
__device__ __forceinline__ void mbarrier_expect_bytes(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}

__device__ __forceinline__ void mbarrier_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

// Waits until the phase of parity `parity` has completed. A barrier starts in phase 0, so a
// wait for parity 1 on a fresh barrier returns at once (the "previous" phase counts as done).
__device__ __forceinline__ void mbarrier_wait(unsigned bar, unsigned parity) {
  unsigned done = 0;
  do {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        " selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}

// ---- thread-block clusters ----

__device__ __forceinline__ unsigned cluster_rank() {
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(rank));
  return rank;
}

// Arrives on the barrier at this block's shared address `bar`, in the cluster's block `rank`.
// The arrive releases at block scope (the default): it only says that this block's reads of a
// stage are done. A cluster-scope release fences every earlier access first, and made each
// k-tile wait so long that clusters ran the seed 2.5x slower on the H100 (bench/RESULTS.md).
__device__ __forceinline__ void mbarrier_arrive_in_block(unsigned bar, unsigned rank) {
  asm volatile(
      "{\n .reg .b32 remote;\n mapa.shared::cluster.u32 remote, %0, %1;\n"
      " mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n" ::"r"(bar),
      "r"(rank)
      : "memory");
}

// Every thread of every block of the cluster arrives, then waits for all the others.
__device__ __forceinline__ void cluster_sync() {
  asm volatile(
      "barrier.cluster.arrive.release;\n"
      "barrier.cluster.wait.acquire;\n" ::
          : "memory");
}

// ---- TMA ----

// Copies the box at (inner, outer) of the tensor `map` into shared memory at `dst`; the
// barrier `bar` counts its bytes. Out-of-range parts of the box arrive as zeros.
__device__ __forceinline__ void tma_load_2d(unsigned dst, const TensorMap* map, unsigned bar,
                                            int inner, int outer) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%3, %4}], [%2];\n" ::"r"(dst),
      "l"(map), "r"(bar), "r"(inner), "r"(outer)
      : "memory");
}

// The same box, landing at `dst` and counted by the barrier at `bar` in every block of the
// cluster that `blocks` (a bit per rank) names.
__device__ __forceinline__ void tma_load_2d_multicast(unsigned dst, const TensorMap* map,
                                                      unsigned bar, int inner, int outer,
                                                      unsigned short blocks) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
      ".multicast::cluster [%0], [%1, {%3, %4}], [%2], %5;\n" ::"r"(dst),
      "l"(map), "r"(bar), "r"(inner), "r"(outer), "h"(blocks)
      : "memory");
}

// Copies the box at (inner, outer) of the tensor `map` from shared memory at `src` (the layout
// tma_load_2d writes) to global memory, skipping the parts outside the tensor. Asynchronous:
// tma_store_commit() closes a group of them, tma_store_wait_read() / tma_store_wait() wait.
__device__ __forceinline__ void tma_store_2d(const TensorMap* map, unsigned src, int inner,
                                             int outer) {
  asm volatile(
      "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%2, %3}], [%1];\n" ::"l"(map),
      "r"(src), "r"(inner), "r"(outer)
      : "memory");
}
__device__ __forceinline__ void tma_store_commit() {
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}
// Until every committed store has read its shared memory, which may then be written again.
__device__ __forceinline__ void tma_store_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
}
// Until every committed store has been written to global memory.
__device__ __forceinline__ void tma_store_wait() {
  asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void tma_prefetch_descriptor(const TensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
}

// Makes this thread's ordinary shared-memory writes visible to the copy engine and the tensor
// cores (the async proxy); a barrier must still follow.
__device__ __forceinline__ void fence_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// bar.sync on a named barrier for `threads` threads (id 0 is __syncthreads').
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// ---- wgmma ----

// Descriptor of a K-major operand whose rows are ROW_BYTES (128 or 64) stored with the swizzle of
// that span the TMA writes; 8-row groups lie 8 ROW_BYTES apart. The tile must start aligned to
// such a group; stepping along K by 32 bytes adds 32 to `address`.
template <int ROW_BYTES>
__device__ __forceinline__ unsigned long long wgmma_descriptor_of_rows(unsigned address) {
  static_assert(ROW_BYTES == 128 || ROW_BYTES == 64, "the 128- or 64-byte swizzle");
  constexpr unsigned long long layout = ROW_BYTES == 128 ? 1 : 2;
  constexpr unsigned long long group_stride = 8 * ROW_BYTES / 16;
  return ((address & 0x3FFFFu) >> 4) | (1ull << 16) | (group_stride << 32) | (layout << 62);
}

// Rows of 32 floats (128 bytes): stepping along K by 8 floats adds 32 bytes to `address`.
__device__ __forceinline__ unsigned long long wgmma_descriptor(unsigned address) {
  return wgmma_descriptor_of_rows<128>(address);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int PENDING>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(PENDING) : "memory");
}

// Keeps the compiler from moving accesses of accumulator registers across wgmma fences and
// waits: the asynchronous instructions own them in between.
template <int N>
__device__ __forceinline__ void fence_registers(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
template <int N>
__device__ __forceinline__ void fence_registers(int (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(d[i])::"memory");
}

// ---- register reallocation between warpgroups ----

template <int REGISTERS>
__device__ __forceinline__ void release_registers() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(REGISTERS));
}
template <int REGISTERS>
__device__ __forceinline__ void claim_registers() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(REGISTERS));
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

// ---- templates/conv_mma.cuh ----
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
  static constexpr int WARPS_M = 4, WARPS_N = 1;
  static constexpr int MMA_TILES_M = 2, MMA_TILES_N = 4;
  static constexpr int BK = 16, STAGES = 3;
  static constexpr int PASSES = 3;  // 3xtf32
  static constexpr int VEC_B = 1;
  static constexpr int WGMMA = 0;
  static constexpr bool GUARD_M = false, GUARD_N = false, GUARD_K = false;
  static constexpr int SMEM_BYTES = 33792;  // what the launch gives
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

extern "C" __global__ void __launch_bounds__(128, 1)
ft_conv_mma_128x32x16_w4x1_s3_3xtf32_vb1(const __grid_constant__ ft::LaunchArgs args) {
  ft::conv_mma<Config>(args.tensors[0], args.tensors[1], args.out, Epilogue{args});
}
