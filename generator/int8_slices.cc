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

// Writes the digits of one value, already scaled into (-1, 1), into digits[s * stride]. All
// digits but the last truncate, so that each stays within [-127, 127]; the last rounds to
// nearest, clamped there.
void split_value(double scaled, int slices, std::int8_t* digits, std::size_t stride) {
  for (int s = 0; s < slices; ++s) {
    const double shifted = std::ldexp(scaled, kSliceBits);  // exact
    const double digit =
        s + 1 < slices ? std::trunc(shifted) : std::clamp(std::nearbyint(shifted), -127.0, 127.0);
    digits[s * stride] = static_cast<std::int8_t>(digit);
    scaled = shifted - digit;  // exact: the fraction left below this digit
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
        const double shifted = std::ldexp(scaled, kSliceBits);
        // Were digit s the last: rounded (clamped), and what it leaves.
        const double last = std::clamp(std::nearbyint(shifted), -127.0, 127.0);
        const double left = std::ldexp(shifted - last, e - kSliceBits * s);
        stats.remainder_squares[s - 1] += left * left;
        const double digit = std::trunc(shifted);
        const double placed = std::ldexp(digit, e - kSliceBits * s);
        stats.digit_squares[s - 1] += placed * placed;
        scaled = shifted - digit;
      }
    }
  }
  return stats;
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
  for (int i = 0; i < x.rows; ++i) {
    for (int j = 0; j < w.rows; ++j) {
      double sum = 0;
      for (int s = 1; s <= scheme.slices; ++s) {
        for (int t = 1; t <= scheme.slices && s + t <= scheme.through; ++t) {
          const int shift = x.exponents[i] + w.exponents[j] - kSliceBits * (s + t);
          for (std::int64_t k0 = 0; k0 < x.length; k0 += kExactK) {
            const std::int64_t end = std::min<std::int64_t>(x.length, k0 + kExactK);
            std::int32_t pass = 0;  // what one int8 tensor-core accumulation holds
            for (std::int64_t k = k0; k < end; ++k)
              pass += std::int32_t{x.digit(s - 1, i, static_cast<int>(k))} *
                      w.digit(t - 1, j, static_cast<int>(k));
            sum += std::ldexp(static_cast<double>(pass), shift);
          }
        }
      }
      out[static_cast<std::size_t>(i) * w.rows + j] = sum;
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
