#include "tuner/reference_backward.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "generator/reductions.h"
#include "tuner/operand_layout.h"
#include "tuner/pool_window.h"
#include "tuner/reference_epilogue.h"
#include "tuner/reference_group_backward.h"

namespace fusetune {
namespace {

// An elementwise stage's op and its operand's values.
struct ElementwiseStage {
  const EpilogueOp* op;
  std::vector<float> operand;  // empty unless the op reads a tensor
  int tensor = -1;             // its index among the launch's tensors
};

// The chain as the backward takes it: elementwise stages, at most one pool step or reduction,
// elementwise stages without operand tensors after it; or a refusal naming what has no
// backward yet.
struct SplitChain {
  std::vector<ElementwiseStage> before;
  const Stage* middle = nullptr;  // the pool step or the reduction
  std::vector<ElementwiseStage> after;
};

SplitChain split_chain(const ChainIR& ir, const TensorValues& tensor_values) {
  SplitChain chain;
  for (const Stage& stage : ir.stages) {
    if (!std::holds_alternative<EpilogueOp>(stage.op)) {
      if (chain.middle)
        throw Error(StatusCode::invalid_argument,
                    "the backward reference covers one pool step or reduction; a second has "
                    "none yet");
      const auto* pool = std::get_if<PoolOp>(&stage.op);
      if (pool != nullptr && pool->kind == PoolKind::global_avg)
        throw Error(StatusCode::invalid_argument,
                    "the backward reference does not cover global_avg_pool yet");
      chain.middle = &stage;
      continue;
    }
    const auto* op = &std::get<EpilogueOp>(stage.op);
    if (op->operand == OperandKind::main)
      throw Error(StatusCode::invalid_argument,
                  fmt::format("the backward reference does not cover {}(main) yet", op->name));
    ElementwiseStage s{.op = op, .operand = {}, .tensor = -1};
    // save writes its tensor: the value passes through it, and the tensor gets no gradient.
    if (reads_tensor(op->operand) && !info_of(*op).writes_operand) {
      if (chain.middle)
        throw Error(StatusCode::invalid_argument,
                    fmt::format("the backward reference does not cover {}'s operand after a "
                                "pool step or reduction yet",
                                op->name));
      s.tensor = stage.tensors.at(0);
      s.operand = tensor_values(s.tensor);
    }
    (chain.middle ? chain.after : chain.before).push_back(std::move(s));
  }
  return chain;
}

// value[i] through `stages`, each op's input kept in inputs[k][i] and its second input in
// seconds[k][i].
struct Forward {
  std::vector<std::vector<double>> inputs, seconds;
};

Forward run_forward(const std::vector<ElementwiseStage>& stages, const Layout& layout,
                    std::vector<double>& value) {
  Forward f{std::vector<std::vector<double>>(stages.size(), std::vector<double>(layout.count)),
            std::vector<std::vector<double>>(stages.size(), std::vector<double>(layout.count))};
  for (std::int64_t i = 0; i < layout.count; ++i) {
    for (std::size_t k = 0; k < stages.size(); ++k) {
      const ElementwiseStage& s = stages[k];
      f.seconds[k][i] = s.tensor >= 0 ? s.operand[operand_index(s.op->operand, layout, i)] : 0.0;
      f.inputs[k][i] = value[i];
      value[i] = apply_reference(*s.op, value[i], f.seconds[k][i]);
    }
  }
  return f;
}

// The gradient back through `stages` at every element; operand gradients added into `into`.
void run_backward(const std::vector<ElementwiseStage>& stages, const Layout& layout,
                  const Forward& f, std::vector<double>& gradient, ChainGradients& into) {
  for (std::int64_t i = 0; i < layout.count; ++i) {
    for (std::size_t k = stages.size(); k-- > 0;) {
      const ElementwiseStage& s = stages[k];
      const OpSlopes slopes = apply_derivative_reference(*s.op, f.inputs[k][i], f.seconds[k][i]);
      if (s.tensor >= 0)
        into.operands[s.tensor][operand_index(s.op->operand, layout, i)] += gradient[i] * slopes.dy;
      gradient[i] *= slopes.dx;
    }
  }
}

// Each pooled value's gradient sent back to its window, as PyTorch's pool backward sends it:
// max to the window's first largest value (scanning d, h, w), avg evenly over the window's
// positions inside the input, divided by the window clipped to the padded extent
// (count_include_pad=True).
std::vector<double> pool_backward(PoolOp pool, const Shape& in_shape, const Shape& out_shape,
                                  const std::vector<double>& in,
                                  const std::vector<double>& gradient) {
  pool = pool_over(pool, in_shape);
  const Extents is = spatial_extents(in_shape), os = spatial_extents(out_shape);
  const std::int64_t in_plane = is[0] * is[1] * is[2], out_plane = os[0] * os[1] * os[2];
  std::vector<double> back(in.size(), 0.0);
  for (std::int64_t p = 0; p < in_shape[0] * in_shape[1]; ++p)
    for (std::int64_t o = 0; o < out_plane; ++o) {
      const Extents at{o / (os[1] * os[2]), o / os[2] % os[1], o % os[2]};
      const PoolWindow w = pool_window(pool, is, at);
      const double g = gradient[p * out_plane + o];
      std::int64_t best = -1;
      for (std::int64_t z = w.begin[0]; z < w.end[0]; ++z)
        for (std::int64_t y = w.begin[1]; y < w.end[1]; ++y)
          for (std::int64_t x = w.begin[2]; x < w.end[2]; ++x) {
            const std::int64_t j = p * in_plane + (z * is[1] + y) * is[2] + x;
            if (pool.kind == PoolKind::avg)
              back[j] += g / static_cast<double>(w.divisor);
            else if (best < 0 || in[j] > in[best])
              best = j;
          }
      if (pool.kind == PoolKind::max && best >= 0) back[best] += g;
    }
  return back;
}

// A reduction or normalization stage, forward and back, in fp64: each group through the
// registry's forward reference, then the weight and bias; back through the weight and bias
// (whose gradients it adds up) and each group's backward (reference_group_backward.h).
class ReductionBackward {
 public:
  ReductionBackward(const Stage& stage, const std::vector<ScalarArg>& scalars,
                    const TensorValues& tensor_values)
      : stage_(stage),
        op_(std::get<ReductionOp>(stage.op)),
        info_(info_of(op_)),
        layout_(layout_of(stage.in_shape)) {
    for (int s : stage.scalars) params_.push_back(scalars.at(s).value);
    std::size_t next = 0;
    if (op_.name == "batch_norm" && op_.track_running) {
      running_mean_ = tensor_values(stage.tensors.at(next++));
      running_var_ = tensor_values(stage.tensors.at(next++));
    }
    if (op_.affine && info_.affine != Affine::none) {
      weight_tensor_ = stage.tensors.at(next++);
      weight_ = tensor_values(weight_tensor_);
      if (info_.affine_bias) {
        bias_tensor_ = stage.tensors.at(next++);
        bias_ = tensor_values(bias_tensor_);
      }
    }
  }

  std::vector<double> forward(const std::vector<double>& value) {
    const Grouping& g = stage_.grouping;
    members_.assign(g.group_count(), std::vector<double>(g.group_size()));
    for (std::int64_t i = 0; i < layout_.count; ++i)
      members_[g.group_of(i)][g.place_of(i)] = value[i];
    if (eval()) {  // the running statistics stand in for the group's
      normalized_.resize(layout_.count);
      std::vector<double> out(layout_.count);
      for (std::int64_t i = 0; i < layout_.count; ++i) {
        normalized_[i] = (value[i] - running_mean_[channel(i)]) / eval_sigma(i);
        out[i] = affine(i, normalized_[i]);
      }
      return out;
    }
    results_.resize(members_.size());
    for (std::size_t group = 0; group < members_.size(); ++group)
      results_[group] = info_.reference(members_[group], params_);
    if (info_.kind == ReductionKind::reduce) {
      std::vector<double> reduced(results_.size());
      for (std::size_t group = 0; group < results_.size(); ++group)
        reduced[group] = results_[group].at(0);
      return reduced;
    }
    std::vector<double> out(layout_.count);
    for (std::int64_t i = 0; i < layout_.count; ++i)
      out[i] = affine(i, results_[g.group_of(i)].at(g.place_of(i)));
    return out;
  }

  // d loss / d (the stage's input) from d loss / d (its output); the weight's and bias's
  // gradients added into `into`.
  std::vector<double> backward(const std::vector<double>& grad, ChainGradients& into) {
    const Grouping& g = stage_.grouping;
    std::vector<double> before_affine = grad;  // d loss / d (the result before the weight)
    if (info_.kind == ReductionKind::normalize && !weight_.empty()) {
      std::vector<double>& dw = into.operands[weight_tensor_];
      dw.assign(weight_.size(), 0.0);
      std::vector<double>* db = nullptr;
      if (!bias_.empty()) (db = &into.operands[bias_tensor_])->assign(bias_.size(), 0.0);
      for (std::int64_t i = 0; i < layout_.count; ++i) {
        const std::int64_t a = affine_index(i);
        const double y = eval() ? normalized_[i] : results_[g.group_of(i)].at(g.place_of(i));
        dw[a] += grad[i] * y;
        if (db != nullptr) (*db)[a] += grad[i];
        before_affine[i] = grad[i] * weight_[a];
      }
    }
    std::vector<double> dx(layout_.count);
    if (eval()) {
      for (std::int64_t i = 0; i < layout_.count; ++i) dx[i] = before_affine[i] / eval_sigma(i);
      return dx;
    }
    const bool reduces = info_.kind == ReductionKind::reduce;
    std::vector<std::vector<double>> group_grad(members_.size(),
                                                std::vector<double>(reduces ? 1 : g.group_size()));
    if (reduces) {
      for (std::size_t group = 0; group < members_.size(); ++group)
        group_grad[group][0] = before_affine.at(group);
    } else {
      for (std::int64_t i = 0; i < layout_.count; ++i)
        group_grad[g.group_of(i)][g.place_of(i)] = before_affine[i];
    }
    std::vector<std::vector<double>> back(members_.size());
    for (std::size_t group = 0; group < members_.size(); ++group)
      back[group] =
          group_backward(op_, members_[group], results_[group], group_grad[group], params_);
    for (std::int64_t i = 0; i < layout_.count; ++i) dx[i] = back[g.group_of(i)][g.place_of(i)];
    return dx;
  }

 private:
  bool eval() const { return op_.name == "batch_norm" && op_.track_running && !op_.training; }
  std::int64_t channel(std::int64_t i) const { return (i / layout_.plane) % layout_.channels; }
  double eval_sigma(std::int64_t i) const {
    return std::sqrt(running_var_[channel(i)] + params_.at(0));
  }
  std::int64_t affine_index(std::int64_t i) const {
    return info_.affine == Affine::elements ? i % static_cast<std::int64_t>(weight_.size())
                                            : channel(i);
  }
  double affine(std::int64_t i, double y) const {
    if (weight_.empty()) return y;
    const std::int64_t a = affine_index(i);
    return y * weight_[a] + (bias_.empty() ? 0.0 : bias_[a]);
  }

  const Stage& stage_;
  const ReductionOp& op_;
  const ReductionOpInfo& info_;
  Layout layout_;
  std::vector<double> params_;
  std::vector<float> running_mean_, running_var_, weight_, bias_;
  int weight_tensor_ = -1, bias_tensor_ = -1;
  std::vector<std::vector<double>> members_, results_;
  std::vector<double> normalized_;  // batch_norm in eval mode: each element before the weight
};

}  // namespace

ChainGradients reference_chain_backward(const Spec& spec, const std::vector<double>& main_result,
                                        const std::vector<double>& output_gradient,
                                        const TensorValues& tensor_values) {
  const ChainIR ir = compile_chain(spec);
  const SplitChain chain = split_chain(ir, tensor_values);
  const Layout layout = layout_of(ir.main_shape);
  const Layout out_layout = layout_of(ir.shape());
  if (static_cast<std::int64_t>(main_result.size()) != layout.count ||
      static_cast<std::int64_t>(output_gradient.size()) != out_layout.count)
    throw Error(
        StatusCode::internal,
        fmt::format("backward reference: {} values and {} gradients where {} and {} are "
                    "expected",
                    main_result.size(), output_gradient.size(), layout.count, out_layout.count));
  ChainGradients gradients;
  for (const ElementwiseStage& s : chain.before)
    if (s.tensor >= 0)
      gradients.operands[s.tensor].assign(operand_size(s.op->operand, layout), 0.0);
  std::vector<double> value = main_result;
  const Forward before = run_forward(chain.before, layout, value);
  std::vector<double> gradient = output_gradient;
  if (chain.middle) {
    // The middle stage's output, the stages after it on that, then the gradient back to the
    // middle stage's input (`value`).
    const Stage& middle = *chain.middle;
    if (const auto* pool = std::get_if<PoolOp>(&middle.op)) {
      std::vector<double> pooled =
          reference_epilogue(Spec{.main = spec.main, .chain = {*pool}}, value, tensor_values);
      const Forward after = run_forward(chain.after, out_layout, pooled);
      run_backward(chain.after, out_layout, after, gradient, gradients);
      gradient = pool_backward(*pool, middle.in_shape, middle.out_shape, value, gradient);
    } else {
      ReductionBackward reduction(middle, ir.scalars, tensor_values);
      std::vector<double> reduced = reduction.forward(value);
      const Forward after = run_forward(chain.after, out_layout, reduced);
      run_backward(chain.after, out_layout, after, gradient, gradients);
      gradient = reduction.backward(gradient, gradients);
    }
  }
  run_backward(chain.before, layout, before, gradient, gradients);
  gradients.main = std::move(gradient);
  return gradients;
}

}  // namespace fusetune
