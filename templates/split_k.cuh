// Split-K through global memory, shared by the GEMM templates. A tile's k-tiles are divided
// into SPLITS ranges computed by different blocks (or units of work). Each writes its partial
// sums to a workspace and counts itself in on the tile's counter; the last to arrive adds every
// split's partial sums in split order, so the result does not depend on who came last, runs the
// epilogue, and sets the counter back to zero for the next launch. Nobody waits for anybody.
//
// Workspace of one tile (and, where a block's threads split into groups that finish on their
// own, one group): [SPLITS][FLOATS / 4][THREADS] float4, so that each of a warp's stores and
// loads covers one contiguous 512-byte run.
#pragma once

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
