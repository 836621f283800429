#include "generator/precision_policy.h"

#include <fmt/format.h>

#include <cmath>

#include "fusetune/status.h"

namespace fusetune {

double expected_error(Precision precision, DataType output) {
  // A 16-bit output's rounding alone: half an ulp, uniformly spread (bf16 2^-8, fp16 2^-11
  // relative). Measured on the seed shape (bench/RESULTS.md): bf16 1.7e-3, fp16 2.1e-4.
  if (output == DataType::bf16) return 2e-3;
  if (output == DataType::fp16) return 3e-4;
  // Measured on the seed problem (K = 8192, bench/RESULTS.md): fusetune's FFMA 8.1e-7 (PyTorch's
  // SGEMM 1.6e-6), 3xTF32 2.2e-7, TF32 2.4e-4 (cuBLAS TF32 1.4e-4 to 2.8e-4). The first two are
  // rounded up to leave room for other shapes and inputs.
  switch (precision) {
    case Precision::fp32:
      return 2e-6;
    case Precision::tf32x3:
      return 1e-6;
    case Precision::int8x:
      // Three balanced digits, digit pairs through 4 (generator/int8_slices.h's host model:
      // 1.6e-7 on uniform, 1e-6 on normal data at the seed's K); where a launch's data needs
      // more, the guard computes it with more pairs or in fp32 instead.
      return 2e-6;
    case Precision::tf32:
      return 3e-4;
    case Precision::bf16:
    case Precision::fp16:
      // Exact products, fp32 accumulation; with an fp32 output the seed shape measured 4.3e-6
      // (bf16) and 4.9e-6 (fp16). Rounded up for the tensor cores' truncating accumulation at
      // longer K.
      return 3e-5;
  }
  return 1;
}

std::vector<Precision> PrecisionPolicy::precisions() const {
  if (precision) return {*precision};
  std::vector<Precision> eligible;
  // Fastest expected first: 16-bit inputs at twice TF32's rate, TF32 at the tensor cores' fp32
  // rate, int8x's six int8 products at four times TF32's rate each, 3xTF32 at a third of TF32's.
  for (Precision p : {Precision::bf16, Precision::fp16, Precision::tf32, Precision::int8x,
                      Precision::tf32x3, Precision::fp32})
    if (input_type(p) == inputs && expected_error(p, output) <= tolerance) eligible.push_back(p);
  return eligible;
}

std::string PrecisionPolicy::name() const {
  return precision ? std::string(to_string(*precision)) : "auto";
}

std::optional<std::string> tolerance_problem(double tolerance) {
  if (!(std::isfinite(tolerance) && tolerance > 0))
    return fmt::format(
        "tolerance {} is not a positive number; give the largest relative error "
        "against fp64 a kernel may have, e.g. 1e-5",
        tolerance);
  if (tolerance >= 1)
    return fmt::format(
        "tolerance {:g} would pass a kernel that writes nothing: an output of zeros "
        "has a relative error of 1 against fp64. Give the largest relative error "
        "a kernel may have, below 1, e.g. 1e-5",
        tolerance);
  return std::nullopt;
}

void check_precision_request(std::string_view name, std::optional<double> tolerance) {
  if (tolerance)
    if (std::optional<std::string> problem = tolerance_problem(*tolerance))
      throw Error(StatusCode::invalid_argument, *problem);
  if (!name.empty() && name != "auto" && !precision_from_string(name))
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("precision '{}' is not one of fp32, tf32, 3xtf32, bf16, fp16, auto", name));
}

void require_precision_reads(Precision precision, const MainOp& main) {
  if (input_type(precision) == main.dtype) return;
  throw Error(
      StatusCode::invalid_argument,
      fmt::format("precision {} multiplies {} inputs and this spec's are {}; use "
                  "--precision {} (or auto), or write dtype={} in the main op",
                  to_string(precision), to_string(input_type(precision)), to_string(main.dtype),
                  to_string(native_precision(main.dtype)), to_string(input_type(precision))));
}

PrecisionPolicy make_precision_policy(std::string_view name, std::optional<double> tolerance,
                                      const MainOp& main) {
  check_precision_request(name, tolerance);
  PrecisionPolicy policy;
  policy.inputs = main.dtype;
  policy.output = main.output_dtype();
  if (name.empty())
    policy.precision = native_precision(main.dtype);
  else if (name != "auto")
    policy.precision = precision_from_string(name);
  if (policy.precision) require_precision_reads(*policy.precision, main);
  const Precision defaults_from = policy.precision.value_or(
      policy.output == DataType::fp32 ? Precision::fp32 : native_precision(main.dtype));
  policy.tolerance = tolerance.value_or(default_tolerance(defaults_from, policy.output));
  if (policy.is_auto() && policy.precisions().empty()) {
    const Precision best =
        main.dtype == DataType::fp32 ? Precision::tf32x3 : native_precision(main.dtype);
    throw Error(
        StatusCode::invalid_argument,
        fmt::format("no precision reaches a relative error of {:g} (the most accurate, "
                    "{}, typically reaches {:g}); give a larger --tolerance",
                    policy.tolerance, to_string(best), expected_error(best, policy.output)));
  }
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
