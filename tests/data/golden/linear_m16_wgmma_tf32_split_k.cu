// fusetune generated kernel; regenerate with: fusetune gen "linear(m=16, n=1024, k=8192) -> bias -> relu" --config ft_gemm_wgmma_64x128_c1_s4_tf32_k16_p128_gm
// spec:   linear(m=16, n=1024, k=8192) -> bias -> relu
// config: ft_gemm_wgmma_64x128_c1_s4_tf32_k16_p128_gm
// launch: grid (128, 1, 1), block (256, 1, 1), 99432 bytes of dynamic shared memory

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

// ---- templates/gemm_wgmma.cuh ----
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

// ---- generated ----
namespace {

struct Config {
  using Element = float;
  static constexpr int M = 16, N = 1024, K = 8192;
  static constexpr bool TRANSPOSED_A = false, TRANSPOSED_B = false;
  static constexpr int BM = 64, BN = 128, STAGES = 4, CONSUMERS = 1, CLUSTER = 1;
  static constexpr int PASSES = 1;  // tf32
  static constexpr int SPLITS = 16;
  static constexpr bool TMA_STORE = false;
  static constexpr bool GUARD_M = true, GUARD_N = false;
  static constexpr int SMEM_BYTES = 99432;  // what the launch gives
  static __device__ __forceinline__ void wgmma_ss(float (&d)[64], unsigned long long a,
                                                  unsigned long long b, int scale_d) {
    asm volatile(
        "{\n .reg .pred p;\n setp.ne.b32 p, %66, 0;\n"
        " wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(a), "l"(b), "r"(scale_d));
  }
};

struct Epilogue {
  const ft::LaunchArgs& args;

  template <int W>
  __device__ __forceinline__ void apply(float (&v)[W], [[maybe_unused]] int m, int n) const {
    float t2[W];
    ft::load_floats<W>(t2, args.tensors[2] + n);
#pragma unroll
    for (int j = 0; j < W; ++j) {
      float x = v[j];
      x = x + t2[j];  // bias
      x = x < 0.f ? 0.f : x;  // relu
      v[j] = x;
    }
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(256, 1)
ft_gemm_wgmma_64x128_c1_s4_tf32_k16_p128_gm(const __grid_constant__ ft::LaunchArgs args, const __grid_constant__ ft::TensorMap map0, const __grid_constant__ ft::TensorMap map1, float* __restrict__ workspace) {
  ft::gemm_wgmma<Config>(&map0, &map1, nullptr, args.out, workspace, Epilogue{args});
}
