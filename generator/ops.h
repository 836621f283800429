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

struct EpilogueOpInfo {
  std::string_view name;     // as written in a spec: "leaky_relu"
  std::string_view summary;  // one line for help text
  // Binary ops combine the value with a second input: a scalar written in the spec (mul(2.0)),
  // or a tensor named by its kind (mul(column), add(row), add(tensor)).
  bool binary = false;
  // bias: always a column vector, written without arguments. none for every other op.
  OperandKind fixed_operand = OperandKind::none;
  std::vector<OpParam> params;          // unary ops' scalar parameters, in order
  std::vector<std::string_view> modes;  // named variants, the default first: gelu {"erf", "tanh"}
  // fp32 CUDA expression per mode, with placeholders for fmt::format named arguments:
  // {x} the incoming value, {y} the second input of a binary op, {p0} {p1} the parameters.
  // Every placeholder stands for a plain variable name, so it may appear more than once.
  std::vector<std::string_view> cuda;
  // The op in fp64: y is the second input (binary ops), params as in `params`.
  double (*reference)(double x, double y, std::span<const double> params, int mode) = nullptr;
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

}  // namespace fusetune
