// The arithmetic of fp32 GEMMs emulated on int8 tensor cores, modelled on the host.
//
// Each row of x[M,K] and of weight[N,K] (the operands as a linear layer stores them, both with
// K contiguous) is scaled by a power of two 2^-e, e the exponent just above the row's largest
// magnitude, so that its values lie in (-1, 1), and written as `slices` signed base-128 digits:
//
//   v = 2^e (q1 2^-7 + q2 2^-14 + ... + qp 2^-7p + d),   qs in [-127, 127],
//
// the earlier digits truncating and the last rounding, so |d| <= 2^-7p / 2 (but where the last
// digit is clamped to 127). Every product of an x digit and a weight digit is an integer below
// 2^14, so the sum over K of one slice pair is exact in int32 (up to kExactK terms a pass). A
// product is recombined from the slice pairs (s, t) with s + t <= `through` (the scheme's
// choice: every pair, through = 2p, or fewer) scaled by 2^(e_row + e_col - 7(s + t)).
//
// Two errors remain: the digits' remainder d, and the pairs left out. The latter are not
// small: a pair with s + t = p + 2 is as large as the remainder (two lower digits, each up to
// 2^7, times 2^-7(p + 2)), so the triangle s + t <= p + 1 alone errs several times more than
// the digits do. How large both are relative to the output depends on the data: a row whose
// mass sits far below its largest value keeps few bits of it, while values with few bits
// (fp32 has 24) are exact in few digits. A slicing pass measures what decides it, per operand
// and digit: the energy of each digit plane and of each remainder; from those follows an
// estimate of the relative Frobenius error of any scheme, so the cheapest scheme a tolerance
// allows, or the knowledge that none does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fusetune {

inline constexpr int kSliceBits = 7;
inline constexpr int kMaxSlices = 7;  // 49 bits: beyond what fp32 inputs carry
// The longest K whose slice-pair sums cannot overflow int32: 127 * 127 * K < 2^31.
inline constexpr std::int64_t kExactK = (std::int64_t{1} << 31) / (127 * 127);

// What a slicing pass learns of one operand, all that the scheme is chosen from. Energies are
// sums of squares over every value, in the values' units.
struct SliceStatistics {
  bool finite = true;  // false: some value is infinite or NaN
  double squares = 0;  // of the values
  // [s - 1]: of digit s scaled to its place, 2^(e - 7s) q_s, the digits before it truncating.
  std::array<double, kMaxSlices> digit_squares{};
  // [p - 1]: of what p digits, the last rounding, leave of each value.
  std::array<double, kMaxSlices> remainder_squares{};
};

// One operand of `rows` rows of `length` values, split into `slices` digit planes.
struct SlicedOperand {
  int rows = 0;
  int length = 0;
  int slices = 0;
  std::vector<int> exponents;       // per row; 0 for a row of zeros
  std::vector<std::int8_t> digits;  // [slice][row][k]
  SliceStatistics statistics;

  std::int8_t digit(int slice, int row, int k) const {
    return digits[(static_cast<std::size_t>(slice) * rows + row) * length + k];
  }
};

// Splits the rows of `values` (row-major, rows x length) into `slices` digits each (1 to
// kMaxSlices). Non-finite values are left as zero digits (measure_rows reports them).
SlicedOperand split_rows(std::span<const float> values, int rows, int length, int slices);

// The statistics of the rows of `values` for every slice count up to kMaxSlices.
SliceStatistics measure_rows(std::span<const float> values, int rows, int length);

// Which slice products a scheme computes: `slices` digits per value and the pairs (s, t),
// 1-based, with s + t <= through (slices + 1 to 2 slices).
struct SliceScheme {
  int slices = 3;
  int through = 6;

  int products() const;  // how many int8 GEMMs it takes
  friend bool operator==(const SliceScheme&, const SliceScheme&) = default;
};

// x weightᵀ ([x.rows, w.rows], row-major) from the digits alone, as the int8 tensor cores and
// the recombination compute it: the scheme's slice-pair sums in integers, exact, over passes
// of at most kExactK terms, then scaled and summed in fp64. Both operands must have the same
// length, and at least scheme.slices digits.
std::vector<double> sliced_product(const SlicedOperand& x, const SlicedOperand& w,
                                   const SliceScheme& scheme);

// The relative Frobenius error of x weightᵀ computed with `scheme`, estimated from the
// operands' statistics: each remainder against the other operand, and each pair left out,
// over an output of the size independent rows give (||x_i . w_j||^2 averaging
// ||x_i||^2 ||w_j||^2 / K). Infinity when either operand is not finite.
double estimated_error(const SliceStatistics& x, const SliceStatistics& w,
                       const SliceScheme& scheme);

// Of the schemes whose estimated error times `margin` stays within `tolerance`, the one with
// the fewest products (then the fewest slices); nullopt when none up to kMaxSlices does or an
// operand is not finite: the product must then be computed another way.
std::optional<SliceScheme> cheapest_scheme(const SliceStatistics& x, const SliceStatistics& w,
                                           double tolerance, double margin = 4);

}  // namespace fusetune
