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
#pragma once

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
