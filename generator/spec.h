// The fused operation a user asks for: a main op, then a chain of elementwise epilogue ops.
//
//   linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)
//
// A Spec is plain data. parse_spec() builds one from text (spec_parser.h); canonical() prints
// it back so that parse_spec(s.canonical()) == s, which makes the canonical text a cache key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "generator/data_type.h"

namespace fusetune {

enum class MainOpKind {
  linear,  // out[M,N] = x[M,K] · weight[N,K]ᵀ        (PyTorch nn.Linear without its bias)
  matmul,  // out[M,N] = a[M,K] · b[K,N]; transpose_a: a stored [K,M]; transpose_b: b stored [N,K]
};

struct MainOp {
  MainOpKind kind = MainOpKind::linear;
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool transpose_a = false;  // matmul only
  bool transpose_b = false;  // matmul only
  // The element type of every input tensor (dtype=bf16); products accumulate in fp32 whatever
  // it is. The output has the inputs' type unless out_dtype=fp32 sets `fp32_output`.
  DataType dtype = DataType::fp32;
  bool fp32_output = false;  // only with 16-bit inputs

  DataType output_dtype() const { return fp32_output ? DataType::fp32 : dtype; }

  // Whether the first operand is stored with k contiguous (x[M,K]), and the second (weight[N,K]).
  bool a_k_contiguous() const;
  bool b_k_contiguous() const;

  friend bool operator==(const MainOp&, const MainOp&) = default;
};

// What the second input of a binary epilogue op is.
enum class OperandKind {
  none,    // unary op (relu, gelu, ...)
  scalar,  // one number, a kernel argument: mul(2.0)
  column,  // a vector over N, broadcast down the rows: mul(column), and bias
  row,     // a vector over M, broadcast along the columns: add(row)
  tensor,  // a full [M, N] tensor, e.g. a residual: add(tensor)
};

struct EpilogueOp {
  std::string name;  // a name from the op registry (ops.h): "bias", "leaky_relu", ...
  OperandKind operand = OperandKind::none;
  std::vector<double> scalars;  // the op's scalar values in registry order (mul(2.0): {2.0})
  int mode = 0;                 // index into the op's modes: gelu "erf" (0) or "tanh" (1)

  friend bool operator==(const EpilogueOp&, const EpilogueOp&) = default;
};

// A tensor the kernel reads, in the order a launch passes them.
struct TensorArg {
  std::string name;                 // "x", "weight", "bias", "add_tensor", ...
  std::vector<std::int64_t> shape;  // row-major, contiguous
  DataType dtype = DataType::fp32;  // the main op's dtype, for every input
};

// A scalar the kernel reads, in the order a launch passes them.
struct ScalarArg {
  std::string name;  // "<op>.<parameter>", e.g. "mul.value", "leaky_relu.negative_slope"
  double value;      // as written in the spec: the default at launch
};

struct Spec {
  MainOp main;
  std::vector<EpilogueOp> epilogue;

  // The one text that parses back to this spec: fixed argument order, every scalar written out,
  // numbers in shortest round-trip form ("2.0", "0.1", "1e-05").
  std::string canonical() const;
  // canonical() with every scalar value written as "_": the tuning key, since scalars are
  // kernel arguments and one tuned kernel serves every value.
  std::string signature() const;

  std::vector<TensorArg> tensors() const;  // inputs: main-op operands, then epilogue operands
  std::vector<ScalarArg> scalars() const;
  std::vector<std::int64_t> output_shape() const;  // [M, N]
  double flops() const;                            // 2·M·N·K, the main op's work

  friend bool operator==(const Spec&, const Spec&) = default;
};

}  // namespace fusetune
