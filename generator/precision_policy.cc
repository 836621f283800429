#include "generator/precision_policy.h"

#include <fmt/format.h>

#include <cmath>

#include "fusetune/status.h"

namespace fusetune {

double expected_error(Precision precision) {
  // Measured on the seed problem (K = 8192, bench/RESULTS.md): fusetune's FFMA 8.1e-7 (PyTorch's
  // SGEMM 1.6e-6), 3xTF32 2.2e-7, TF32 2.4e-4 (cuBLAS TF32 1.4e-4 to 2.8e-4). The first two are
  // rounded up to leave room for other shapes and inputs.
  switch (precision) {
    case Precision::fp32:
      return 2e-6;
    case Precision::tf32x3:
      return 1e-6;
    case Precision::tf32:
      return 3e-4;
  }
  return 1;
}

std::vector<Precision> PrecisionPolicy::precisions() const {
  if (precision) return {*precision};
  std::vector<Precision> eligible;
  // Fastest expected first: TF32 runs at the tensor cores' rate, 3xTF32 at a third of it.
  for (Precision p : {Precision::tf32, Precision::tf32x3, Precision::fp32})
    if (expected_error(p) <= tolerance) eligible.push_back(p);
  return eligible;
}

std::string PrecisionPolicy::name() const {
  return precision ? std::string(to_string(*precision)) : "auto";
}

PrecisionPolicy make_precision_policy(std::string_view name, std::optional<double> tolerance) {
  if (tolerance && !(std::isfinite(*tolerance) && *tolerance > 0))
    throw Error(StatusCode::invalid_argument,
                fmt::format("tolerance {} is not a positive number; give the largest relative "
                            "error against fp64 a kernel may have, e.g. 1e-5",
                            *tolerance));
  PrecisionPolicy policy;
  if (name != "auto") {
    policy.precision = precision_from_string(name);
    if (!policy.precision)
      throw Error(StatusCode::invalid_argument,
                  fmt::format("precision '{}' is not one of fp32, tf32, 3xtf32, auto", name));
  }
  policy.tolerance =
      tolerance.value_or(policy.precision ? default_tolerance(*policy.precision) : 1e-5);
  if (policy.is_auto() && policy.precisions().empty())
    throw Error(StatusCode::invalid_argument,
                fmt::format("no precision reaches a relative error of {:g} (the most accurate, "
                            "3xtf32, typically reaches {:g}); give a larger --tolerance",
                            policy.tolerance, expected_error(Precision::tf32x3)));
  return policy;
}

std::optional<std::size_t> choose_fastest_within(const std::vector<PrecisionWinner>& winners,
                                                 double tolerance) {
  std::optional<std::size_t> chosen;
  for (std::size_t i = 0; i < winners.size(); ++i) {
    if (!(winners[i].rel_err <= tolerance)) continue;
    if (!chosen || winners[i].time_ms < winners[*chosen].time_ms) chosen = i;
  }
  return chosen;
}

}  // namespace fusetune
