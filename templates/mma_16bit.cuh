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
#pragma once

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
