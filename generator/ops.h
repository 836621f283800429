// The registry of epilogue ops: what each is called in a spec, what arguments it takes, the CUDA
// text that computes it in fp32 inside a generated kernel, and an fp64 reference written
// independently of that text, which verification uses.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "generator/spec.h"

namespace fusetune {

// A scalar parameter of a unary op, e.g. leaky_relu's negative_slope.
struct OpParam {
  std::string_view name;
  double default_value = 0;
  bool required = false;  // no default: the spec must give it (clamp's min and max)
};

// What an op's derivative reads of the forward at this op: nothing (a constant, or only the
// second input, which the backward has anyway), its input, or its output. A backward that
// keeps or recomputes the forward keeps whichever is named.
enum class Keeps { nothing, input, output };

// The derivatives of an op, for fused backward passes: d out / d x and, for binary ops,
// d out / d y, with PyTorch's conventions where the op has a kink (relu'(0) = 0, leaky_relu'(0)
// = negative_slope, hardtanh' = 0 at and beyond its bounds, clamp' = 1 at its bounds, an even
// split between equal inputs of min and max).
struct OpDerivative {
  Keeps keeps = Keeps::nothing;
  // fp32 CUDA per mode, with the forward's placeholders and {o}, the op's output.
  std::vector<std::string_view> cuda;
  std::string_view cuda_dy;  // binary ops
  // In fp64, from PyTorch's backward formulas; no text shared with `cuda` nor with the forward
  // reference (a finite-difference test holds the two references together).
  double (*reference)(double x, double y, std::span<const double> params, int mode) = nullptr;
  double (*reference_dy)(double x, double y, std::span<const double> params, int mode) = nullptr;
};

struct EpilogueOpInfo {
  std::string_view name;     // as written in a spec: "leaky_relu"
  std::string_view summary;  // one line for help text
  // Binary ops combine the value with a second input: a scalar written in the spec (mul(2.0)),
  // or a tensor named by its kind (mul(column), add(row), add(tensor)).
  bool binary = false;
  // bias: always a column vector, written without arguments. none for every other op.
  OperandKind fixed_operand = OperandKind::none;
  // save: the op writes the running value into its tensor (a full tensor of the value's shape,
  // TensorArg::updated) instead of reading it, and passes the value on unchanged. What a
  // training forward keeps for its backward pass.
  bool writes_operand = false;
  std::vector<OpParam> params;          // unary ops' scalar parameters, in order
  std::vector<std::string_view> modes;  // named variants, the default first: gelu {"erf", "tanh"}
  // fp32 CUDA expression per mode, with placeholders for fmt::format named arguments:
  // {x} the incoming value, {y} the second input of a binary op, {p0} {p1} the parameters.
  // Every placeholder stands for a plain variable name, so it may appear more than once.
  std::vector<std::string_view> cuda;
  // The op in fp64: y is the second input (binary ops), params as in `params`.
  double (*reference)(double x, double y, std::span<const double> params, int mode) = nullptr;
  OpDerivative derivative;
};

// Every registered op, in a fixed order.
std::span<const EpilogueOpInfo> epilogue_ops();

// The op called `name`, or nullptr.
const EpilogueOpInfo* find_epilogue_op(std::string_view name);

// The registry entry of a spec's op; throws Error(internal) for a name the registry lacks.
const EpilogueOpInfo& info_of(const EpilogueOp& op);

// The fp64 reference of one op as written in a spec. `y` is the second input's value at this
// element for column, row and tensor operands; a scalar operand is read from op.scalars.
double apply_reference(const EpilogueOp& op, double x, double y);

// d out / d x and d out / d y (0 for a unary op) of one op as written in a spec, in fp64.
struct OpSlopes {
  double dx = 0;
  double dy = 0;
};
OpSlopes apply_derivative_reference(const EpilogueOp& op, double x, double y);

}  // namespace fusetune
