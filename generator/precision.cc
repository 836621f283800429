#include "generator/precision.h"

namespace fusetune {

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
    case Precision::tf32x3:
      return "3xtf32";
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::int8x:
      return "int8x";
  }
  return "unknown";
}

DataType input_type(Precision precision) {
  return precision == Precision::bf16   ? DataType::bf16
         : precision == Precision::fp16 ? DataType::fp16
                                        : DataType::fp32;
}

Precision native_precision(DataType inputs) {
  return inputs == DataType::bf16   ? Precision::bf16
         : inputs == DataType::fp16 ? Precision::fp16
                                    : Precision::fp32;
}

std::optional<Precision> precision_from_string(std::string_view text) {
  for (Precision p : kPrecisions)
    if (to_string(p) == text) return p;
  return std::nullopt;
}

Precision tensor_core_precision(DataType operands, int passes) {
  if (operands != DataType::fp32) return native_precision(operands);
  return passes == 3 ? Precision::tf32x3 : Precision::tf32;
}

double default_tolerance(Precision precision, DataType output) {
  if (output == DataType::bf16) return 1e-2;
  if (output == DataType::fp16) return 2e-3;
  switch (precision) {
    case Precision::tf32:
      return 5e-4;
    case Precision::bf16:
    case Precision::fp16:
      return 1e-4;
    default:
      return 1e-5;
  }
}

}  // namespace fusetune
