// Hopper (sm_90a) building blocks as inline PTX: mbarriers, TMA tile loads, warpgroup MMA
// (wgmma) with its shared-memory descriptors, and register reallocation between warpgroups.
//
// wgmma m64nNk8 with TF32 operands reads A and B from shared memory in K-major layout. The
// fp32 accumulator fragment of warp w (of the 4 in the warpgroup), lane l, g = l / 4,
// t = l % 4, holds for each 8-column chunk j: d[4j] (16w + g, 8j + 2t), d[4j + 1] (.., + 1),
// d[4j + 2] (16w + g + 8, 8j + 2t), d[4j + 3] (.., + 1) — the mma.m16n8 layout repeated.
#pragma once

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
