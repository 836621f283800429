#include "generator/int8_slices.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace fusetune {
namespace {

// The exponent e with max|v| < 2^e <= 2 max|v| (frexp's), 0 for a row of zeros.
int row_exponent(std::span<const float> row) {
  float largest = 0;
  for (float v : row)
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  if (largest == 0) return 0;
  int exponent = 0;
  std::frexp(largest, &exponent);
  return exponent;
}

// The digit of `shifted` (a value in its digit's units): rounded to nearest, held in
// [-127, 127]. Only 127.5 itself, half a unit out, is clamped, leaving half a unit.
double balanced_digit(double shifted) { return std::clamp(std::nearbyint(shifted), -127.0, 127.0); }

// Writes the digits of one value, already scaled into (-1, 1), into digits[s * stride]. Each
// shift is exact: the value keeps its lowest bit while its magnitude stays below 128.
void split_value(double scaled, int slices, std::int8_t* digits, std::size_t stride) {
  for (int s = 0; s < slices; ++s) {
    const double shifted = scaled * (s == 0 ? kFirstDigitBase : kDigitBase);  // exact
    const double digit = balanced_digit(shifted);
    digits[s * stride] = static_cast<std::int8_t>(digit);
    scaled = shifted - digit;  // exact: the part below this digit, at most half of it
  }
}

}  // namespace

SlicedOperand split_rows(std::span<const float> values, int rows, int length, int slices) {
  assert(slices >= 1 && slices <= kMaxSlices);
  assert(values.size() == static_cast<std::size_t>(rows) * length);
  SlicedOperand out;
  out.rows = rows;
  out.length = length;
  out.slices = slices;
  out.exponents.resize(rows);
  out.digits.assign(static_cast<std::size_t>(slices) * rows * length, 0);
  const std::size_t plane = static_cast<std::size_t>(rows) * length;
  for (int r = 0; r < rows; ++r) {
    const std::span<const float> row = values.subspan(static_cast<std::size_t>(r) * length, length);
    const int e = row_exponent(row);
    out.exponents[r] = e;
    for (int k = 0; k < length; ++k)
      if (std::isfinite(row[k]))
        split_value(std::ldexp(double{row[k]}, -e), slices,
                    &out.digits[static_cast<std::size_t>(r) * length + k], plane);
  }
  return out;
}

SliceStatistics measure_rows(std::span<const float> values, int rows, int length) {
  SliceStatistics stats;
  for (int r = 0; r < rows; ++r) {
    const std::span<const float> row = values.subspan(static_cast<std::size_t>(r) * length, length);
    const int e = row_exponent(row);
    for (float v : row) {
      if (!std::isfinite(v)) {
        stats.finite = false;
        continue;
      }
      stats.squares += double{v} * v;
      double scaled = std::ldexp(double{v}, -e);
      for (int s = 1; s <= kMaxSlices; ++s) {
        const double shifted = scaled * (s == 1 ? kFirstDigitBase : kDigitBase);
        const double digit = balanced_digit(shifted);
        scaled = shifted - digit;
        const double place = std::ldexp(digit_place(s), e);
        stats.digit_squares[s - 1] += (digit * place) * (digit * place);
        stats.remainder_squares[s - 1] += (scaled * place) * (scaled * place);
      }
    }
  }
  return stats;
}

double digit_place(int s) {
  double place = 1.0 / kFirstDigitBase;
  for (int i = 1; i < s; ++i) place /= kDigitBase;
  return place;
}

double pair_place(int d) {
  double place = 1.0 / (kFirstDigitBase * kFirstDigitBase);
  for (int i = 2; i < d; ++i) place /= kDigitBase;
  return place;
}

double recombine_diagonals(const std::int64_t* sums, int count) {
  double sum = 0;
  for (int i = 0; i < count; ++i) sum = std::fma(sum, kDigitBase, static_cast<double>(sums[i]));
  return sum * pair_place(count + 1);
}

int SliceScheme::products() const {
  int count = 0;
  for (int s = 1; s <= slices; ++s)
    for (int t = 1; t <= slices; ++t) count += s + t <= through;
  return count;
}

std::vector<double> sliced_product(const SlicedOperand& x, const SlicedOperand& w,
                                   const SliceScheme& scheme) {
  assert(x.length == w.length && scheme.slices <= x.slices && scheme.slices <= w.slices);
  std::vector<double> out(static_cast<std::size_t>(x.rows) * w.rows, 0.0);
  const int diagonals = scheme.through - 1;  // s + t = 2 .. through
  std::vector<std::int64_t> sums(diagonals);
  for (int i = 0; i < x.rows; ++i) {
    for (int j = 0; j < w.rows; ++j) {
      std::fill(sums.begin(), sums.end(), 0);
      for (int s = 1; s <= scheme.slices; ++s)
        for (int t = 1; t <= scheme.slices && s + t <= scheme.through; ++t)
          for (int k = 0; k < x.length; ++k)
            sums[s + t - 2] += std::int32_t{x.digit(s - 1, i, k)} * w.digit(t - 1, j, k);
      out[static_cast<std::size_t>(i) * w.rows + j] =
          std::ldexp(recombine_diagonals(sums.data(), diagonals), x.exponents[i] + w.exponents[j]);
    }
  }
  return out;
}

double estimated_error(const SliceStatistics& x, const SliceStatistics& w,
                       const SliceScheme& scheme) {
  if (!x.finite || !w.finite) return std::numeric_limits<double>::infinity();
  if (x.squares == 0 || w.squares == 0) return 0;  // a product of zeros is exact
  // Over K terms of independent values, ||a_i . b_j||^2 averages ||a_i||^2 ||b_j||^2 / K, so
  // every sum over the output is a product of energies over K, and K cancels against the
  // output's ||x||^2 ||w||^2 / K.
  const int p = scheme.slices;
  double squared = x.remainder_squares[p - 1] / x.squares + w.remainder_squares[p - 1] / w.squares;
  for (int s = 1; s <= p; ++s)
    for (int t = 1; t <= p; ++t)
      if (s + t > scheme.through)
        squared += x.digit_squares[s - 1] / x.squares * (w.digit_squares[t - 1] / w.squares);
  return std::sqrt(squared);
}

std::optional<SliceScheme> cheapest_scheme(const SliceStatistics& x, const SliceStatistics& w,
                                           double tolerance, double margin) {
  std::optional<SliceScheme> best;
  for (int p = 1; p <= kMaxSlices; ++p)
    for (int through = p + 1; through <= 2 * p; ++through) {
      const SliceScheme scheme{.slices = p, .through = through};
      if (estimated_error(x, w, scheme) * margin > tolerance) continue;
      if (!best || scheme.products() < best->products()) best = scheme;
    }
  return best;
}

}  // namespace fusetune
