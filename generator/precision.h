// The arithmetic a kernel uses for fp32 data, and the error it is expected to reach.
#pragma once

#include <optional>
#include <string_view>

namespace fusetune {

enum class Precision {
  fp32,    // exact fp32 FFMA on CUDA cores
  tf32,    // tensor cores on operands rounded to TF32 (10-bit mantissas)
  tf32x3,  // 3xTF32: tensor cores on big + small TF32 parts, fp32-level accuracy
};

std::string_view to_string(Precision precision);  // "fp32", "tf32", "3xtf32"

// Every precision, in the order help text lists them.
inline constexpr Precision kPrecisions[] = {Precision::fp32, Precision::tf32, Precision::tf32x3};
std::optional<Precision> precision_from_string(std::string_view text);

// The relative Frobenius error against fp64 that a kernel of this precision is held to unless
// the user says otherwise: 1e-5 for fp32-level arithmetic, 5e-4 for TF32.
double default_tolerance(Precision precision);

}  // namespace fusetune
