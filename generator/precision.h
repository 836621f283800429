// The arithmetic a kernel uses, and the error it is held to.
#pragma once

#include <optional>
#include <string_view>

#include "generator/data_type.h"

namespace fusetune {

enum class Precision {
  fp32,    // fp32 data: exact fp32 FFMA on CUDA cores
  tf32,    // fp32 data: tensor cores on operands rounded to TF32 (10-bit mantissas)
  tf32x3,  // fp32 data: 3xTF32, tensor cores on big + small TF32 parts, fp32-level accuracy
  bf16,    // bf16 data: tensor cores, exact products, fp32 accumulation
  fp16,    // fp16 data: likewise
  int8x,   // fp32 data: int8 tensor cores on each value's int8 digits, exact products recombined
           // in fp64 (generator/int8_slices.h), fp32-level accuracy
};

// "fp32", "tf32", "3xtf32", "bf16", "fp16", "int8x"
std::string_view to_string(Precision precision);

// Every precision, in the order help text lists them.
inline constexpr Precision kPrecisions[] = {Precision::fp32, Precision::tf32, Precision::tf32x3,
                                            Precision::bf16, Precision::fp16, Precision::int8x};
std::optional<Precision> precision_from_string(std::string_view text);

// The element type of the inputs a precision multiplies: bf16 and fp16 read their own type,
// the others fp32.
DataType input_type(Precision precision);
// The precision that multiplies `inputs` as they are: fp32 (FFMA), bf16 or fp16.
Precision native_precision(DataType inputs);

// The precision of a tensor-core kernel on `operands` taking `passes` (3: 3xTF32) per product.
Precision tensor_core_precision(DataType operands, int passes);

// The relative Frobenius error against fp64 that a kernel of this precision is held to unless
// the user says otherwise: 1e-5 for fp32-level arithmetic, 5e-4 for TF32, 1e-4 for 16-bit
// inputs with fp32 output; a 16-bit output's own rounding allows 1e-2 (bf16) or 2e-3 (fp16).
double default_tolerance(Precision precision, DataType output = DataType::fp32);

}  // namespace fusetune
