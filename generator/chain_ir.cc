#include "generator/chain_ir.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "fusetune/status.h"
#include "generator/ops.h"
#include "generator/reductions.h"

namespace fusetune {
namespace {

[[noreturn]] void inconsistent(const std::string& what) {
  throw Error(StatusCode::internal, "the chain does not fit its value: " + what);
}

class StageBuilder {
 public:
  explicit StageBuilder(ChainIR& ir) : ir_(ir) {}

  Stage operator()(const EpilogueOp& op) {
    Stage stage = begin(op);
    const EpilogueOpInfo& info = info_of(op);
    const Shape& shape = stage.in_shape;
    const bool fixed = info.fixed_operand != OperandKind::none;
    const std::string base =
        fixed ? op.name : fmt::format("{}_{}", op.name, operand_kind_name(op.operand));
    switch (op.operand) {
      case OperandKind::column:
        if (!has_rows_and_columns(ir_)) inconsistent(op.name + "(column) needs an [M, N] value");
        add_tensor(stage, base, {shape.back()});
        break;
      case OperandKind::row:
        if (!has_rows_and_columns(ir_)) inconsistent(op.name + "(row) needs an [M, N] value");
        add_tensor(stage, base, {shape.front()});
        break;
      case OperandKind::channel: {
        if (!has_channels(ir_)) inconsistent(op.name + "(channel) needs the value's channels");
        // bias is [K] as in nn.ConvNd; other vectors broadcast as PyTorch parameters [K, 1, 1].
        Shape vector{shape[1]};
        if (!fixed) vector.resize(shape.size() - 1, 1);
        add_tensor(stage, base, std::move(vector));
        break;
      }
      case OperandKind::tensor:
        if (info.writes_operand && !ir_.main_value_available)
          inconsistent(op.name + " stands after a pool step or a reduction");
        add_tensor(stage, base, shape, info.writes_operand);
        break;
      case OperandKind::main:
        if (!ir_.main_value_available) inconsistent("main stands after a pool step or a reduction");
        break;
      default:
        break;
    }
    for (std::size_t i = 0; i < op.scalars.size(); ++i)
      add_scalar(stage,
                 fmt::format("{}.{}", op.name, info.binary ? "value" : info.params.at(i).name),
                 op.scalars[i]);
    stage.out_shape = shape;
    return stage;
  }

  Stage operator()(const PoolOp& pool) {
    Stage stage = begin(pool);
    if (!has_positions(ir_)) inconsistent("a pool step needs a convolution's [N, C, ...] value");
    Shape shape = stage.in_shape;
    const int dims = static_cast<int>(shape.size()) - 2;
    for (int i = 0; i < dims; ++i) {
      std::int64_t& extent = shape[2 + i];
      const int d = 3 - dims + i;
      extent = pool.kind == PoolKind::global_avg
                   ? 1
                   : (extent + 2 * pool.padding[d] - pool.kernel[d]) / pool.stride[d] + 1;
      if (extent < 1) inconsistent("a pool window is larger than its input");
    }
    stage.out_shape = std::move(shape);
    return stage;
  }

  Stage operator()(const ReductionOp& op) {
    Stage stage = begin(op);
    const ReductionOpInfo& info = info_of(op);
    const Shape& shape = stage.in_shape;
    stage.grouping = grouping_of(op, shape);
    const bool channels = info.group_by != GroupBy::dims && info.group_by != GroupBy::trailing;
    if (channels && shape.size() < 2) inconsistent(op.name + " needs an [N, C, ...] value");
    const Shape per_channel{channels ? shape[1] : 0};
    if (op.name == "batch_norm" && (op.track_running || !op.training)) {
      add_tensor(stage, "batch_norm_running_mean", per_channel, op.training);
      add_tensor(stage, "batch_norm_running_var", per_channel, op.training);
    }
    if (op.affine && info.affine != Affine::none) {
      const Shape affine_shape =
          info.affine == Affine::elements ? op.normalized_shape : per_channel;
      add_tensor(stage, op.name + "_weight", affine_shape);
      if (info.affine_bias) add_tensor(stage, op.name + "_bias", affine_shape);
    }
    for (std::size_t i = 0; i < op.scalars.size(); ++i)
      add_scalar(stage, fmt::format("{}.{}", op.name, info.params.at(i).name), op.scalars[i]);
    if (info.kind == ReductionKind::normalize) {
      stage.out_shape = shape;
      return stage;
    }
    std::string axes;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const bool combined = std::find(op.dims.begin(), op.dims.end(), d) != op.dims.end();
      if (!combined) {
        stage.out_shape.push_back(shape[d]);
        axes += ir_.axes.at(d);
      } else if (op.keepdim) {
        stage.out_shape.push_back(1);
        axes += '1';
      }
    }
    next_axes_ = std::move(axes);
    return stage;
  }

  // The value's axes after the stage built last.
  std::string next_axes() const { return next_axes_.value_or(ir_.axes); }

 private:
  Stage begin(const ChainOp& op) {
    Stage stage;
    stage.op = op;
    stage.in_shape = ir_.shape();
    return stage;
  }

  void add_tensor(Stage& stage, const std::string& name, Shape shape, bool updated = false) {
    stage.tensors.push_back(static_cast<int>(ir_.tensors.size()));
    ir_.tensors.push_back({.name = unique(name),
                           .shape = std::move(shape),
                           .dtype = ir_.main.dtype,
                           .updated = updated});
  }

  void add_scalar(Stage& stage, const std::string& name, double value) {
    stage.scalars.push_back(static_cast<int>(ir_.scalars.size()));
    ir_.scalars.push_back({unique(name), value});
  }

  // `name`, or `name` with "_2", "_3", ... when it was handed out before.
  std::string unique(const std::string& name) {
    const int count = ++ir_.name_counts[name];
    return count == 1 ? name : fmt::format("{}_{}", name, count);
  }

  ChainIR& ir_;
  std::optional<std::string> next_axes_;
};

}  // namespace

std::int64_t Grouping::group_count() const {
  std::int64_t count = 1;
  for (std::size_t d = 0; d < view.size(); ++d)
    if (!reduced[d]) count *= view[d];
  return count;
}

std::int64_t Grouping::group_size() const { return element_count(view) / group_count(); }

std::int64_t Grouping::group_of(std::int64_t index) const {
  std::int64_t group = 0, scale = 1;
  for (std::size_t d = view.size(); d-- > 0;) {
    const std::int64_t coordinate = index % view[d];
    index /= view[d];
    if (reduced[d]) continue;
    group += coordinate * scale;
    scale *= view[d];
  }
  return group;
}

std::int64_t Grouping::place_of(std::int64_t index) const {
  std::int64_t place = 0, scale = 1;
  for (std::size_t d = view.size(); d-- > 0;) {
    const std::int64_t coordinate = index % view[d];
    index /= view[d];
    if (!reduced[d]) continue;
    place += coordinate * scale;
    scale *= view[d];
  }
  return place;
}

Grouping grouping_of(const ReductionOp& op, const Shape& shape) {
  const ReductionOpInfo& info = info_of(op);
  Grouping g{.view = shape, .reduced = std::vector<bool>(shape.size(), false)};
  switch (info.group_by) {
    case GroupBy::dims:
      for (int d : op.dims) g.reduced.at(d) = true;
      break;
    case GroupBy::trailing:
      std::fill(g.reduced.end() - static_cast<std::ptrdiff_t>(op.normalized_shape.size()),
                g.reduced.end(), true);
      break;
    case GroupBy::channel_groups: {
      // [N, C, rest...] -> [N, groups, C / groups, rest...]
      g.view = {shape.at(0), op.groups, shape.at(1) / op.groups};
      g.view.insert(g.view.end(), shape.begin() + 2, shape.end());
      g.reduced.assign(g.view.size(), true);
      g.reduced[0] = g.reduced[1] = false;
      break;
    }
    case GroupBy::positions:
      std::fill(g.reduced.begin() + 2, g.reduced.end(), true);
      break;
    case GroupBy::channel:
      g.reduced.assign(shape.size(), true);
      g.reduced.at(1) = false;
      break;
  }
  return g;
}

ChainIR start_chain(const MainOp& main) {
  ChainIR ir;
  ir.main = main;
  const ConvGeometry& c = main.conv;
  const int dims = main.spatial_dims();
  auto spatial = [&](auto values) { return Shape(values.end() - dims, values.end()); };
  if (main.is_conv()) {
    Shape x{c.batch, c.in_channels};
    for (std::int64_t d : spatial(c.size)) x.push_back(d);
    Shape weight = main.is_transposed_conv() ? Shape{c.in_channels, c.out_channels / c.groups}
                                             : Shape{c.out_channels, c.in_channels / c.groups};
    for (std::int64_t d : spatial(c.kernel)) weight.push_back(d);
    ir.tensors = {{.name = "x", .shape = x}, {.name = "weight", .shape = weight}};
    const std::array<std::int64_t, 3> out = main.conv_output_size();
    ir.main_shape = {c.batch, c.out_channels};
    ir.main_shape.insert(ir.main_shape.end(), out.end() - dims, out.end());
    ir.axes = dims == 3 ? "ncdhw" : "nchw";
  } else {
    const std::int64_t m = main.m, n = main.n, k = main.k;
    if (main.kind == MainOpKind::linear)
      ir.tensors = {{.name = "x", .shape = {m, k}}, {.name = "weight", .shape = {n, k}}};
    else
      ir.tensors = {{.name = "a", .shape = main.transpose_a ? Shape{k, m} : Shape{m, k}},
                    {.name = "b", .shape = main.transpose_b ? Shape{n, k} : Shape{k, n}}};
    ir.main_shape = {m, n};
    ir.axes = "mn";
  }
  for (TensorArg& t : ir.tensors) t.dtype = main.dtype;
  return ir;
}

void append_stage(ChainIR& ir, const ChainOp& op) {
  StageBuilder builder(ir);
  Stage stage = std::visit(builder, op);
  ir.axes = builder.next_axes();
  const bool leading_bias = ir.stages.empty() && std::holds_alternative<EpilogueOp>(op) &&
                            std::get<EpilogueOp>(op).name == "bias";
  if (!std::holds_alternative<EpilogueOp>(op)) ir.main_value_available = false;
  ir.stages.push_back(std::move(stage));
  if (leading_bias) ir.main_value_stages = 1;
}

std::int64_t element_count(const Shape& shape) {
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  return count;
}

ChainIR compile_chain(const Spec& spec) {
  ChainIR ir = start_chain(spec.main);
  for (const ChainOp& op : spec.chain) append_stage(ir, op);
  return ir;
}

bool has_rows_and_columns(const ChainIR& ir) { return ir.axes == "mn"; }

bool has_channels(const ChainIR& ir) {
  return ir.main.is_conv() && ir.axes.size() >= 2 && ir.axes[1] == 'c';
}

// Dims a reduction kept as 1s are still dims a pool may slide over, as in PyTorch.
bool has_positions(const ChainIR& ir) {
  return ir.main.is_conv() &&
         ir.axes.size() == static_cast<std::size_t>(2 + ir.main.spatial_dims());
}

}  // namespace fusetune
