// The arithmetic of fp32 GEMMs emulated on int8 tensor cores, modelled on the host.
//
// Each row of x[M,K] and of weight[N,K] (the operands as a linear layer stores them, both with
// K contiguous) is scaled by a power of two 2^-e, e the exponent just above the row's largest
// magnitude, so that its values lie in (-1, 1), and written as `slices` signed digits, the
// first counting 127ths of the row's scale and every later one 255ths of the one before:
//
//   v = 2^e (q1 / 127 + q2 / (127 255) + ... + qp / (127 255^(p-1)) + d),   qs in [-127, 127],
//
// every digit rounded to nearest, so each leaves at most half of its unit, of either sign, and
// |d| <= 1 / (2 127 255^(p-1)). Balanced digits carry almost 8 bits each (a truncated base-128
// digit 7), and what a digit leaves out averages zero over K, which is what keeps the pairs left
// out small. Every product of an x digit and a weight digit is an integer of at most 127^2, so
// the sum over K of one diagonal's slice pairs is exact in int32 (the generator's rule bounds
// K). A product is recombined from the slice pairs (s, t) with s + t <= `through` (the scheme's
// choice: every pair, through = 2p, or fewer), each diagonal d = s + t at its place
// 1 / (127^2 255^(d-2)), then scaled by 2^(e_row + e_col); in fp64, whose rounding (2^-53) is
// far below any tolerance.
//
// Two errors remain: the digits' remainder d, and the pairs left out. The latter are not
// small: a pair with s + t = p + 2 is as large as the remainder, so the triangle s + t <= p + 1
// alone errs several times more than the digits do. How large both are relative to the output
// depends on the data: a row whose mass sits far below its largest value keeps few bits of it.
// A slicing pass measures what decides it, per operand and digit: the energy of each digit
// plane and of each remainder; from those follows an estimate of the relative Frobenius error
// of any scheme, so the cheapest scheme a tolerance allows, or the knowledge that none does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fusetune {

inline constexpr double kFirstDigitBase = 127;  // the first digit's unit: 2^e / 127
inline constexpr double kDigitBase = 255;       // each later digit's: the one before's / 255
inline constexpr int kMaxSlices = 7;            // 55 bits: beyond what fp32 inputs carry
// The longest K whose slice-pair sums cannot overflow int32: 127 * 127 * K < 2^31.
inline constexpr std::int64_t kExactK = (std::int64_t{1} << 31) / (127 * 127);

// The unit of digit s (1-based) in a row of exponent 0: 1 / (127 255^(s-1)).
double digit_place(int s);
// The unit of the digit pairs s + t = d: 1 / (127^2 255^(d-2)), as the kernels compute it.
double pair_place(int d);
// A product from its diagonals' exact integer sums, sums[i] of diagonal 2 + i, i < count, as
// the kernels recombine it (Horner's rule in base 255, fused multiply-adds, then one product by
// the last diagonal's place): exact below 2^53, rounded once above.
double recombine_diagonals(const std::int64_t* sums, int count);

// What a slicing pass learns of one operand, all that the scheme is chosen from. Energies are
// sums of squares over every value, in the values' units.
struct SliceStatistics {
  bool finite = true;  // false: some value is infinite or NaN
  double squares = 0;  // of the values
  // [s - 1]: of digit s scaled to its place, 2^e digit_place(s) q_s.
  std::array<double, kMaxSlices> digit_squares{};
  // [p - 1]: of what p digits leave of each value.
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
// the recombination compute it: each diagonal's slice-pair sums in integers, exact, then
// recombine_diagonals and the rows' exponents. Both operands must have the same
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
