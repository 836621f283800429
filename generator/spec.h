// The fused operation a user asks for: a main op, then a chain of ops on its result:
// elementwise ops, pool steps after a convolution, and reductions and normalizations along
// dims of the running value.
//
//   linear(m=1024, n=8192, k=8192) -> bias -> mul(2.0) -> leaky_relu(0.1)
//   conv_transpose3d(n=16, c=16, d=16, h=32, w=32, k=32, kernel=3, stride=2, padding=1,
//                    output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel)
//                    -> leaky_relu(0.2) -> max_pool3d(2)
//   linear(m=128, n=4096, k=4096) -> bias -> layer_norm(normalized_shape=4096, eps=1e-05)
//   conv2d(...) -> bias -> group_norm(groups=8, eps=1e-05) -> sum(dim=(2, 3), keepdim=true)
//   linear(m=2049..4096, n=8192, k=8192) -> bias -> relu      (a bucket: any m in the range)
//
// A Spec is plain data. parse_spec() builds one from text (spec_parser.h); canonical() prints
// it back so that parse_spec(s.canonical()) == s, which makes the canonical text a cache key.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "generator/data_type.h"

namespace fusetune {

enum class MainOpKind {
  linear,  // out[M,N] = x[M,K] · weight[N,K]ᵀ        (PyTorch nn.Linear without its bias)
  matmul,  // out[M,N] = a[M,K] · b[K,N]; transpose_a: a stored [K,M]; transpose_b: b stored [N,K]
  // Convolutions in PyTorch's layouts (F.conv2d ... F.conv_transpose3d without their bias):
  // x [N, C, (D,) H, W]; weight [K, C/groups, kernel...], transposed [C, K/groups, kernel...];
  // out [N, K, (D',) H', W'].
  conv2d,
  conv3d,
  conv_transpose2d,
  conv_transpose3d,
};

// A convolution's geometry, in PyTorch's terms. Spatial values are per dimension (d, h, w); a
// 2-d convolution has size 1, kernel 1, stride 1 and padding 0 along d.
struct ConvGeometry {
  std::int64_t batch = 0;                     // n
  std::int64_t in_channels = 0;               // c
  std::int64_t out_channels = 0;              // k
  std::array<std::int64_t, 3> size{1, 1, 1};  // the input's d, h, w
  std::array<int, 3> kernel{1, 1, 1};
  std::array<int, 3> stride{1, 1, 1};
  std::array<int, 3> padding{0, 0, 0};
  std::array<int, 3> dilation{1, 1, 1};
  std::array<int, 3> output_padding{0, 0, 0};  // transposed only
  int groups = 1;

  std::int64_t taps() const { return std::int64_t{kernel[0]} * kernel[1] * kernel[2]; }
  std::int64_t input_positions() const { return size[0] * size[1] * size[2]; }

  friend bool operator==(const ConvGeometry&, const ConvGeometry&) = default;
};

struct MainOp {
  MainOpKind kind = MainOpKind::linear;
  // The rows of x and of the output. With m_min (m=2049..4096: a bucket), m is the range's top
  // and the row count of each call is a launch argument in [m_min, m]; 0: one shape.
  std::int64_t m = 0;
  std::int64_t m_min = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool transpose_a = false;  // matmul only
  bool transpose_b = false;  // matmul only
  // The element type of every input tensor (dtype=bf16); products accumulate in fp32 whatever
  // it is. The output has the inputs' type unless out_dtype=fp32 sets `fp32_output`.
  DataType dtype = DataType::fp32;
  bool fp32_output = false;  // only with 16-bit inputs
  ConvGeometry conv{};       // convolutions only; m, n and k are then 0

  DataType output_dtype() const { return fp32_output ? DataType::fp32 : dtype; }

  // Whether the first operand is stored with k contiguous (x[M,K]), and the second (weight[N,K]).
  bool a_k_contiguous() const;
  bool b_k_contiguous() const;

  bool is_conv() const { return kind != MainOpKind::linear && kind != MainOpKind::matmul; }
  // A bucket: one kernel for every row count in [m_min, m], tuned and cached as one spec.
  bool is_row_range() const { return m_min > 0; }
  // What a launch passes as LaunchArgs::rows: a GEMM's m (a bucket's top), a convolution's n.
  std::int64_t launch_rows() const { return is_conv() ? conv.batch : m; }
  bool is_transposed_conv() const {
    return kind == MainOpKind::conv_transpose2d || kind == MainOpKind::conv_transpose3d;
  }
  int spatial_dims() const;  // 2 or 3 for convolutions, 0 otherwise
  // The convolution's output d, h, w (d = 1 in 2-d), from PyTorch's formulas.
  std::array<std::int64_t, 3> conv_output_size() const;

  friend bool operator==(const MainOp&, const MainOp&) = default;
};

// What the second input of a binary epilogue op is.
enum class OperandKind {
  none,     // unary op (relu, gelu, ...)
  scalar,   // one number, a kernel argument: mul(2.0)
  column,   // a vector over N, broadcast down the rows: mul(column), and bias
  row,      // a vector over M, broadcast along the columns: add(row)
  tensor,   // a full tensor of the value's shape, e.g. a residual: add(tensor)
  channel,  // convolutions: a vector over the output channels ([K, 1, 1(, 1)]): mul(channel), bias
  // The main op's result as its PyTorch layer returns it: with the bias when the chain starts
  // with bias (nn.ConvTranspose3d(bias=True)). `y = conv(x); x = y + b2; x = x * y` is
  // `conv...(...) -> bias -> add(channel) -> mul(main)`. Before any pool step or reduction.
  main,
};

// An elementwise op: each element of the running value in, one out.
struct EpilogueOp {
  std::string name;  // a name from the op registry (ops.h): "bias", "leaky_relu", ...
  OperandKind operand = OperandKind::none;
  std::vector<double> scalars;  // the op's scalar values in registry order (mul(2.0): {2.0})
  int mode = 0;                 // index into the op's modes: gelu "erf" (0) or "tanh" (1)

  friend bool operator==(const EpilogueOp&, const EpilogueOp&) = default;
};

enum class PoolKind {
  max,         // max_pool2d / max_pool3d(kernel, stride=kernel, padding=0)
  avg,         // avg_pool2d / avg_pool3d, PyTorch's count_include_pad=True divisor
  global_avg,  // the mean over every spatial position (adaptive_avg_pool to 1), kept as 1s
};

// A pooling step after a convolution: windows over the spatial dimensions of each channel.
// ceil_mode is false (partial windows at the end are dropped), as PyTorch's default.
struct PoolOp {
  PoolKind kind = PoolKind::max;
  std::array<int, 3> kernel{1, 1, 1};  // d, h, w; 1, 1, 0 along d in 2-d
  std::array<int, 3> stride{1, 1, 1};
  std::array<int, 3> padding{0, 0, 0};

  friend bool operator==(const PoolOp&, const PoolOp&) = default;
};

// A reduction or normalization over dims of the running value, with PyTorch's semantics: sum,
// mean, amax, amin, logsumexp (the value loses the dims, or keeps them as 1s), softmax,
// log_softmax, layer_norm, rms_norm, group_norm, instance_norm, batch_norm (each element is
// rewritten with its group's statistics). Which fields an op reads is in its registry entry
// (generator/reductions.h).
struct ReductionOp {
  std::string name;       // a name from the reduction registry: "softmax", "group_norm", ...
  std::vector<int> dims;  // dim=: the dims it combines, ascending and non-negative
  bool keepdim = false;   // sum, mean, amax, amin, logsumexp: the combined dims stay as 1s
  std::vector<std::int64_t> normalized_shape;  // layer_norm, rms_norm: the trailing extents
  int groups = 0;                              // group_norm
  bool affine = false;          // norms: a weight (and a bias) per normalized element or channel
  bool training = true;         // batch_norm: batch statistics; false: the running ones
  bool track_running = false;   // batch_norm: running statistics are tensors of the call
  std::vector<double> scalars;  // eps, momentum: the op's parameters in registry order

  friend bool operator==(const ReductionOp&, const ReductionOp&) = default;
};

// One op of the chain after the main op.
using ChainOp = std::variant<EpilogueOp, PoolOp, ReductionOp>;

// A tensor the kernel reads, in the order a launch passes them.
struct TensorArg {
  std::string name;                 // "x", "weight", "bias", "add_tensor", ...
  std::vector<std::int64_t> shape;  // row-major, contiguous
  DataType dtype = DataType::fp32;  // the main op's dtype, for every input
  // The kernel also writes it, in place: batch_norm's running statistics in training mode.
  bool updated = false;

  friend bool operator==(const TensorArg&, const TensorArg&) = default;
};

// A scalar the kernel reads, in the order a launch passes them.
struct ScalarArg {
  std::string name;  // "<op>.<parameter>", e.g. "mul.value", "leaky_relu.negative_slope"
  double value;      // as written in the spec: the default at launch
};

// "linear", "conv_transpose3d", ...: the op's name in a spec.
std::string_view main_op_name(MainOpKind kind);

// "none", "scalar", "column", "row", "tensor", "channel", "main": the kind as a spec writes it
// (mul(channel)) and as fusetune_describe() names it.
std::string_view operand_kind_name(OperandKind kind);

// "max_pool3d", "avg_pool2d", "global_avg_pool": a pool step's name after a convolution of
// `dims` spatial dimensions.
std::string pool_step_name(const PoolOp& pool, int dims);

struct Spec {
  MainOp main;
  std::vector<ChainOp> chain;  // the ops after the main op, in order

  // The one text that parses back to this spec: fixed argument order, every scalar written out,
  // numbers in shortest round-trip form ("2.0", "0.1", "1e-05").
  std::string canonical() const;
  // canonical() with every scalar value written as "_": the tuning key, since scalars are
  // kernel arguments and one tuned kernel serves every value.
  std::string signature() const;

  std::vector<TensorArg> tensors() const;  // inputs: main-op operands, then the chain's
  std::vector<ScalarArg> scalars() const;
  // The main op's result: [M, N], or [N, K, (D,) H, W] for a convolution.
  std::vector<std::int64_t> main_shape() const;
  // What the kernel writes: main_shape() through the chain's pools and reductions.
  std::vector<std::int64_t> output_shape() const;
  // The chain's first pool step, or nullptr.
  const PoolOp* first_pool() const;
  // The main op's multiply-adds times 2: 2·M·N·K; for convolutions every tap at every position
  // counts, padding included, but a transposed convolution's inserted zeros do not.
  double flops() const;

  // This spec at one row count (m = rows, no range): the call a bucket's kernel serves.
  Spec at_rows(std::int64_t rows) const;
  // Whether this bucket's kernel serves `shape`: a spec of one row count in the range, the same
  // in all else (scalar values aside, which are launch arguments).
  bool serves_rows_of(const Spec& shape) const;

  friend bool operator==(const Spec&, const Spec&) = default;
};

}  // namespace fusetune
