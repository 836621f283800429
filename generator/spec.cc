#include "generator/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "fusetune/status.h"
#include "generator/ops.h"
#include "generator/spec_parser.h"

namespace fusetune {
namespace {

const EpilogueOpInfo& info_of(const EpilogueOp& op) {
  const EpilogueOpInfo* info = find_epilogue_op(op.name);
  if (info == nullptr) throw Error(StatusCode::internal, "no epilogue op named '" + op.name + "'");
  return *info;
}

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

std::string print(const Spec& spec, bool elide_scalars) {
  const MainOp& main = spec.main;
  std::string text = main.is_conv() ? print_conv(main)
                                    : fmt::format("{}(m={}, n={}, k={}", main_op_name(main.kind),
                                                  main.m, main.n, main.k);
  if (main.transpose_a) text += ", transpose_a=true";
  if (main.transpose_b) text += ", transpose_b=true";
  if (main.dtype != DataType::fp32) text += fmt::format(", dtype={}", to_string(main.dtype));
  if (main.output_dtype() != main.dtype) text += ", out_dtype=fp32";
  text += ")";
  for (std::size_t i = 0; i <= spec.epilogue.size(); ++i) {
    if (spec.pool && spec.pool->position == i)
      text += " -> " + print_pool(*spec.pool, main.spatial_dims());
    if (i == spec.epilogue.size()) break;
    const EpilogueOp& op = spec.epilogue[i];
    text += fmt::format(" -> {}{}", op.name, print_arguments(op, elide_scalars));
  }
  return text;
}

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  return count;
}

// `name`, or `name` with "_2", "_3", ... when it has been handed out before.
std::string unique_name(std::map<std::string, int>& seen, const std::string& name) {
  const int count = ++seen[name];
  return count == 1 ? name : fmt::format("{}_{}", name, count);
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

std::vector<TensorArg> Spec::tensors() const {
  const std::int64_t m = main.m, n = main.n, k = main.k;
  std::vector<TensorArg> tensors;
  const ConvGeometry& c = main.conv;
  const int dims = main.spatial_dims();
  // Spatial extents as PyTorch shapes list them: the last `dims` of d, h, w.
  auto spatial = [&](auto values) {
    return std::vector<std::int64_t>(values.end() - dims, values.end());
  };
  if (main.is_conv()) {
    std::vector<std::int64_t> x{c.batch, c.in_channels}, weight;
    for (std::int64_t d : spatial(c.size)) x.push_back(d);
    weight = main.is_transposed_conv()
                 ? std::vector<std::int64_t>{c.in_channels, c.out_channels / c.groups}
                 : std::vector<std::int64_t>{c.out_channels, c.in_channels / c.groups};
    for (std::int64_t d : spatial(c.kernel)) weight.push_back(d);
    tensors.push_back({"x", x});
    tensors.push_back({"weight", weight});
  } else if (main.kind == MainOpKind::linear) {
    tensors.push_back({"x", {m, k}});
    tensors.push_back({"weight", {n, k}});
  } else {
    tensors.push_back({"a", main.transpose_a ? std::vector{k, m} : std::vector{m, k}});
    tensors.push_back({"b", main.transpose_b ? std::vector{n, k} : std::vector{k, n}});
  }
  std::map<std::string, int> seen;
  for (std::size_t i = 0; i < epilogue.size(); ++i) {
    const EpilogueOp& op = epilogue[i];
    if (op.operand == OperandKind::none || op.operand == OperandKind::scalar ||
        op.operand == OperandKind::main)
      continue;
    const bool fixed = info_of(op).fixed_operand != OperandKind::none;
    const std::string base =
        fixed ? op.name : fmt::format("{}_{}", op.name, operand_kind_name(op.operand));
    std::vector<std::int64_t> shape;
    switch (op.operand) {
      case OperandKind::column:
        shape = {n};
        break;
      case OperandKind::row:
        shape = {m};
        break;
      case OperandKind::channel:
        // bias is [K] as in nn.ConvNd; other vectors broadcast as PyTorch parameters [K, 1, 1].
        shape = {c.out_channels};
        if (!fixed) shape.resize(1 + dims, 1);
        break;
      default:  // a tensor of the value's shape where the op stands
        shape = pool && pool->position <= i ? output_shape() : main_shape();
        break;
    }
    tensors.push_back({unique_name(seen, base), std::move(shape)});
  }
  for (TensorArg& tensor : tensors) tensor.dtype = main.dtype;
  return tensors;
}

std::vector<ScalarArg> Spec::scalars() const {
  std::vector<ScalarArg> scalars;
  std::map<std::string, int> seen;
  for (const EpilogueOp& op : epilogue) {
    const EpilogueOpInfo& info = info_of(op);
    for (std::size_t i = 0; i < op.scalars.size(); ++i) {
      const std::string_view param = info.binary ? "value" : info.params.at(i).name;
      scalars.push_back({unique_name(seen, fmt::format("{}.{}", op.name, param)), op.scalars[i]});
    }
  }
  return scalars;
}

std::vector<std::int64_t> Spec::main_shape() const {
  if (!main.is_conv()) return {main.m, main.n};
  const int dims = main.spatial_dims();
  const std::array<std::int64_t, 3> size = main.conv_output_size();
  std::vector<std::int64_t> shape{main.conv.batch, main.conv.out_channels};
  shape.insert(shape.end(), size.end() - dims, size.end());
  return shape;
}

std::vector<std::int64_t> Spec::output_shape() const {
  std::vector<std::int64_t> shape = main_shape();
  if (!pool) return shape;
  const int dims = main.spatial_dims();
  for (int i = 0; i < dims; ++i) {
    std::int64_t& extent = shape[2 + i];
    const int d = 3 - dims + i;
    extent = pool->kind == PoolKind::global_avg
                 ? 1
                 : (extent + 2 * pool->padding[d] - pool->kernel[d]) / pool->stride[d] + 1;
  }
  return shape;
}

double Spec::flops() const {
  if (!main.is_conv())
    return 2.0 * static_cast<double>(main.m) * static_cast<double>(main.n) *
           static_cast<double>(main.k);
  // Each (input or output) position of the dense side meets every tap once, times the channels
  // of its group on the other side.
  const ConvGeometry& c = main.conv;
  const std::vector<std::int64_t> out = main_shape();
  const double dense_positions = main.is_transposed_conv()
                                     ? static_cast<double>(c.batch * c.input_positions())
                                     : static_cast<double>(product(out) / c.out_channels);
  return 2.0 * dense_positions * static_cast<double>(c.in_channels) *
         static_cast<double>(c.out_channels / c.groups) * static_cast<double>(c.taps());
}

}  // namespace fusetune
