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
#pragma once

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
