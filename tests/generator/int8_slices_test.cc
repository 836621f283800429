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

// x weightᵀ in fp64 from the fp32 values.
std::vector<double> exact_product(const std::vector<float>& x, const std::vector<float>& w, int m,
                                  int n, int k) {
  std::vector<double> out(static_cast<std::size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int l = 0; l < k; ++l)
        sum +=
            double{x[static_cast<std::size_t>(i) * k + l]} * w[static_cast<std::size_t>(j) * k + l];
      out[static_cast<std::size_t>(i) * n + j] = sum;
    }
  return out;
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
  return {relative_error(sliced_product(sx, sw, scheme), exact_product(x, w, m, n, k)),
          estimated_error(measure_rows(x, m, k), measure_rows(w, n, k), scheme)};
}

SliceScheme every_pair(int slices) { return {.slices = slices, .through = 2 * slices}; }

TEST(Int8Slices, TheDigitsGiveEachValueBackWithinALastDigit) {
  const std::vector<float> values = normal(4 * 300, 1);
  for (int slices = 1; slices <= 4; ++slices) {
    const SlicedOperand s = split_rows(values, 4, 300, slices);
    for (int r = 0; r < 4; ++r)
      for (int k = 0; k < 300; ++k) {
        double back = 0;
        for (int d = 0; d < slices; ++d) {
          EXPECT_GE(s.digit(d, r, k), -127);
          back += std::ldexp(s.digit(d, r, k), -kSliceBits * (d + 1));
        }
        const double v = values[static_cast<std::size_t>(r) * 300 + k];
        // Half a last digit, or up to one where the last digit was clamped to 127.
        EXPECT_LE(std::fabs(std::ldexp(back, s.exponents[r]) - v),
                  std::ldexp(1.0, s.exponents[r] - kSliceBits * slices))
            << "slices " << slices << " row " << r << " k " << k;
      }
  }
}

TEST(Int8Slices, ValuesWithFewBitsBelowTheRowsLargestAreExact) {
  // Integers below 2^14 in a row whose largest is 2^13 + 1: two digits hold them exactly.
  std::vector<float> x = {8193, -3, 1, 0, 4095, -8000};
  std::vector<float> w = {7, 11, -13, 17, 19, 23};
  const SlicedOperand sx = split_rows(x, 1, 6, 2);
  const SlicedOperand sw = split_rows(w, 1, 6, 2);
  EXPECT_EQ(sliced_product(sx, sw, every_pair(2))[0], exact_product(x, w, 1, 1, 6)[0]);
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
  const std::vector<double> want = exact_product(x, w, 2, 1, 4);
  EXPECT_EQ(got[0], want[0]);  // three small integers times the row's denormal scale
  EXPECT_EQ(got[1], 0.0);
  EXPECT_TRUE(measure_rows(x, 2, 4).finite);
}

TEST(Int8Slices, SlicePairSumsStayExactBeyondWhatOneInt32PassHolds) {
  // Every digit at its largest, over more terms than one int32 sum could hold.
  const int k = static_cast<int>(kExactK) + 1000;
  std::vector<float> x(k, 127.0f / 128.0f), w(k, -127.0f / 128.0f);
  const SlicedOperand sx = split_rows(x, 1, k, 1);
  const SlicedOperand sw = split_rows(w, 1, k, 1);
  EXPECT_EQ(sliced_product(sx, sw, every_pair(1))[0], -127.0 * 127.0 * k / (128.0 * 128.0));
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
  // The triangle s + t <= p + 1 errs several times more than every pair of the same digits.
  constexpr int m = 24, n = 20, k = 2048;
  const std::vector<float> x = normal(m * k, 16), w = normal(n * k, 17);
  for (int slices = 2; slices <= 4; ++slices)
    EXPECT_GT(emulate(x, w, m, n, k, {.slices = slices, .through = slices + 1}).error,
              3 * emulate(x, w, m, n, k, every_pair(slices)).error)
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
  // Rows spanning 2^20 keep few bits of their scale in most values: what holds uniform data
  // falls short on them (measured, not just estimated), and the guard asks for more.
  const std::vector<float> spread = spanning_2_to_20(m, k, 13);
  const std::vector<float> w = uniform(n * k, 14);
  EXPECT_GT(emulate(spread, w, m, n, k, for_uniform).error, kFp32Accuracy);
  const SliceScheme for_spread = chosen_and_checked(spread, w, m, n, k);
  EXPECT_GT(for_spread.products(), for_uniform.products());
  std::printf(
      "int8 products for fp32 accuracy at K = %d: uniform %d (%d slices through %d), "
      "normal %d (%d through %d), rows spanning 2^20 %d (%d through %d)\n",
      k, for_uniform.products(), for_uniform.slices, for_uniform.through, for_normal.products(),
      for_normal.slices, for_normal.through, for_spread.products(), for_spread.slices,
      for_spread.through);
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
