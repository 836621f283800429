// ProblemData's fp64 reference on the GPU against direct host computations written here from
// PyTorch's definitions: convolutions by a gather loop, transposed ones by scattering every input
// element, pools over explicitly padded windows, each chain's ops spelled out. Also the inputs'
// bounds, verification of a pooled output, and the seed problem (67M pre-pool values) spot-checked.
#include "tuner/problem_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "tests/gpu_test.h"

namespace fusetune {
namespace {

using Extents = std::array<std::int64_t, 3>;  // d, h, w; d = 1 in 2-d

std::int64_t positions(const Extents& e) { return e[0] * e[1] * e[2]; }

// The spatial extents of a [N, K, (D,) H, W] shape.
Extents spatial(const std::vector<std::int64_t>& shape) {
  Extents e{1, 1, 1};
  std::copy(shape.begin() + 2, shape.end(), e.end() - (shape.size() - 2));
  return e;
}

// x ⋆ weight as F.conv2d ... F.conv_transpose3d compute it, in fp64.
std::vector<double> host_conv(const MainOp& main, const std::vector<float>& x,
                              const std::vector<float>& weight) {
  const ConvGeometry& g = main.conv;
  const Extents in = g.size, out = main.conv_output_size();
  const std::int64_t c_per_group = g.in_channels / g.groups;
  const std::int64_t k_per_group = g.out_channels / g.groups;
  std::vector<double> y(g.batch * g.out_channels * positions(out), 0.0);
  auto x_at = [&](std::int64_t n, std::int64_t c, const Extents& i) {
    return static_cast<double>(
        x[((n * g.in_channels + c) * in[0] + i[0]) * in[1] * in[2] + i[1] * in[2] + i[2]]);
  };
  auto y_at = [&](std::int64_t n, std::int64_t k, const Extents& o) -> double& {
    return y[((n * g.out_channels + k) * out[0] + o[0]) * out[1] * out[2] + o[1] * out[2] + o[2]];
  };
  // weight[a, b, t] of [A, B, kd, kh, kw]
  auto w_at = [&](std::int64_t a, std::int64_t b, std::int64_t b_count, const Extents& t) {
    return static_cast<double>(
        weight[((a * b_count + b) * g.kernel[0] + t[0]) * g.kernel[1] * g.kernel[2] +
               t[1] * g.kernel[2] + t[2]]);
  };
  auto for_each = [](const Extents& extents, const std::function<void(const Extents&)>& f) {
    for (std::int64_t a = 0; a < extents[0]; ++a)
      for (std::int64_t b = 0; b < extents[1]; ++b)
        for (std::int64_t c = 0; c < extents[2]; ++c) f({a, b, c});
  };
  const Extents taps{g.kernel[0], g.kernel[1], g.kernel[2]};
  auto inside = [](const Extents& p, const Extents& e) {
    for (int d = 0; d < 3; ++d)
      if (p[d] < 0 || p[d] >= e[d]) return false;
    return true;
  };
  for (std::int64_t n = 0; n < g.batch; ++n) {
    if (!main.is_transposed_conv()) {
      // out[n, k, o] = Σ x[n, c, o·stride − padding + t·dilation] · weight[k, c in group, t]
      for (std::int64_t k = 0; k < g.out_channels; ++k)
        for_each(out, [&](const Extents& o) {
          for (std::int64_t ci = 0; ci < c_per_group; ++ci)
            for_each(taps, [&](const Extents& t) {
              Extents i;
              for (int d = 0; d < 3; ++d)
                i[d] = o[d] * g.stride[d] - g.padding[d] + t[d] * g.dilation[d];
              if (inside(i, in))
                y_at(n, k, o) +=
                    x_at(n, k / k_per_group * c_per_group + ci, i) * w_at(k, ci, c_per_group, t);
            });
        });
      continue;
    }
    // Every x[n, c, i] adds x · weight[c, k in group, t] to out[n, k, i·stride − padding +
    // t·dilation].
    for (std::int64_t c = 0; c < g.in_channels; ++c)
      for_each(in, [&](const Extents& i) {
        for (std::int64_t ki = 0; ki < k_per_group; ++ki)
          for_each(taps, [&](const Extents& t) {
            Extents o;
            for (int d = 0; d < 3; ++d)
              o[d] = i[d] * g.stride[d] - g.padding[d] + t[d] * g.dilation[d];
            if (inside(o, out))
              y_at(n, c / c_per_group * k_per_group + ki, o) +=
                  x_at(n, c, i) * w_at(c, ki, k_per_group, t);
          });
      });
  }
  return y;
}

// The spec's pool step over `value` (main_shape()) by its definition: the value padded with
// −inf (max) or 0 (avg), and every window of the kernel's size read whole; avg divides by that
// size (count_include_pad=True; with ceil_mode=False no window reaches past the padding).
std::vector<double> host_pool(const Spec& spec, const std::vector<double>& value) {
  const PoolOp& pool = *spec.first_pool();
  const std::vector<std::int64_t> shape = spec.main_shape();
  const Extents in = spatial(shape);
  const std::int64_t planes = shape[0] * shape[1];
  if (pool.kind == PoolKind::global_avg) {
    std::vector<double> mean(planes, 0.0);
    for (std::int64_t p = 0; p < planes; ++p) {
      for (std::int64_t i = 0; i < positions(in); ++i) mean[p] += value[p * positions(in) + i];
      mean[p] /= static_cast<double>(positions(in));
    }
    return mean;
  }
  Extents out;
  for (int d = 0; d < 3; ++d)
    out[d] = (in[d] + 2 * pool.padding[d] - pool.kernel[d]) / pool.stride[d] + 1;
  EXPECT_EQ(spatial(spec.output_shape()), out);
  const double pad = pool.kind == PoolKind::max ? -std::numeric_limits<double>::infinity() : 0.0;
  auto padded = [&](std::int64_t p, std::int64_t z, std::int64_t y, std::int64_t x) {
    if (z < 0 || z >= in[0] || y < 0 || y >= in[1] || x < 0 || x >= in[2]) return pad;
    return value[p * positions(in) + (z * in[1] + y) * in[2] + x];
  };
  std::vector<double> pooled;
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t od = 0; od < out[0]; ++od)
      for (std::int64_t oh = 0; oh < out[1]; ++oh)
        for (std::int64_t ow = 0; ow < out[2]; ++ow) {
          double max = -std::numeric_limits<double>::infinity(), sum = 0;
          for (int a = 0; a < pool.kernel[0]; ++a)
            for (int b = 0; b < pool.kernel[1]; ++b)
              for (int c = 0; c < pool.kernel[2]; ++c) {
                const double v = padded(p, od * pool.stride[0] - pool.padding[0] + a,
                                        oh * pool.stride[1] - pool.padding[1] + b,
                                        ow * pool.stride[2] - pool.padding[2] + c);
                max = std::max(max, v);
                sum += v;
              }
          pooled.push_back(pool.kind == PoolKind::max
                               ? max
                               : sum / (pool.kernel[0] * pool.kernel[1] * pool.kernel[2]));
        }
  return pooled;
}

double leaky_relu(double x, double slope) { return x > 0 ? x : slope * x; }

// The channel of element i of a [N, K, ...] value with `plane` positions per channel.
std::int64_t channel_of(std::size_t i, std::int64_t plane, std::int64_t channels) {
  return static_cast<std::int64_t>(i) / plane % channels;
}

class ProblemDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FUSETUNE_REQUIRE_GPU();
    check_cuda(cudaStreamCreate(&stream_), "creating a stream");
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }

  // The reference matches `expected` (both fp64, summed in other orders) element by element;
  // verify() passes `expected` written as the output in fp32 and fails the poisoned output at
  // every element.
  void expect_reference(ProblemData& data, const std::vector<double>& expected) {
    const std::vector<double> reference = data.reference_values();
    ASSERT_EQ(reference.size(), expected.size());
    ASSERT_EQ(data.output_count(), static_cast<std::int64_t>(expected.size()));
    double scale = 1;
    for (double v : expected) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < expected.size(); ++i)
      ASSERT_NEAR(reference[i], expected[i], 1e-12 * scale) << "element " << i;

    const std::vector<float> narrow(expected.begin(), expected.end());
    check_cuda(cudaMemcpy(data.output(), narrow.data(), narrow.size() * sizeof(float),
                          cudaMemcpyHostToDevice),
               "writing the expected output");
    const Verification right = data.verify();
    EXPECT_EQ(right.non_finite, 0);
    EXPECT_LT(right.rel_err, 1e-6);
    data.poison_output();
    EXPECT_EQ(data.verify().non_finite, data.output_count());
  }

  cudaStream_t stream_ = nullptr;
};

TEST_F(ProblemDataTest, Conv2dWithPaddingStrideDilationAndGroups) {
  const Spec spec = parse_spec(
      "conv2d(n=2, c=4, h=9, w=11, k=6, kernel=(3, 2), stride=(2, 1), padding=(1, 2), "
      "dilation=(2, 3), groups=2)");
  ProblemData data(spec, 11, stream_);
  expect_reference(data, host_conv(spec.main, data.input_values(0), data.input_values(1)));
}

TEST_F(ProblemDataTest, ConvTranspose3dWithOutputPaddingThenTheSeedsChainAndMaxPool) {
  const Spec spec = parse_spec(
      "conv_transpose3d(n=2, c=4, d=3, h=4, w=5, k=6, kernel=(3, 2, 3), stride=(2, 2, 3), "
      "padding=(1, 0, 1), dilation=(1, 2, 1), groups=2, output_padding=(1, 1, 2)) -> bias -> "
      "leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> max_pool3d(2)");
  ASSERT_EQ(spec.main_shape(), (std::vector<std::int64_t>{2, 6, 6, 10, 15}));
  ProblemData data(spec, 12, stream_);
  std::vector<double> value = host_conv(spec.main, data.input_values(0), data.input_values(1));
  const std::vector<float> bias = data.input_values(2), m = data.input_values(3);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::int64_t k = channel_of(i, 6 * 10 * 15, 6);
    value[i] = leaky_relu(leaky_relu(value[i] + bias[k], 0.2) * m[k], 0.2);
  }
  expect_reference(data, host_pool(spec, value));
}

TEST_F(ProblemDataTest, AReferenceWhoseHostHalfRanInTheBackgroundIsTheSameOnceFinished) {
  // The worker draws the winner's re-check inputs this way, while candidates run.
  const Spec spec = parse_spec(
      "conv_transpose3d(n=2, c=4, d=4, h=6, w=6, k=8, kernel=3, stride=2, padding=1, "
      "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> max_pool3d(2)");
  ProblemData now(spec, 21, stream_);
  ProblemData later(spec, 21, stream_, /*host_part_later=*/true);
  later.finish_reference();
  EXPECT_EQ(later.reference_values(), now.reference_values());
  ProblemData other(spec, 22, stream_, /*host_part_later=*/true);
  other.finish_reference();
  EXPECT_NE(other.reference_values(), now.reference_values()) << "another seed, other inputs";
}

TEST_F(ProblemDataTest, AvgPoolWithPaddingCountsItThenOpsOnThePooledValue) {
  const Spec spec = parse_spec(
      "conv2d(n=2, c=3, h=10, w=9, k=4, kernel=3, padding=1) -> relu -> avg_pool2d(3, stride=2, "
      "padding=1) -> mul(tensor) -> add(channel) -> tanh");
  ProblemData data(spec, 13, stream_);
  std::vector<double> value = host_conv(spec.main, data.input_values(0), data.input_values(1));
  for (double& v : value) v = std::max(v, 0.0);
  std::vector<double> pooled = host_pool(spec, value);
  ASSERT_EQ(spec.output_shape(), (std::vector<std::int64_t>{2, 4, 5, 5}));
  const std::vector<float> t = data.input_values(2), c = data.input_values(3);
  for (std::size_t i = 0; i < pooled.size(); ++i)
    pooled[i] = std::tanh(pooled[i] * t[i] + c[channel_of(i, 25, 4)]);
  expect_reference(data, pooled);
}

TEST_F(ProblemDataTest, MaxPoolWithPaddingNeverPicksThePadding) {
  // No relu before the pool: windows at the edge hold negative values that a zero would beat.
  const Spec spec = parse_spec(
      "conv3d(n=1, c=2, d=3, h=7, w=8, k=3, kernel=(1, 2, 2)) -> max_pool3d((1, 3, 3), "
      "stride=(1, 2, 2), padding=(0, 1, 1)) -> sub(0.5)");
  ProblemData data(spec, 14, stream_);
  std::vector<double> pooled =
      host_pool(spec, host_conv(spec.main, data.input_values(0), data.input_values(1)));
  for (double& v : pooled) v -= 0.5;
  expect_reference(data, pooled);
}

TEST_F(ProblemDataTest, GlobalAvgPoolThenOpsAfterIt) {
  const Spec spec = parse_spec(
      "conv3d(n=2, c=3, d=4, h=5, w=6, k=5, kernel=(2, 3, 3)) -> global_avg_pool -> "
      "add(channel) -> sigmoid");
  ProblemData data(spec, 15, stream_);
  std::vector<double> pooled =
      host_pool(spec, host_conv(spec.main, data.input_values(0), data.input_values(1)));
  ASSERT_EQ(pooled.size(), 10u);
  const std::vector<float> c = data.input_values(2);
  for (std::size_t i = 0; i < pooled.size(); ++i)
    pooled[i] = 1 / (1 + std::exp(-(pooled[i] + c[i % 5])));
  expect_reference(data, pooled);
}

TEST_F(ProblemDataTest, MainOperandIsTheLayersOutputWithItsBias) {
  // y = conv_transpose(x) + b; x = y + c; x = x * y; x = x + y
  const Spec spec = parse_spec(
      "conv_transpose2d(n=2, c=4, h=5, w=6, k=4, kernel=3, stride=2, padding=1, groups=4) -> "
      "bias -> add(channel) -> mul(main) -> add(main)");
  ProblemData data(spec, 16, stream_);
  std::vector<double> value = host_conv(spec.main, data.input_values(0), data.input_values(1));
  const std::vector<float> bias = data.input_values(2), c = data.input_values(3);
  const std::int64_t plane = spec.main_shape()[2] * spec.main_shape()[3];
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::int64_t k = channel_of(i, plane, 4);
    const double y = value[i] + bias[k];
    value[i] = (y + c[k]) * y + y;
  }
  expect_reference(data, value);
}

TEST_F(ProblemDataTest, GemmMainOperandIsTheLinearLayersOutput) {
  const Spec spec = parse_spec("linear(m=33, n=17, k=20) -> bias -> gelu -> mul(main)");
  ProblemData data(spec, 17, stream_);
  const std::vector<float> x = data.input_values(0), w = data.input_values(1),
                           bias = data.input_values(2);
  std::vector<double> expected;
  for (int row = 0; row < 33; ++row)
    for (int column = 0; column < 17; ++column) {
      double y = bias[column];
      for (int k = 0; k < 20; ++k)
        y += static_cast<double>(x[row * 20 + k]) * static_cast<double>(w[column * 20 + k]);
      expected.push_back(0.5 * y * (1 + std::erf(y / std::sqrt(2.0))) * y);
    }
  expect_reference(data, expected);
}

TEST_F(ProblemDataTest, WeightsAreBoundedAsPyTorchInitialisesTheLayer) {
  // fan_in = weight.size(1)·taps: C/groups = 4 for the convolution, K/groups = 8 for the
  // transposed one (its weight is [C, K/groups, ...]).
  struct Case {
    const char* spec;
    double bound;
  };
  for (const Case& c :
       {Case{"conv2d(n=1, c=8, h=16, w=16, k=64, kernel=3, groups=2)", 1 / std::sqrt(4.0 * 9)},
        Case{"conv_transpose2d(n=1, c=64, h=4, w=4, k=16, kernel=3, groups=2)",
             1 / std::sqrt(8.0 * 9)}}) {
    SCOPED_TRACE(c.spec);
    ProblemData data(parse_spec(c.spec), 18, stream_);
    auto largest = [](const std::vector<float>& values) {
      double m = 0;
      for (float v : values) m = std::max(m, std::abs(static_cast<double>(v)));
      return m;
    };
    const double weight = largest(data.input_values(1));  // thousands of values
    EXPECT_LE(weight, c.bound * (1 + 1e-6));              // the bound is rounded to fp32
    EXPECT_GT(weight, 0.95 * c.bound);
    EXPECT_GT(largest(data.input_values(0)), 0.95);  // other inputs in [-1, 1]
    EXPECT_LE(largest(data.input_values(0)), 1.0);   // 2048 and 1024 values
  }
}

TEST_F(ProblemDataTest, NormalInputsHaveTheirMeanAndSpreadAndTheReferenceFollowsThem) {
  // The activation standard normal, the weight's standard deviation 1/sqrt(K), every row's
  // largest value several times its typical one; the reference is of the values drawn.
  const Spec spec = parse_spec("linear(m=64, n=48, k=256)");
  ProblemData data(spec, 19, stream_, false, InputDistribution::normal);
  const auto moments = [](const std::vector<float>& values) {
    double sum = 0, squares = 0, largest = 0;
    for (float v : values) {
      sum += v;
      squares += static_cast<double>(v) * v;
      largest = std::max(largest, std::abs(static_cast<double>(v)));
    }
    const double count = static_cast<double>(values.size());
    return std::array<double, 3>{sum / count, std::sqrt(squares / count), largest};
  };
  const std::vector<float> x = data.input_values(0), w = data.input_values(1);
  const std::array<double, 3> mx = moments(x), mw = moments(w);
  EXPECT_NEAR(mx[0], 0.0, 0.02);  // 16384 values: the mean's spread is 1/128
  EXPECT_NEAR(mx[1], 1.0, 0.03);
  EXPECT_GT(mx[2], 3.5);  // a uniform draw never leaves [-1, 1]
  EXPECT_NEAR(mw[1], 1 / std::sqrt(256.0), 0.03 / 16);
  std::vector<double> expected;
  for (int row = 0; row < 64; ++row)
    for (int column = 0; column < 48; ++column) {
      double y = 0;
      for (int k = 0; k < 256; ++k)
        y += static_cast<double>(x[row * 256 + k]) * static_cast<double>(w[column * 256 + k]);
      expected.push_back(y);
    }
  expect_reference(data, expected);
}

TEST_F(ProblemDataTest, TheSeedProblemsReferenceHoldsAtSampledOutputs) {
  // 67M pre-pool values: the reference kernel's grid-stride loop and 64-bit indices. Each
  // sampled output is recomputed from the definition, the (input, tap) pairs that reach an
  // output position found by enumerating both along each dimension.
  const Spec spec = parse_spec(
      "conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1, "
      "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
      "max_pool3d(2)");
  ProblemData data(spec, 19, stream_);
  const std::vector<float> x = data.input_values(0), w = data.input_values(1),
                           bias = data.input_values(2), m = data.input_values(3);
  const std::vector<double> reference = data.reference_values();
  ASSERT_EQ(reference.size(), 16u * 32 * 16 * 32 * 32);
  auto pairs = [](std::int64_t o, std::int64_t size) {  // (i, t) with o = 2i − 1 + t
    std::vector<std::array<std::int64_t, 2>> found;
    for (std::int64_t i = 0; i < size; ++i)
      for (std::int64_t t = 0; t < 3; ++t)
        if (2 * i - 1 + t == o) found.push_back({i, t});
    return found;
  };
  auto layer = [&](std::int64_t n, std::int64_t k, std::int64_t od, std::int64_t oh,
                   std::int64_t ow) {
    double y = bias[k];
    for (const auto& [id, td] : pairs(od, 16))
      for (const auto& [ih, th] : pairs(oh, 32))
        for (const auto& [iw, tw] : pairs(ow, 32))
          for (std::int64_t c = 0; c < 16; ++c)
            y += static_cast<double>(x[(((n * 16 + c) * 16 + id) * 32 + ih) * 32 + iw]) *
                 static_cast<double>(w[(((c * 32 + k) * 3 + td) * 3 + th) * 3 + tw]);
    return leaky_relu(leaky_relu(y, 0.2) * m[k], 0.2);
  };
  std::mt19937_64 random(20);
  std::vector<std::int64_t> samples{0, static_cast<std::int64_t>(reference.size()) - 1};
  for (int s = 0; s < 62; ++s)
    samples.push_back(static_cast<std::int64_t>(random() % reference.size()));
  for (std::int64_t index : samples) {
    std::int64_t rest = index;
    const std::int64_t pw = rest % 32, ph = rest / 32 % 32, pd = rest / 1024 % 16;
    rest /= 32 * 32 * 16;
    const std::int64_t k = rest % 32, n = rest / 32;
    double expected = -std::numeric_limits<double>::infinity();
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 2; ++c)
          expected = std::max(expected, layer(n, k, 2 * pd + a, 2 * ph + b, 2 * pw + c));
    EXPECT_NEAR(reference[index], expected, 1e-12) << "pooled output " << index;
  }
}

}  // namespace
}  // namespace fusetune
