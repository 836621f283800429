// The int8 slicing model against fp64: the digits give each value back, the slice products
// are exact, the estimate of the error tracks the error measured, and the scheme it chooses
// holds fp32 accuracy (1e-5) on uniform and normal data and on rows spanning 2^20, or says
// that none does (non-finite inputs).
#include "generator/int8_slices.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/fp64_product.h"

namespace fusetune {
namespace {

constexpr double kFp32Accuracy = 1e-5;

std::vector<float> uniform(int count, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(count);
  for (float& x : v) x = dist(gen);
  return v;
}

std::vector<float> normal(int count, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> v(count);
  for (float& x : v) x = dist(gen);
  return v;
}

// Rows spanning 2^20: uniform in [-1, 1) but for one value of magnitude 2^20 at a random place,
// which sets the row's scale while most of its values keep few bits of it.
std::vector<float> spanning_2_to_20(int rows, int length, std::uint32_t seed) {
  std::vector<float> v = uniform(rows * length, seed);
  std::mt19937 gen(seed + 1);
  std::uniform_int_distribution<int> where(0, length - 1);
  for (int r = 0; r < rows; ++r)
    v[static_cast<std::size_t>(r) * length + where(gen)] = (r % 2 ? -1.0f : 1.0f) * 1048576.0f;
  return v;
}

// Normal rows but for one value of 16 at a place that differs between rows.
std::vector<float> with_outliers(int rows, int length, std::uint32_t seed) {
  std::vector<float> v = normal(rows * length, seed);
  for (int r = 0; r < rows; ++r) v[static_cast<std::size_t>(r) * length + (37 * r) % length] = 16;
  return v;
}

double relative_error(const std::vector<double>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / norm);
}

struct Measured {
  double error;
  double estimate;
};

Measured emulate(const std::vector<float>& x, const std::vector<float>& w, int m, int n, int k,
                 const SliceScheme& scheme) {
  const SlicedOperand sx = split_rows(x, m, k, scheme.slices);
  const SlicedOperand sw = split_rows(w, n, k, scheme.slices);
  return {relative_error(sliced_product(sx, sw, scheme), fp64_product(x, w, m, n, k)),
          estimated_error(measure_rows(x, m, k), measure_rows(w, n, k), scheme)};
}

SliceScheme every_pair(int slices) { return {.slices = slices, .through = 2 * slices}; }

TEST(Int8Slices, TheDigitsGiveEachValueBackWithinHalfALastDigit) {
  const std::vector<float> values = normal(4 * 300, 1);
  for (int slices = 1; slices <= 4; ++slices) {
    const SlicedOperand s = split_rows(values, 4, 300, slices);
    for (int r = 0; r < 4; ++r)
      for (int k = 0; k < 300; ++k) {
        double back = 0;
        for (int d = 0; d < slices; ++d) {
          EXPECT_GE(s.digit(d, r, k), -127);
          back += s.digit(d, r, k) * digit_place(d + 1);
        }
        const double v = values[static_cast<std::size_t>(r) * 300 + k];
        // Half a last digit (fp64's rounding of the sum aside).
        EXPECT_LE(std::fabs(std::ldexp(back, s.exponents[r]) - v),
                  std::ldexp(digit_place(slices), s.exponents[r]) * (0.5 + 1e-9))
            << "slices " << slices << " row " << r << " k " << k;
      }
  }
}

TEST(Int8Slices, WhatADigitLeavesAveragesZero) {
  // Balanced digits: over many values the remainders' mean is far below their spread, so the
  // pairs left out of a product average out over K instead of adding up. Positive values, on
  // which truncated digits would leave remainders of one sign (the mean half their spread).
  std::vector<float> values = uniform(64 * 512, 21);
  for (float& v : values) v = std::fabs(v);
  const SlicedOperand s = split_rows(values, 64, 512, 2);
  double sum = 0, squares = 0;
  for (int r = 0; r < 64; ++r)
    for (int k = 0; k < 512; ++k) {
      const double back = s.digit(0, r, k) * digit_place(1) + s.digit(1, r, k) * digit_place(2);
      const double left =
          values[static_cast<std::size_t>(r) * 512 + k] - std::ldexp(back, s.exponents[r]);
      sum += left;
      squares += left * left;
    }
  const double count = 64.0 * 512;
  EXPECT_LT(std::fabs(sum / count), 0.05 * std::sqrt(squares / count));
}

TEST(Int8Slices, DenormalsAndZeroRowsSplitLikeAnyOther) {
  const float tiny = std::numeric_limits<float>::denorm_min();
  std::vector<float> x = {3 * tiny, -tiny, 0, 7 * tiny, 0, 0, 0, 0};  // a denormal row, a zero row
  std::vector<float> w = {1, 2, 3, 4};
  const SlicedOperand sx = split_rows(x, 2, 4, 1);
  const SlicedOperand sw = split_rows(w, 1, 4, 3);
  EXPECT_EQ(sx.exponents[1], 0);
  const SlicedOperand sx3 = split_rows(x, 2, 4, 3);
  const std::vector<double> got = sliced_product(sx3, sw, every_pair(3));
  const std::vector<double> want = fp64_product(x, w, 2, 1, 4);
  EXPECT_NEAR(got[0], want[0], 1e-6 * std::fabs(want[0]));  // at the row's denormal scale
  EXPECT_EQ(got[1], 0.0);
  EXPECT_TRUE(measure_rows(x, 2, 4).finite);
}

TEST(Int8Slices, SlicePairSumsStayExactBeyondWhatOneInt32PassHolds) {
  // Every digit at its largest, over more terms than one int32 sum could hold (the kernels'
  // generator refuses such a K; the model must not wrap either).
  const int k = static_cast<int>(kExactK) + 1000;
  const float largest = 1.0f - 0x1p-24f;  // its first digit rounds to 127
  std::vector<float> x(k, largest), w(k, -largest);
  const SlicedOperand sx = split_rows(x, 1, k, 1);
  const SlicedOperand sw = split_rows(w, 1, k, 1);
  ASSERT_EQ(sx.digit(0, 0, 0), 127);
  EXPECT_DOUBLE_EQ(sliced_product(sx, sw, every_pair(1))[0], -static_cast<double>(k));
}

TEST(Int8Slices, NonFiniteValuesNeedAnotherWay) {
  std::vector<float> x = {1, std::numeric_limits<float>::infinity(), 2, 3};
  std::vector<float> y = {1, std::numeric_limits<float>::quiet_NaN(), 2, 3};
  std::vector<float> w = uniform(4, 2);
  const SliceStatistics finite = measure_rows(w, 1, 4);
  for (const auto& values : {x, y}) {
    const SliceStatistics stats = measure_rows(values, 1, 4);
    EXPECT_FALSE(stats.finite);
    EXPECT_EQ(cheapest_scheme(stats, finite, kFp32Accuracy), std::nullopt);
    EXPECT_EQ(cheapest_scheme(finite, stats, kFp32Accuracy), std::nullopt);
  }
}

// The estimate is used to choose the scheme: it must not be far below the error measured (the
// guard would pass too few products), nor so far above that it wastes them.
void expect_estimate_tracks(const Measured& m, const std::string& what) {
  // fp64's own rounding (of the reference and the recombination) is the floor: 1e-14.
  EXPECT_LE(m.error, 2 * m.estimate + 1e-14) << what;
  EXPECT_GE(m.error, m.estimate / 4) << what;
}

TEST(Int8Slices, TheEstimateTracksTheErrorOnUniformNormalAndSpreadRows) {
  constexpr int m = 24, n = 20, k = 2048;
  for (int slices = 2; slices <= 4; ++slices)
    for (int through : {slices + 1, slices + 2, 2 * slices}) {
      const SliceScheme scheme{.slices = slices, .through = through};
      const std::string name = fmt::format(" with {} slices through {}", slices, through);
      expect_estimate_tracks(emulate(uniform(m * k, 3), uniform(n * k, 4), m, n, k, scheme),
                             "uniform" + name);
      expect_estimate_tracks(emulate(normal(m * k, 5), normal(n * k, 6), m, n, k, scheme),
                             "normal" + name);
      expect_estimate_tracks(emulate(spanning_2_to_20(m, k, 7), uniform(n * k, 8), m, n, k, scheme),
                             "2^20" + name);
    }
}

TEST(Int8Slices, LeavingOutTheLowerPairsCostsAsMuchAsTheirDigits) {
  // The triangle s + t <= p + 1 errs at least twice as much as every pair of the same digits:
  // the pairs left out are as large as what the digits leave.
  constexpr int m = 24, n = 20, k = 2048;
  const std::vector<float> x = normal(m * k, 16), w = normal(n * k, 17);
  for (int slices = 2; slices <= 4; ++slices)
    EXPECT_GT(emulate(x, w, m, n, k, {.slices = slices, .through = slices + 1}).error,
              2 * emulate(x, w, m, n, k, every_pair(slices)).error)
        << slices << " slices";
}

// The scheme the guard chooses for some data, after checking that it holds fp32 accuracy.
SliceScheme chosen_and_checked(const std::vector<float>& x, const std::vector<float>& w, int m,
                               int n, int k) {
  const std::optional<SliceScheme> scheme =
      cheapest_scheme(measure_rows(x, m, k), measure_rows(w, n, k), kFp32Accuracy);
  if (!scheme) {
    ADD_FAILURE() << "no scheme";
    return {};
  }
  EXPECT_LE(emulate(x, w, m, n, k, *scheme).error, kFp32Accuracy);
  return *scheme;
}

TEST(Int8Slices, TheGuardChoosesTheCheapestSchemeThatHoldsFp32Accuracy) {
  constexpr int m = 24, n = 20, k = 4096;
  const SliceScheme for_uniform =
      chosen_and_checked(uniform(m * k, 9), uniform(n * k, 10), m, n, k);
  const SliceScheme for_normal = chosen_and_checked(normal(m * k, 11), normal(n * k, 12), m, n, k);
  // Rows with an outlier (one value of 16 among normal ones, as activations often have) keep
  // four bits fewer of most values: what holds normal data falls short on them (measured, not
  // just estimated), and the guard asks for more. Rows spanning 2^20 keep twenty fewer.
  const std::vector<float> x_out = with_outliers(m, k, 13), w_out = with_outliers(n, k, 14);
  EXPECT_GT(emulate(x_out, w_out, m, n, k, for_normal).error, kFp32Accuracy);
  const SliceScheme for_outliers = chosen_and_checked(x_out, w_out, m, n, k);
  EXPECT_GT(for_outliers.products(), for_normal.products());
  const SliceScheme for_spread =
      chosen_and_checked(spanning_2_to_20(m, k, 15), uniform(n * k, 16), m, n, k);
  EXPECT_GT(for_spread.products(), for_uniform.products());
  std::printf(
      "int8 products for fp32 accuracy at K = %d: uniform %d (%d slices through %d), "
      "normal %d (%d through %d), rows with an outlier %d (%d through %d), rows spanning 2^20 "
      "%d (%d through %d)\n",
      k, for_uniform.products(), for_uniform.slices, for_uniform.through, for_normal.products(),
      for_normal.slices, for_normal.through, for_outliers.products(), for_outliers.slices,
      for_outliers.through, for_spread.products(), for_spread.slices, for_spread.through);
}

TEST(Int8Slices, OperandsOfZerosAreExactWithOneProduct) {
  std::vector<float> zeros(8 * 16, 0.0f);
  const SliceStatistics z = measure_rows(zeros, 8, 16);
  const SliceStatistics u = measure_rows(uniform(8 * 16, 15), 8, 16);
  EXPECT_EQ(estimated_error(z, u, every_pair(1)), 0.0);
  EXPECT_EQ(cheapest_scheme(z, u, kFp32Accuracy), (SliceScheme{.slices = 1, .through = 2}));
}

}  // namespace
}  // namespace fusetune
