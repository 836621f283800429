// fusetune generated kernel; regenerate with: fusetune gen "linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)" --config ft_gemm_int8x_128x128_d3t4_c2_s2_p132
// spec:   linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)
// config: ft_gemm_int8x_128x128_d3t4_c2_s2_p132
// launch: grid (132, 1, 1), block (384, 1, 1), 197664 bytes of dynamic shared memory

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

// ---- templates/int8_slices.cuh ----
// fusetune template: fp32 rows split into int8 digit planes for GEMMs emulated on int8 tensor
// cores (the arithmetic and its host model: generator/int8_slices.h). One block per row: the
// row's exponent e (frexp's, of its largest finite magnitude; 0 for a row of zeros), then each
// value v as digits q_1 .. q_SLICES of v 2^-e, the first in 127ths, every later one in 255ths
// of the one before, each rounded to nearest within [-127, 127]; a non-finite value's digits
// are zero. The arithmetic is fp64 and exact, digit for digit the host model's.
//
// MEASURE: each row's statistics too, what the scheme is chosen from (the host model's
// SliceStatistics, one row's share): [0] the sum of squares of its finite values, [1 + s] of
// digit s + 1 in place (2^e digit_place(s + 1) q), [1 + MAX_SLICES + s] of what s + 1 digits
// leave, [1 + 2 MAX_SLICES] the count of non-finite values. kMeasureEvery: for every digit
// count up to MAX_SLICES, whatever SLICES is (a digit does not depend on how many follow it);
// kMeasureDigits: for the SLICES digits written alone (the guard's), at a fraction of the cost.
//
// Config: ROWS, LENGTH (values per row), PITCH (bytes between digit rows: LENGTH padded to a
// multiple of 16, the pad written zero), SLICES, THREADS, MEASURE.
// Out: digits [SLICES][ROWS][PITCH], exponents [ROWS], statistics [ROWS][STATISTICS].
// slice_rows takes an operand stored by rows ([ROWS, LENGTH]: x [M, K], a linear layer's weight
// [N, K]), one block per row; slice_columns one stored the other way ([LENGTH, ROWS]: a
// matmul's B [K, N], A [K, M] under transpose_a), COLUMN_BLOCK rows per block, its digits and
// statistics the same as of its transposed copy.

namespace ft {

constexpr double kFirstDigitBase = 127.0;  // the first digit's unit: 2^e / 127
constexpr double kDigitBase = 255.0;       // each later digit's: the one before's / 255
constexpr int kMaxSlices = 7;
constexpr int kSliceStatistics = 2 + 2 * kMaxSlices;
constexpr int kMeasureNothing = 0, kMeasureEvery = 1, kMeasureDigits = 2;

// 2^n, exactly, for n in [-1022, 1023]: scaling by it is exact where ldexp's general case
// would cost a call.
__device__ __forceinline__ double power_of_two(int n) {
  return __longlong_as_double(static_cast<long long>(1023 + n) << 52);
}

// The unit of digit s (1-based) in a row of exponent 0, 1 / (127 255^(s-1)), and of the digit
// pairs s + t = d, 1 / (127^2 255^(d-2)): rounded as the host model's digit_place and
// pair_place round them.
__host__ __device__ constexpr double digit_place(int s) {
  double place = 1.0 / kFirstDigitBase;
  for (int i = 1; i < s; ++i) place /= kDigitBase;
  return place;
}
__host__ __device__ constexpr double pair_place(int d) {
  double place = 1.0 / (kFirstDigitBase * kFirstDigitBase);
  for (int i = 2; i < d; ++i) place /= kDigitBase;
  return place;
}

// digit_place(s) for s = 0 .. kMaxSlices, for tables the compiler evaluates: a place found at
// run time would cost fp64 divisions per value.
struct DigitPlaces {
  double of[kMaxSlices + 1];
};
__host__ __device__ constexpr DigitPlaces digit_places() {
  DigitPlaces places{};
  for (int s = 1; s <= kMaxSlices; ++s) places.of[s] = digit_place(s);
  return places;
}

// A digit from a value in its units: rounded to nearest, held in [-127, 127] (only +-127.5
// itself is clamped, leaving half a unit as any other rounding does).
__device__ __forceinline__ double balanced_digit(double shifted) {
  return fmin(fmax(rint(shifted), -127.0), 127.0);
}

// `v` of every thread of the block combined, in thread 0 (`shared`: THREADS / 32 values).
template <int THREADS, class T, class Combine>
__device__ __forceinline__ T block_combined(T v, T* shared, const Combine& combine) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2)
    v = combine(v, __shfl_xor_sync(0xffffffffu, v, offset));
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) shared[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < THREADS / 32; ++w) v = combine(v, shared[w]);
  __syncthreads();  // `shared` is free for the next combine
  return v;
}

// A thread's share of its row's statistics in the row's own units, placed once at the end
// (placed_statistics): squares of the values scaled by 2^-e, the digits' squares as integers
// (exact, and off the fp64 pipe), each remainder in its digit's units. The slicing is bound by
// fp64 arithmetic nearly as much as by memory; placing each term as it came cost three fp64
// operations a digit.
struct RowShare {
  double squares = 0.0;
  int digit_squares[kMaxSlices] = {};
  double remainder_squares[kMaxSlices] = {};
  double non_finite = 0.0;
};

// One value's digits into `digit` (the row's exponent `e`, `unscale` 2^-e), and its part of the
// row's statistics into `share` where `measured` (a value of the row, not its pad). Each shift
// is exact: a value keeps its lowest bit while its magnitude stays below 128.
template <class C>
__device__ __forceinline__ void slice_value(float v, bool measured, double unscale, RowShare& share,
                                            signed char* digit) {
  const bool finite = isfinite(v);
  double scaled = finite ? static_cast<double>(v) * unscale : 0.0;  // exact
  measured = measured && C::MEASURE != kMeasureNothing;
  if (measured && !finite) share.non_finite += 1.0;
  if (measured) share.squares += scaled * scaled;
  constexpr int DIGITS = C::MEASURE == kMeasureEvery ? kMaxSlices : C::SLICES;
#pragma unroll
  for (int s = 0; s < DIGITS; ++s) {
    const double shifted = scaled * (s == 0 ? kFirstDigitBase : kDigitBase);  // exact
    const double d = balanced_digit(shifted);
    const int q = static_cast<int>(d);
    if (s < C::SLICES) digit[s] = static_cast<signed char>(q);
    scaled = shifted - d;  // exact: the part below this digit, at most half of it
    if (measured) {
      share.digit_squares[s] += q * q;
      if (C::MEASURE == kMeasureEvery || s + 1 == C::SLICES)
        share.remainder_squares[s] += scaled * scaled;
    }
  }
}

// A thread's share of its row's statistics (the host model's units, see the file comment) in
// `sums`, placed by the row's exponent e.
template <class C>
__device__ __forceinline__ void placed_statistics(const RowShare& share, int e, double* sums) {
  constexpr int DIGITS = C::MEASURE == kMeasureEvery ? kMaxSlices : C::SLICES;
  constexpr DigitPlaces kPlaces = digit_places();
  const double scale = power_of_two(2 * e);
  sums[0] = share.squares * scale;
#pragma unroll
  for (int s = 0; s < DIGITS; ++s) {
    const double place = kPlaces.of[s + 1] * kPlaces.of[s + 1] * scale;
    sums[1 + s] = static_cast<double>(share.digit_squares[s]) * place;
    sums[1 + kMaxSlices + s] = share.remainder_squares[s] * place;
  }
  sums[1 + 2 * kMaxSlices] = share.non_finite;
}

// The row's exponent from the largest finite magnitude each thread saw, written to
// `exponents[row]` and returned to every thread.
template <class C>
__device__ __forceinline__ int row_exponent(float largest, long long row, int* exponents) {
  __shared__ float largest_of[C::THREADS / 32];
  __shared__ int exponent;
  largest =
      block_combined<C::THREADS>(largest, largest_of, [](float a, float b) { return fmaxf(a, b); });
  if (threadIdx.x == 0) {
    int e = 0;
    if (largest > 0.f) frexpf(largest, &e);
    exponent = e;
    exponents[row] = e;
  }
  __syncthreads();
  return exponent;
}

template <class C>
__device__ __forceinline__ float finite_magnitude(float v) {
  return isfinite(v) ? fabsf(v) : 0.f;
}

// A row of a length divisible by 4, in 16-byte chunks: each thread's chunks held in registers
// between the two passes where they fit (one read of the row from memory), its digits stored
// four at a time. The bandwidth-bound case: a weight's rows, an activation's.
template <class C>
__device__ __forceinline__ int slice_row_in_chunks(const float* __restrict__ values,
                                                   signed char* __restrict__ digits,
                                                   int* __restrict__ exponents, long long row,
                                                   RowShare& share) {
  constexpr long long CHUNKS = C::PITCH / 4;  // the pad's chunks hold no value: LENGTH % 4 == 0
  constexpr int PER_THREAD = static_cast<int>((CHUNKS + C::THREADS - 1) / C::THREADS);
  constexpr bool HELD = PER_THREAD <= 8;  // 32 registers
  const float4* chunks = reinterpret_cast<const float4*>(values);
  const auto load = [&](long long c) {
    return 4 * c < C::LENGTH ? __ldg(chunks + c) : make_float4(0.f, 0.f, 0.f, 0.f);
  };
  float4 held[HELD ? PER_THREAD : 1];
  float largest = 0.f;
#pragma unroll
  for (int i = 0; i < PER_THREAD; ++i) {
    const long long c = threadIdx.x + static_cast<long long>(i) * C::THREADS;
    if (c >= CHUNKS) break;
    const float4 q = load(c);
    if constexpr (HELD) held[i] = q;
    largest = fmaxf(fmaxf(largest, fmaxf(finite_magnitude<C>(q.x), finite_magnitude<C>(q.y))),
                    fmaxf(finite_magnitude<C>(q.z), finite_magnitude<C>(q.w)));
  }
  const int e = row_exponent<C>(largest, row, exponents);
  const double unscale = power_of_two(-e);
#pragma unroll
  for (int i = 0; i < PER_THREAD; ++i) {
    const long long c = threadIdx.x + static_cast<long long>(i) * C::THREADS;
    if (c >= CHUNKS) break;
    const float4 q = HELD ? held[i] : load(c);
    const float v[4] = {q.x, q.y, q.z, q.w};
    const bool measured = 4 * c < C::LENGTH;
    signed char d[4][C::SLICES];
#pragma unroll
    for (int j = 0; j < 4; ++j) slice_value<C>(v[j], measured, unscale, share, d[j]);
#pragma unroll
    for (int s = 0; s < C::SLICES; ++s) {
      const unsigned packed = static_cast<unsigned char>(d[0][s]) |
                              static_cast<unsigned char>(d[1][s]) << 8 |
                              static_cast<unsigned char>(d[2][s]) << 16 |
                              static_cast<unsigned>(static_cast<unsigned char>(d[3][s])) << 24;
      reinterpret_cast<unsigned*>(digits + (s * static_cast<long long>(C::ROWS) + row) *
                                               C::PITCH)[c] = packed;
    }
  }
  return e;
}

// Any other row, a value at a time (reading it twice, the second time mostly from L2).
template <class C>
__device__ __forceinline__ int slice_row_by_value(const float* __restrict__ values,
                                                  signed char* __restrict__ digits,
                                                  int* __restrict__ exponents, long long row,
                                                  RowShare& share) {
  float largest = 0.f;
  for (int k = threadIdx.x; k < C::LENGTH; k += C::THREADS)
    largest = fmaxf(largest, finite_magnitude<C>(values[k]));
  const int e = row_exponent<C>(largest, row, exponents);
  const double unscale = power_of_two(-e);
  for (int k = threadIdx.x; k < C::PITCH; k += C::THREADS) {
    signed char d[C::SLICES];
    slice_value<C>(k < C::LENGTH ? values[k] : 0.f, k < C::LENGTH, unscale, share, d);
#pragma unroll
    for (int s = 0; s < C::SLICES; ++s)
      digits[(s * static_cast<long long>(C::ROWS) + row) * C::PITCH + k] = d[s];
  }
  return e;
}

template <class C>
__device__ __forceinline__ void slice_rows(const float* __restrict__ in,
                                           signed char* __restrict__ digits,
                                           int* __restrict__ exponents,
                                           double* __restrict__ statistics) {
  static_assert(C::SLICES >= 1 && C::SLICES <= kMaxSlices, "1 to 7 digits");
  static_assert(C::PITCH % 16 == 0 && C::PITCH >= C::LENGTH, "rows of 16-byte multiples");
  static_assert(C::THREADS % 32 == 0 && C::THREADS <= 1024, "whole warps");
  const long long row = blockIdx.x;
  const float* values = in + row * C::LENGTH;
  RowShare share;
  // A row starts 16-byte aligned where its length is a multiple of 4: every operand does (the
  // library refuses a launch whose pointers are not).
  int e;
  if constexpr (C::LENGTH % 4 == 0)
    e = slice_row_in_chunks<C>(values, digits, exponents, row, share);
  else
    e = slice_row_by_value<C>(values, digits, exponents, row, share);
  if constexpr (C::MEASURE != kMeasureNothing) {
    double sums[kSliceStatistics] = {};
    placed_statistics<C>(share, e, sums);
    // Every statistic summed across each warp, then across the warps by one thread each: one
    // barrier for all of them. Those the measure never adds to stay zero without a shuffle.
    __shared__ double partial[kSliceStatistics][C::THREADS / 32];
#pragma unroll
    for (int i = 0; i < kSliceStatistics; ++i) {
      const bool added = C::MEASURE == kMeasureEvery || i == 0 || i <= C::SLICES ||
                         i == kMaxSlices + C::SLICES || i == 1 + 2 * kMaxSlices;
      double v = 0.0;
      if (added) {
        v = sums[i];
#pragma unroll
        for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
      }
      if (threadIdx.x % 32 == 0) partial[i][threadIdx.x / 32] = v;
    }
    __syncthreads();
    if (threadIdx.x < kSliceStatistics) {
      double total = 0.0;
      for (int w = 0; w < C::THREADS / 32; ++w) total += partial[threadIdx.x][w];
      statistics[row * kSliceStatistics + threadIdx.x] = total;
    }
  }
}

// An operand stored [LENGTH, ROWS] (each stored row one k), its rows r0 .. r0 + 31 sliced by
// one block: lane l of each warp takes row r0 + l, the warps every eighth k, so that each read
// of a stored row is one coalesced 128-byte line. Each row's digits are gathered in shared
// memory, four k to a word, CHUNK k at a time, and written out along k in 16-byte pieces;
// each row's exponent and statistics are combined across the warps.
constexpr int kColumnBlock = 32;

template <class C>
__device__ __forceinline__ void slice_columns(const float* __restrict__ in,
                                              signed char* __restrict__ digits,
                                              int* __restrict__ exponents,
                                              double* __restrict__ statistics) {
  static_assert(C::SLICES >= 1 && C::SLICES <= kMaxSlices, "1 to 7 digits");
  static_assert(C::PITCH % 16 == 0 && C::PITCH >= C::LENGTH, "rows of 16-byte multiples");
  static_assert(C::THREADS == 256, "eight warps of 32 rows");
  constexpr int WARPS = 8, CHUNK = 128, WORDS = CHUNK / 4;
  constexpr int STRIDE = WORDS + 1;  // words between rows of the tile: no bank conflicts
  __shared__ unsigned tile[C::SLICES][kColumnBlock][STRIDE];
  __shared__ float largest_of[WARPS][kColumnBlock];
  __shared__ double partial[WARPS][kColumnBlock];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const long long r0 = static_cast<long long>(blockIdx.x) * kColumnBlock;
  const long long r = r0 + lane;
  const bool in_rows = r < C::ROWS;
  const auto value = [&](long long k) {
    return in_rows && k < C::LENGTH ? __ldg(in + k * C::ROWS + r) : 0.f;
  };

  float largest = 0.f;
#pragma unroll 8
  for (long long k = warp; k < C::LENGTH; k += WARPS)
    largest = fmaxf(largest, finite_magnitude<C>(value(k)));
  largest_of[warp][lane] = largest;
  __syncthreads();
  for (int w = 0; w < WARPS; ++w) largest = fmaxf(largest, largest_of[w][lane]);
  int e = 0;
  if (largest > 0.f) frexpf(largest, &e);
  if (warp == 0 && in_rows) exponents[r] = e;
  const double unscale = power_of_two(-e);

  RowShare share;
  for (long long k0 = 0; k0 < C::PITCH; k0 += CHUNK) {
    // Warp w packs the words w, w + 8, ... of its lane's row: four k each.
#pragma unroll
    for (int word = warp; word < WORDS; word += WARPS) {
      unsigned packed[C::SLICES] = {};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const long long k = k0 + 4 * word + j;
        signed char d[C::SLICES];
        slice_value<C>(value(k), in_rows && k < C::LENGTH, unscale, share, d);
#pragma unroll
        for (int s = 0; s < C::SLICES; ++s)
          packed[s] |= static_cast<unsigned>(static_cast<unsigned char>(d[s])) << (8 * j);
      }
#pragma unroll
      for (int s = 0; s < C::SLICES; ++s) tile[s][lane][word] = packed[s];
    }
    __syncthreads();
    // The chunk's digits of every row along k, 16 bytes (four words) a thread at a time.
    constexpr int PIECES = C::SLICES * kColumnBlock * WORDS / 4;
    for (int piece = threadIdx.x; piece < PIECES; piece += C::THREADS) {
      const int s = piece / (kColumnBlock * WORDS / 4);
      const int row = piece / (WORDS / 4) % kColumnBlock;
      const int quarter = piece % (WORDS / 4);
      const long long k = k0 + 16 * quarter;
      if (r0 + row >= C::ROWS || k >= C::PITCH) continue;
      const unsigned* words = &tile[s][row][4 * quarter];
      *reinterpret_cast<uint4*>(digits +
                                (s * static_cast<long long>(C::ROWS) + r0 + row) * C::PITCH + k) =
          make_uint4(words[0], words[1], words[2], words[3]);
    }
    __syncthreads();
  }

  if constexpr (C::MEASURE != kMeasureNothing) {
    double sums[kSliceStatistics] = {};
    placed_statistics<C>(share, e, sums);
    // Each statistic of each row summed across the warps, one statistic at a time.
#pragma unroll
    for (int i = 0; i < kSliceStatistics; ++i) {
      partial[warp][lane] = sums[i];
      __syncthreads();
      if (warp == 0 && in_rows) {
        double total = 0.0;
        for (int w = 0; w < WARPS; ++w) total += partial[w][lane];
        statistics[r * kSliceStatistics + i] = total;
      }
      __syncthreads();
    }
  }
}

// ---- the guard ----

// The guard's verdicts: the digit pairs through THROUGH hold the tolerance; nothing the digits
// can do does (or a value is infinite or NaN), and the product computes in fp32; the pairs
// through DEEPER do, which a second product of the plan computes.
constexpr int kVerdictDigits = 0, kVerdictFp32 = 1, kVerdictDeeper = 2;

// Whether int8 digits can hold the product's accuracy on these operands (generator/int8_slices.h's
// estimated_error, from the slicing passes' statistics): one block sums each operand's rows'
// statistics, and its first thread writes `verdict` (the kVerdict* above), the estimate held
// to TOLERANCE with a margin of MARGIN. Config: A_ROWS, B_ROWS, SLICES, THROUGH, DEEPER (0: the
// plan has no deeper product), TOLERANCE, MARGIN, THREADS.
template <class C>
__device__ __forceinline__ void judge_slices(const double* __restrict__ a_statistics,
                                             const double* __restrict__ b_statistics,
                                             int* __restrict__ verdict) {
  // Each thread sums whole rows (16 doubles, one 128-byte read each), then the threads' sums
  // are combined across each warp and across the warps behind one barrier.
  __shared__ double partial[2 * kSliceStatistics][C::THREADS / 32];
  double a[kSliceStatistics] = {}, b[kSliceStatistics] = {};
  for (long long row = threadIdx.x; row < C::A_ROWS; row += C::THREADS)
#pragma unroll
    for (int i = 0; i < kSliceStatistics; ++i) a[i] += a_statistics[row * kSliceStatistics + i];
  for (long long row = threadIdx.x; row < C::B_ROWS; row += C::THREADS)
#pragma unroll
    for (int i = 0; i < kSliceStatistics; ++i) b[i] += b_statistics[row * kSliceStatistics + i];
#pragma unroll
  for (int i = 0; i < 2 * kSliceStatistics; ++i) {
    double v = i < kSliceStatistics ? a[i] : b[i - kSliceStatistics];
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) partial[i][threadIdx.x / 32] = v;
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < 2 * kSliceStatistics; ++i) {
    double total = 0.0;
    for (int w = 0; w < C::THREADS / 32; ++w) total += partial[i][w];
    (i < kSliceStatistics ? a[i] : b[i - kSliceStatistics]) = total;
  }
  if (threadIdx.x != 0) return;
  const bool finite = a[1 + 2 * kMaxSlices] == 0.0 && b[1 + 2 * kMaxSlices] == 0.0;
  // As estimated_error: each operand's remainder, and each digit pair left out, in energy
  // relative to the operands'.
  const auto holds = [&](int through) {
    double squared = 0.0;
    if (a[0] > 0.0 && b[0] > 0.0) {
      squared = a[kMaxSlices + C::SLICES] / a[0] + b[kMaxSlices + C::SLICES] / b[0];
      for (int s = 1; s <= C::SLICES; ++s)
        for (int t = 1; t <= C::SLICES; ++t)
          if (s + t > through) squared += a[s] / a[0] * (b[t] / b[0]);
    }
    return sqrt(squared) * C::MARGIN <= C::TOLERANCE;
  };
  *verdict = !finite                         ? kVerdictFp32
             : holds(C::THROUGH)             ? kVerdictDigits
             : C::DEEPER && holds(C::DEEPER) ? kVerdictDeeper
                                             : kVerdictFp32;
}

}  // namespace ft

// ---- templates/gemm_wgmma_int8.cuh ----
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

// ---- generated ----
namespace {

struct Config {
  static constexpr int M = 1024, N = 8192, K = 8192, PITCH = 8192;
  static constexpr bool TRANSPOSED_A = false, TRANSPOSED_B = false;
  static constexpr int SLICES = 3, THROUGH = 4;
  static constexpr int BM = 128, BN = 128, BK = 128, STAGES = 2, CONSUMERS = 2;
  static constexpr bool GUARD_M = false, GUARD_N = false;
  static constexpr int SMEM_BYTES = 197664;  // what the launch gives
  static constexpr int RUNS_ON = 0;
  static __device__ __forceinline__ void wgmma_ss(int (&d)[64], unsigned long long a,
                                                  unsigned long long b, int scale_d) {
    asm volatile(
        "{\n .reg .pred p;\n setp.ne.b32 p, %66, 0;\n"
        " wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
        : "l"(a), "l"(b), "r"(scale_d));
  }
};

struct Epilogue {
  const ft::LaunchArgs& args;

  template <int W>
  __device__ __forceinline__ void apply(float (&v)[W], [[maybe_unused]] int m, int n) const {
    float t2[W];
    ft::load_floats<W>(t2, args.tensors[2] + n);
    const float s0 = args.scalars[0];
    const float s1 = args.scalars[1];
#pragma unroll
    for (int j = 0; j < W; ++j) {
      float x = v[j];
      x = x + t2[j];  // bias
      x = x * s0;  // mul(2.0)
      x = x < 0.f ? x * s1 : x;  // leaky_relu(0.1)
      v[j] = x;
    }
  }
};

}  // namespace

extern "C" __global__ void __launch_bounds__(384, 1)
ft_gemm_int8x_128x128_d3t4_c2_s2_p132(const __grid_constant__ ft::LaunchArgs args, const __grid_constant__ ft::TensorMap map0, const __grid_constant__ ft::TensorMap map1, float* __restrict__ workspace) {
  const char* bytes = reinterpret_cast<const char*>(workspace);
  ft::gemm_wgmma_int8<Config>(&map0, &map1, args.out, reinterpret_cast<const int*>(bytes + 25165824),
                         reinterpret_cast<const int*>(bytes + 226627584), Epilogue{args},
                         reinterpret_cast<const int*>(bytes + 227708928), args.tensors[0],
                         args.tensors[1]);
}

// The steps before the product: each operand's int8 digits and their statistics, then
// the guard's verdict on them.

struct ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_a_shape {
  static constexpr long long ROWS = 1024, LENGTH = 8192, PITCH = 8192;
  static constexpr int SLICES = 3, THREADS = 256;
  static constexpr int MEASURE = 2;
};

extern "C" __global__ void __launch_bounds__(256)
ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_a(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {
  char* bytes = reinterpret_cast<char*>(workspace) + 0;
  ft::slice_rows<ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_a_shape>(args.tensors[0], reinterpret_cast<signed char*>(bytes + 0),
      reinterpret_cast<int*>(bytes + 25165824), reinterpret_cast<double*>(bytes + 25169920));
}

struct ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_b_shape {
  static constexpr long long ROWS = 8192, LENGTH = 8192, PITCH = 8192;
  static constexpr int SLICES = 3, THREADS = 256;
  static constexpr int MEASURE = 2;
};

extern "C" __global__ void __launch_bounds__(256)
ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_b(const __grid_constant__ ft::LaunchArgs args, float* __restrict__ workspace) {
  char* bytes = reinterpret_cast<char*>(workspace) + 25300992;
  ft::slice_rows<ft_gemm_int8x_128x128_d3t4_c2_s2_p132_slice_b_shape>(args.tensors[1], reinterpret_cast<signed char*>(bytes + 0),
      reinterpret_cast<int*>(bytes + 201326592), reinterpret_cast<double*>(bytes + 201359360));
}

struct ft_gemm_int8x_128x128_d3t4_c2_s2_p132_guard_shape {
  static constexpr long long A_ROWS = 1024, B_ROWS = 8192;
  static constexpr int SLICES = 3, THROUGH = 4, DEEPER = 5, THREADS = 256;
  static constexpr double TOLERANCE = 1e-05, MARGIN = 4;
};

extern "C" __global__ void __launch_bounds__(256)
ft_gemm_int8x_128x128_d3t4_c2_s2_p132_guard(const __grid_constant__ ft::LaunchArgs, float* __restrict__ workspace) {
  char* bytes = reinterpret_cast<char*>(workspace);
  ft::judge_slices<ft_gemm_int8x_128x128_d3t4_c2_s2_p132_guard_shape>(reinterpret_cast<const double*>(bytes + 25169920),
                             reinterpret_cast<const double*>(bytes + 226660352),
                             reinterpret_cast<int*>(bytes + 227708928));
}

// The deeper product, which computes where the guard finds that the digit pairs through
// 4 do not hold the tolerance and those through 5 do.
namespace {
struct DeeperConfig {
  static constexpr int M = 1024, N = 8192, K = 8192, PITCH = 8192;
  static constexpr bool TRANSPOSED_A = false, TRANSPOSED_B = false;
  static constexpr int SLICES = 3, THROUGH = 5;
  static constexpr int BM = 128, BN = 64, BK = 128, STAGES = 3, CONSUMERS = 2;
  static constexpr bool GUARD_M = false, GUARD_N = false;
  static constexpr int SMEM_BYTES = 222256;  // what the launch gives
  static constexpr int RUNS_ON = 2;
  static __device__ __forceinline__ void wgmma_ss(int (&d)[32], unsigned long long a,
                                                  unsigned long long b, int scale_d) {
    asm volatile(
        "{\n .reg .pred p;\n setp.ne.b32 p, %34, 0;\n"
        " wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31])
        : "l"(a), "l"(b), "r"(scale_d));
  }
};
}  // namespace

extern "C" __global__ void __launch_bounds__(384, 1)
ft_gemm_int8x_128x128_d3t4_c2_s2_p132_deeper(const __grid_constant__ ft::LaunchArgs args, const __grid_constant__ ft::TensorMap map0,
    const __grid_constant__ ft::TensorMap map1, float* __restrict__ workspace) {
  const char* bytes = reinterpret_cast<const char*>(workspace);
  ft::gemm_wgmma_int8<DeeperConfig>(&map0, &map1, args.out, reinterpret_cast<const int*>(bytes + 25165824),
                         reinterpret_cast<const int*>(bytes + 226627584), Epilogue{args},
                         reinterpret_cast<const int*>(bytes + 227708928), args.tensors[0],
                         args.tensors[1]);
}
