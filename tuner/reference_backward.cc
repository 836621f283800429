#include "tuner/reference_backward.h"

#include <fmt/format.h>

#include <array>
#include <optional>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "tuner/operand_layout.h"

namespace fusetune {
namespace {

// An elementwise stage's op and its operand's values.
struct ElementwiseStage {
  const EpilogueOp* op;
  std::vector<float> operand;  // empty unless the op reads a tensor
  int tensor = -1;             // its index among the launch's tensors
};

// The chain as the backward takes it: elementwise stages, at most one pool step, elementwise
// stages without operand tensors after it; or a refusal naming what has no backward yet.
struct SplitChain {
  std::vector<ElementwiseStage> before;
  std::optional<PoolOp> pool;
  Shape pool_in, pool_out;
  std::vector<ElementwiseStage> after;
};

SplitChain split_chain(const ChainIR& ir, const TensorValues& tensor_values) {
  SplitChain chain;
  for (const Stage& stage : ir.stages) {
    if (const auto* pool = std::get_if<PoolOp>(&stage.op)) {
      if (chain.pool)
        throw Error(StatusCode::invalid_argument,
                    "the backward reference covers one pool step; a second has none yet");
      if (pool->kind == PoolKind::global_avg)
        throw Error(StatusCode::invalid_argument,
                    "the backward reference does not cover global_avg_pool yet");
      chain.pool = *pool;
      chain.pool_in = stage.in_shape;
      chain.pool_out = stage.out_shape;
      continue;
    }
    const auto* op = std::get_if<EpilogueOp>(&stage.op);
    if (op == nullptr)
      throw Error(StatusCode::invalid_argument,
                  "the backward reference covers chains of elementwise ops and pool steps; a "
                  "reduction has none yet");
    if (op->operand == OperandKind::main)
      throw Error(StatusCode::invalid_argument,
                  fmt::format("the backward reference does not cover {}(main) yet", op->name));
    ElementwiseStage s{.op = op, .operand = {}, .tensor = -1};
    // save writes its tensor: the value passes through it, and the tensor gets no gradient.
    if (reads_tensor(op->operand) && !info_of(*op).writes_operand) {
      if (chain.pool)
        throw Error(StatusCode::invalid_argument,
                    fmt::format("the backward reference does not cover {}'s operand after a "
                                "pool step yet",
                                op->name));
      s.tensor = stage.tensors.at(0);
      s.operand = tensor_values(s.tensor);
    }
    (chain.pool ? chain.after : chain.before).push_back(std::move(s));
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

using Extents = std::array<std::int64_t, 3>;

Extents spatial(const Shape& shape) {
  Extents e{1, 1, 1};
  std::copy(shape.begin() + 2, shape.end(), e.end() - (shape.size() - 2));
  return e;
}

// Each pooled value's gradient sent back to its window, as PyTorch's pool backward sends it:
// max to the window's first largest value (scanning d, h, w), avg evenly over the window's
// positions inside the input, divided by the window clipped to the padded extent
// (count_include_pad=True).
std::vector<double> pool_backward(PoolOp pool, const Shape& in_shape, const Shape& out_shape,
                                  const std::vector<double>& in,
                                  const std::vector<double>& gradient) {
  if (in_shape.size() == 4) {  // 2-d: no window along d
    pool.kernel[0] = pool.stride[0] = 1;
    pool.padding[0] = 0;
  }
  const Extents is = spatial(in_shape), os = spatial(out_shape);
  const std::int64_t in_plane = is[0] * is[1] * is[2], out_plane = os[0] * os[1] * os[2];
  std::vector<double> back(in.size(), 0.0);
  for (std::int64_t p = 0; p < in_shape[0] * in_shape[1]; ++p)
    for (std::int64_t o = 0; o < out_plane; ++o) {
      const Extents at{o / (os[1] * os[2]), o / os[2] % os[1], o % os[2]};
      Extents begin{}, end{};
      std::int64_t divisor = 1;
      for (int d = 0; d < 3; ++d) {
        const std::int64_t start = at[d] * pool.stride[d] - pool.padding[d];
        const std::int64_t stop = start + pool.kernel[d];
        divisor *= std::min(stop, is[d] + pool.padding[d]) - start;
        begin[d] = std::max<std::int64_t>(start, 0);
        end[d] = std::min(stop, is[d]);
      }
      const double g = gradient[p * out_plane + o];
      std::int64_t best = -1;
      for (std::int64_t z = begin[0]; z < end[0]; ++z)
        for (std::int64_t y = begin[1]; y < end[1]; ++y)
          for (std::int64_t x = begin[2]; x < end[2]; ++x) {
            const std::int64_t j = p * in_plane + (z * is[1] + y) * is[2] + x;
            if (pool.kind == PoolKind::avg)
              back[j] += g / static_cast<double>(divisor);
            else if (best < 0 || in[j] > in[best])
              best = j;
          }
      if (pool.kind == PoolKind::max && best >= 0) back[best] += g;
    }
  return back;
}

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
  if (chain.pool) {
    // The pool's input stays in `value`; the stages after it run on the pooled values.
    std::vector<double> pooled =
        reference_epilogue(Spec{.main = spec.main, .chain = {*chain.pool}}, value, tensor_values);
    const Forward after = run_forward(chain.after, out_layout, pooled);
    run_backward(chain.after, out_layout, after, gradient, gradients);
    gradient = pool_backward(*chain.pool, chain.pool_in, chain.pool_out, value, gradient);
  }
  run_backward(chain.before, layout, before, gradient, gradients);
  gradients.main = std::move(gradient);
  return gradients;
}

}  // namespace fusetune
