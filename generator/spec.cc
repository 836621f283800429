#include "generator/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "generator/reductions.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

// The arguments of one epilogue op as canonical text, "" when it is written bare.
std::string print_arguments(const EpilogueOp& op, bool elide_scalars) {
  const EpilogueOpInfo& info = info_of(op);
  auto number = [&](double value) {
    return elide_scalars ? std::string("_") : canonical_number(value);
  };
  if (info.fixed_operand != OperandKind::none) return "";
  if (info.binary) {
    if (op.operand == OperandKind::scalar) return fmt::format("({})", number(op.scalars.at(0)));
    return fmt::format("({})", operand_kind_name(op.operand));
  }
  std::vector<std::string> arguments;
  if (op.mode != 0) arguments.emplace_back(info.modes.at(op.mode));
  for (double value : op.scalars) arguments.push_back(number(value));
  if (arguments.empty()) return "";
  return fmt::format("({})", fmt::join(arguments, ", "));
}

// A per-dimension value of `dims` dimensions (the last `dims` of d, h, w): "3" when all agree,
// else "(1, 3, 3)".
std::string per_dimension(const std::array<int, 3>& values, int dims) {
  const auto first = values.end() - dims;
  if (std::all_of(first, values.end(), [&](int v) { return v == *first; }))
    return std::to_string(*first);
  return fmt::format("({})", fmt::join(first, values.end(), ", "));
}

std::string print_conv(const MainOp& main) {
  const ConvGeometry& c = main.conv;
  const int dims = main.spatial_dims();
  std::string text =
      fmt::format("{}(n={}, c={}, ", main_op_name(main.kind), c.batch, c.in_channels);
  if (dims == 3) text += fmt::format("d={}, ", c.size[0]);
  text += fmt::format("h={}, w={}, k={}, kernel={}", c.size[1], c.size[2], c.out_channels,
                      per_dimension(c.kernel, dims));
  auto optional = [&](std::string_view name, const std::array<int, 3>& values, int fallback) {
    const std::array<int, 3> all{fallback, fallback, fallback};
    if (!std::equal(values.end() - dims, values.end(), all.begin()))
      text += fmt::format(", {}={}", name, per_dimension(values, dims));
  };
  optional("stride", c.stride, 1);
  optional("padding", c.padding, 0);
  optional("dilation", c.dilation, 1);
  if (c.groups != 1) text += fmt::format(", groups={}", c.groups);
  if (main.is_transposed_conv()) optional("output_padding", c.output_padding, 0);
  return text;
}

std::string print_pool(const PoolOp& pool, int dims) {
  if (pool.kind == PoolKind::global_avg) return pool_step_name(pool, dims);
  std::string text =
      fmt::format("{}({}", pool_step_name(pool, dims), per_dimension(pool.kernel, dims));
  if (pool.stride != pool.kernel)
    text += fmt::format(", stride={}", per_dimension(pool.stride, dims));
  if (pool.padding != std::array<int, 3>{0, 0, 0})
    text += fmt::format(", padding={}", per_dimension(pool.padding, dims));
  return text + ")";
}

// One value, or several in parentheses: "1", "(2, 3)".
template <class T>
std::string one_or_tuple(const std::vector<T>& values) {
  if (values.size() == 1) return std::to_string(values[0]);
  return fmt::format("({})", fmt::join(values, ", "));
}

std::string print_reduction(const ReductionOp& op, bool elide_scalars) {
  const ReductionOpInfo& info = info_of(op);
  std::vector<std::string> arguments;
  switch (info.group_by) {
    case GroupBy::dims:
      arguments.push_back("dim=" + one_or_tuple(op.dims));
      if (op.keepdim) arguments.emplace_back("keepdim=true");
      break;
    case GroupBy::trailing:
      arguments.push_back("normalized_shape=" + one_or_tuple(op.normalized_shape));
      break;
    case GroupBy::channel_groups:
      arguments.push_back(fmt::format("groups={}", op.groups));
      break;
    default:
      break;
  }
  for (std::size_t i = 0; i < op.scalars.size(); ++i)
    arguments.push_back(fmt::format("{}={}", info.params.at(i).name,
                                    elide_scalars ? "_" : canonical_number(op.scalars[i])));
  if (info.affine != Affine::none && op.affine != info.affine_by_default)
    arguments.push_back(fmt::format("affine={}", op.affine));
  if (!op.training) arguments.emplace_back("training=false");
  if (op.name == "batch_norm" && op.training && !op.track_running)
    arguments.emplace_back("track_running_stats=false");
  return fmt::format("{}({})", op.name, fmt::join(arguments, ", "));
}

std::string print(const Spec& spec, bool elide_scalars) {
  const MainOp& main = spec.main;
  const std::string rows =
      main.is_row_range() ? fmt::format("{}..{}", main.m_min, main.m) : std::to_string(main.m);
  std::string text = main.is_conv() ? print_conv(main)
                                    : fmt::format("{}(m={}, n={}, k={}", main_op_name(main.kind),
                                                  rows, main.n, main.k);
  if (main.transpose_a) text += ", transpose_a=true";
  if (main.transpose_b) text += ", transpose_b=true";
  if (main.dtype != DataType::fp32) text += fmt::format(", dtype={}", to_string(main.dtype));
  if (main.output_dtype() != main.dtype) text += ", out_dtype=fp32";
  text += ")";
  for (const ChainOp& op : spec.chain) {
    text += " -> ";
    if (const auto* e = std::get_if<EpilogueOp>(&op))
      text += e->name + print_arguments(*e, elide_scalars);
    else if (const auto* pool = std::get_if<PoolOp>(&op))
      text += print_pool(*pool, main.spatial_dims());
    else
      text += print_reduction(std::get<ReductionOp>(op), elide_scalars);
  }
  return text;
}

}  // namespace

std::string_view main_op_name(MainOpKind kind) {
  switch (kind) {
    case MainOpKind::linear:
      return "linear";
    case MainOpKind::matmul:
      return "matmul";
    case MainOpKind::conv2d:
      return "conv2d";
    case MainOpKind::conv3d:
      return "conv3d";
    case MainOpKind::conv_transpose2d:
      return "conv_transpose2d";
    case MainOpKind::conv_transpose3d:
      return "conv_transpose3d";
  }
  return "";
}

std::string_view operand_kind_name(OperandKind kind) {
  switch (kind) {
    case OperandKind::none:
      return "none";
    case OperandKind::scalar:
      return "scalar";
    case OperandKind::column:
      return "column";
    case OperandKind::row:
      return "row";
    case OperandKind::tensor:
      return "tensor";
    case OperandKind::channel:
      return "channel";
    case OperandKind::main:
      return "main";
  }
  return "unknown";
}

std::string pool_step_name(const PoolOp& pool, int dims) {
  if (pool.kind == PoolKind::global_avg) return "global_avg_pool";
  return fmt::format("{}_pool{}d", pool.kind == PoolKind::max ? "max" : "avg", dims);
}

bool MainOp::a_k_contiguous() const { return kind == MainOpKind::linear || !transpose_a; }

bool MainOp::b_k_contiguous() const { return kind == MainOpKind::linear || transpose_b; }

int MainOp::spatial_dims() const {
  if (kind == MainOpKind::conv2d || kind == MainOpKind::conv_transpose2d) return 2;
  if (kind == MainOpKind::conv3d || kind == MainOpKind::conv_transpose3d) return 3;
  return 0;
}

std::array<std::int64_t, 3> MainOp::conv_output_size() const {
  std::array<std::int64_t, 3> out{};
  for (int i = 0; i < 3; ++i) {
    const std::int64_t span = std::int64_t{conv.dilation[i]} * (conv.kernel[i] - 1);
    out[i] = is_transposed_conv()
                 ? (conv.size[i] - 1) * conv.stride[i] - 2 * conv.padding[i] + span +
                       conv.output_padding[i] + 1
                 : (conv.size[i] + 2 * conv.padding[i] - span - 1) / conv.stride[i] + 1;
  }
  return out;
}

std::string Spec::canonical() const { return print(*this, false); }

std::string Spec::signature() const { return print(*this, true); }

std::vector<TensorArg> Spec::tensors() const { return compile_chain(*this).tensors; }

std::vector<ScalarArg> Spec::scalars() const { return compile_chain(*this).scalars; }

std::vector<std::int64_t> Spec::main_shape() const { return start_chain(main).main_shape; }

std::vector<std::int64_t> Spec::output_shape() const { return compile_chain(*this).shape(); }

const PoolOp* Spec::first_pool() const {
  for (const ChainOp& op : chain)
    if (const auto* pool = std::get_if<PoolOp>(&op)) return pool;
  return nullptr;
}

double Spec::flops() const {
  if (!main.is_conv())
    return 2.0 * static_cast<double>(main.m) * static_cast<double>(main.n) *
           static_cast<double>(main.k);
  // Each (input or output) position of the dense side meets every tap once, times the channels
  // of its group on the other side.
  const ConvGeometry& c = main.conv;
  const std::array<std::int64_t, 3> out = main.conv_output_size();
  const double dense_positions = main.is_transposed_conv()
                                     ? static_cast<double>(c.batch * c.input_positions())
                                     : static_cast<double>(c.batch * out[0] * out[1] * out[2]);
  return 2.0 * dense_positions * static_cast<double>(c.in_channels) *
         static_cast<double>(c.out_channels / c.groups) * static_cast<double>(c.taps());
}

Spec Spec::at_rows(std::int64_t rows) const {
  Spec shape = *this;
  shape.main.m = rows;
  shape.main.m_min = 0;
  return shape;
}

bool Spec::serves_rows_of(const Spec& shape) const {
  const MainOp& rows = shape.main;
  return main.is_row_range() && !rows.is_row_range() && !rows.is_conv() && rows.m >= main.m_min &&
         rows.m <= main.m && at_rows(rows.m).signature() == shape.signature();
}

}  // namespace fusetune
