#include "tuner/reference_epilogue.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <utility>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "generator/reductions.h"
#include "tuner/operand_layout.h"
#include "tuner/pool_window.h"

namespace fusetune {
namespace {

constexpr std::int64_t kMaxThreads = 32;
constexpr std::int64_t kMinPiece = 1 << 16;  // elements worth a thread

// Calls body(begin, end) on contiguous pieces of [0, count), of at least `min_piece` items, on
// the machine's cores: the seed problem's pre-pool value has 67M elements, and an op costs
// ~15 ns per element on one core.
template <class Body>
void for_each_piece(std::int64_t count, std::int64_t min_piece, const Body& body) {
  const std::int64_t cores =
      std::clamp<std::int64_t>(std::thread::hardware_concurrency(), 1, kMaxThreads);
  const std::int64_t pieces = std::clamp<std::int64_t>(count / min_piece, 1, cores);
  std::vector<std::jthread> workers;
  for (std::int64_t p = 1; p < pieces; ++p)
    workers.emplace_back([&, p] { body(count * p / pieces, count * (p + 1) / pieces); });
  body(0, count / pieces);
}

// value[i] = op(value[i], y) for every element, y read from `operand` or `main` as op says.
void apply_op(const EpilogueOp& op, const Layout& layout, const std::vector<float>& operand,
              const std::vector<double>& main, std::vector<double>& value) {
  if (reads_tensor(op.operand) &&
      static_cast<std::int64_t>(operand.size()) != operand_size(op.operand, layout))
    throw Error(StatusCode::internal,
                fmt::format("reference: {}'s operand has {} values where {} are expected", op.name,
                            operand.size(), operand_size(op.operand, layout)));
  if (op.operand == OperandKind::main && main.size() != value.size())
    throw Error(
        StatusCode::internal,
        fmt::format("reference: {}(main) stands where the main op's result is not", op.name));
  if (find_epilogue_op(op.name) == nullptr)  // before the threads, which must not throw
    throw Error(StatusCode::internal, "reference: no epilogue op named '" + op.name + "'");
  for_each_piece(layout.count, kMinPiece, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const double y = reads_tensor(op.operand) ? operand[operand_index(op.operand, layout, i)]
                       : op.operand == OperandKind::main ? main[i]
                                                         : 0.0;
      value[i] = apply_reference(op, value[i], y);
    }
  });
}

// One window of a max or avg pool over one channel's `plane` of `in` positions, at output
// position `o`.
double pool_value(const PoolOp& pool, const double* plane, const Extents& in, const Extents& o) {
  const PoolWindow w = pool_window(pool, in, o);
  double max = -std::numeric_limits<double>::infinity(), sum = 0;
  for (std::int64_t z = w.begin[0]; z < w.end[0]; ++z)
    for (std::int64_t y = w.begin[1]; y < w.end[1]; ++y)
      for (std::int64_t x = w.begin[2]; x < w.end[2]; ++x) {
        const double v = plane[(z * in[1] + y) * in[2] + x];
        if (!(v <= max)) max = v;  // NaN wins, as in PyTorch
        sum += v;
      }
  return pool.kind == PoolKind::max ? max : sum / static_cast<double>(w.divisor);
}

// The pool step over every channel of `value` ([N, K, (D,) H, W] = `in_shape`).
std::vector<double> apply_pool(PoolOp pool, const std::vector<double>& value, const Shape& in_shape,
                               const Shape& out_shape) {
  pool = pool_over(pool, in_shape);
  const Extents in = spatial_extents(in_shape), out = spatial_extents(out_shape);
  const std::int64_t in_positions = in[0] * in[1] * in[2];
  const std::int64_t out_positions = out[0] * out[1] * out[2];
  const std::int64_t planes = in_shape[0] * in_shape[1];
  std::vector<double> pooled(planes * out_positions);
  auto pool_plane = [&](std::int64_t p) {
    const double* plane = value.data() + p * in_positions;
    double* result = pooled.data() + p * out_positions;
    if (pool.kind == PoolKind::global_avg) {
      double sum = 0;
      for (std::int64_t i = 0; i < in_positions; ++i) sum += plane[i];
      result[0] = sum / static_cast<double>(in_positions);
      return;
    }
    for (std::int64_t od = 0; od < out[0]; ++od)
      for (std::int64_t oh = 0; oh < out[1]; ++oh)
        for (std::int64_t ow = 0; ow < out[2]; ++ow)
          result[(od * out[1] + oh) * out[2] + ow] = pool_value(pool, plane, in, {od, oh, ow});
  };
  for_each_piece(planes, std::max<std::int64_t>(1, kMinPiece / in_positions),
                 [&](std::int64_t begin, std::int64_t end) {
                   for (std::int64_t p = begin; p < end; ++p) pool_plane(p);
                 });
  return pooled;
}

std::vector<float> operand(const Stage& stage, std::size_t i, const TensorValues& tensor_values,
                           std::int64_t expected) {
  std::vector<float> values = tensor_values(static_cast<std::size_t>(stage.tensors.at(i)));
  if (static_cast<std::int64_t>(values.size()) != expected)
    throw Error(StatusCode::internal,
                fmt::format("reference: an operand of {} has {} values where {} are expected",
                            std::get<ReductionOp>(stage.op).name, values.size(), expected));
  return values;
}

// A reduction or normalization stage: each group through its op's reference, then the weight and
// bias; batch_norm in eval mode standardizes with its running statistics instead, and in
// training mode returns the running statistics it updates.
std::vector<double> apply_reduction(const Stage& stage, const std::vector<double>& value,
                                    const std::vector<double>& scalars,
                                    const TensorValues& tensor_values, ChainReference& result) {
  const ReductionOp& op = std::get<ReductionOp>(stage.op);
  const ReductionOpInfo& info = info_of(op);
  const Grouping& g = stage.grouping;
  const Layout layout = layout_of(stage.in_shape);
  const std::int64_t groups = g.group_count(), size = g.group_size();
  std::size_t next = 0;  // the stage's next operand tensor
  std::vector<float> running_mean, running_var, weight, bias;
  const bool running = op.name == "batch_norm" && op.track_running;
  if (running) {
    running_mean = operand(stage, next++, tensor_values, layout.channels);
    running_var = operand(stage, next++, tensor_values, layout.channels);
  }
  const std::int64_t affine_count =
      info.affine == Affine::elements ? element_count(op.normalized_shape) : layout.channels;
  if (op.affine && info.affine != Affine::none) {
    weight = operand(stage, next++, tensor_values, affine_count);
    if (info.affine_bias) bias = operand(stage, next++, tensor_values, affine_count);
  }
  // An element's weight and bias: by its place in the normalized shape, or by its channel.
  auto affine = [&](std::int64_t i, double y) {
    if (weight.empty()) return y;
    const std::int64_t a =
        info.affine == Affine::elements ? i % affine_count : (i / layout.plane) % layout.channels;
    return y * weight[a] + (bias.empty() ? 0.0 : bias[a]);
  };

  std::vector<std::vector<double>> members(groups, std::vector<double>(size));
  for (std::int64_t i = 0; i < layout.count; ++i) members[g.group_of(i)][g.place_of(i)] = value[i];
  std::vector<std::vector<double>> results(groups);
  if (!(running && !op.training))
    for_each_piece(groups, std::max<std::int64_t>(1, kMinPiece / size),
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t group = begin; group < end; ++group)
                       results[group] = info.reference(members[group], scalars);
                   });

  if (info.kind == ReductionKind::reduce) {
    std::vector<double> reduced(groups);
    for (std::int64_t group = 0; group < groups; ++group) reduced[group] = results[group].at(0);
    return reduced;
  }
  std::vector<double> out(layout.count);
  if (running && !op.training) {  // eval: the running statistics are the group's
    const double eps = scalars.at(0);
    for (std::int64_t i = 0; i < layout.count; ++i) {
      const std::int64_t c = (i / layout.plane) % layout.channels;
      out[i] = affine(i, (value[i] - running_mean[c]) / std::sqrt(running_var[c] + eps));
    }
    return out;
  }
  for (std::int64_t i = 0; i < layout.count; ++i)
    out[i] = affine(i, results[g.group_of(i)].at(g.place_of(i)));
  if (running) {
    // PyTorch's update, with the batch variance made unbiased: count / (count - 1).
    const double momentum = scalars.at(1), count = static_cast<double>(size);
    std::vector<double> mean(groups), var(groups);
    for (std::int64_t c = 0; c < groups; ++c) {
      double sum = 0;
      for (double v : members[c]) sum += v;
      const double m = sum / count;
      double squares = 0;
      for (double v : members[c]) squares += (v - m) * (v - m);
      mean[c] = (1 - momentum) * running_mean[c] + momentum * m;
      var[c] = (1 - momentum) * running_var[c] + momentum * squares / (count - 1);
    }
    result.updated[stage.tensors.at(0)] = std::move(mean);
    result.updated[stage.tensors.at(1)] = std::move(var);
  }
  return out;
}

}  // namespace

ChainReference reference_chain(const Spec& spec, std::vector<double> main_result,
                               const TensorValues& tensor_values) {
  const ChainIR ir = compile_chain(spec);
  if (static_cast<std::int64_t>(main_result.size()) != element_count(ir.main_shape))
    throw Error(StatusCode::internal,
                fmt::format("reference: the main op's result has {} values where {} are expected",
                            main_result.size(), element_count(ir.main_shape)));
  ChainReference result;
  std::vector<double> value = std::move(main_result);
  const bool uses_main = std::any_of(ir.stages.begin(), ir.stages.end(), [](const Stage& s) {
    const auto* op = std::get_if<EpilogueOp>(&s.op);
    return op != nullptr && op->operand == OperandKind::main;
  });
  std::vector<double> main;  // `main`: what the main op's PyTorch layer returns
  if (uses_main && ir.main_value_stages == 0) main = value;
  for (std::size_t i = 0; i < ir.stages.size(); ++i) {
    const Stage& stage = ir.stages[i];
    std::vector<double> scalars;
    for (int s : stage.scalars) scalars.push_back(ir.scalars.at(s).value);
    const auto* op = std::get_if<EpilogueOp>(&stage.op);
    if (op != nullptr && info_of(*op).writes_operand) {
      result.updated[stage.tensors.at(0)] = value;  // save: the value as it stands here
    } else if (op != nullptr) {
      const std::vector<float> operand =
          reads_tensor(op->operand) ? tensor_values(stage.tensors.at(0)) : std::vector<float>();
      apply_op(*op, layout_of(stage.in_shape), operand, main, value);
    } else if (const auto* pool = std::get_if<PoolOp>(&stage.op)) {
      value = apply_pool(*pool, value, stage.in_shape, stage.out_shape);
    } else {
      value = apply_reduction(stage, value, scalars, tensor_values, result);
    }
    if (uses_main && ir.main_value_stages == i + 1) main = value;
  }
  result.output = std::move(value);
  return result;
}

std::vector<double> reference_epilogue(const Spec& spec, std::vector<double> main_result,
                                       const TensorValues& tensor_values) {
  return reference_chain(spec, std::move(main_result), tensor_values).output;
}

}  // namespace fusetune
