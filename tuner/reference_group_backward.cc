#include "tuner/reference_group_backward.h"

#include <cmath>
#include <string>

#include "fusetune/status.h"

namespace fusetune {
namespace {

double mean_of(std::span<const double> values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double mean_of_products(std::span<const double> a, std::span<const double> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum / static_cast<double>(a.size());
}

// Normalizations by the group's mean and biased variance: x̂ = (x - μ) / σ, σ = sqrt(var + eps).
// d x = (g - mean(g) - x̂ mean(g x̂)) / σ.
std::vector<double> standardized_backward(std::span<const double> x, std::span<const double> y,
                                          std::span<const double> g, double eps) {
  const double mu = mean_of(x);
  double var = 0;
  for (double v : x) var += (v - mu) * (v - mu);
  var /= static_cast<double>(x.size());
  const double sigma = std::sqrt(var + eps);
  const double g_mean = mean_of(g), gy_mean = mean_of_products(g, y);
  std::vector<double> dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) dx[i] = (g[i] - g_mean - y[i] * gy_mean) / sigma;
  return dx;
}

}  // namespace

std::vector<double> group_backward(const ReductionOp& op, std::span<const double> x,
                                   std::span<const double> y, std::span<const double> gradient,
                                   std::span<const double> params) {
  const std::size_t n = x.size();
  std::vector<double> dx(n, 0.0);
  const std::string& name = op.name;
  if (name == "sum" || name == "mean") {
    const double share = name == "sum" ? gradient[0] : gradient[0] / static_cast<double>(n);
    for (double& d : dx) d = share;
  } else if (name == "amax" || name == "amin") {
    std::size_t ties = 0;
    for (double v : x) ties += v == y[0];
    for (std::size_t i = 0; i < n; ++i)
      if (x[i] == y[0]) dx[i] = gradient[0] / static_cast<double>(ties);
  } else if (name == "logsumexp") {
    for (std::size_t i = 0; i < n; ++i) dx[i] = gradient[0] * std::exp(x[i] - y[0]);
  } else if (name == "softmax") {
    const double dot = mean_of_products(gradient, y) * static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) dx[i] = y[i] * (gradient[i] - dot);
  } else if (name == "log_softmax") {
    const double total = mean_of(gradient) * static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) dx[i] = gradient[i] - std::exp(y[i]) * total;
  } else if (name == "layer_norm" || name == "group_norm" || name == "instance_norm" ||
             (name == "batch_norm" && op.training)) {
    return standardized_backward(x, y, gradient, params[0]);
  } else if (name == "rms_norm") {
    // y = x / r, r = sqrt(mean(x²) + eps): d x = (g - y mean(g y)) / r.
    const double r = std::sqrt(mean_of_products(x, x) + params[0]);
    const double gy_mean = mean_of_products(gradient, y);
    for (std::size_t i = 0; i < n; ++i) dx[i] = (gradient[i] - y[i] * gy_mean) / r;
  } else {
    throw Error(StatusCode::invalid_argument,
                "the backward reference does not cover " + name + " yet");
  }
  return dx;
}

}  // namespace fusetune
