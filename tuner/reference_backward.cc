#include "tuner/reference_backward.h"

#include <fmt/format.h>

#include "fusetune/status.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"
#include "tuner/operand_layout.h"

namespace fusetune {
namespace {

// Each elementwise stage's op and its operand's values, or a refusal naming what has no
// backward yet.
struct ElementwiseStage {
  const EpilogueOp* op;
  std::vector<float> operand;  // empty unless the op reads a tensor
  int tensor = -1;             // its index among the launch's tensors
};

std::vector<ElementwiseStage> elementwise_stages(const ChainIR& ir,
                                                 const TensorValues& tensor_values) {
  std::vector<ElementwiseStage> stages;
  for (const Stage& stage : ir.stages) {
    const auto* op = std::get_if<EpilogueOp>(&stage.op);
    if (op == nullptr)
      throw Error(StatusCode::invalid_argument,
                  "the backward reference covers chains of elementwise ops; a pool step or a "
                  "reduction has none yet");
    if (op->operand == OperandKind::main)
      throw Error(StatusCode::invalid_argument,
                  fmt::format("the backward reference does not cover {}(main) yet", op->name));
    ElementwiseStage s{.op = op, .operand = {}, .tensor = -1};
    // save writes its tensor: the value passes through it, and the tensor gets no gradient.
    if (reads_tensor(op->operand) && !info_of(*op).writes_operand) {
      s.tensor = stage.tensors.at(0);
      s.operand = tensor_values(s.tensor);
    }
    stages.push_back(std::move(s));
  }
  return stages;
}

}  // namespace

ChainGradients reference_chain_backward(const Spec& spec, const std::vector<double>& main_result,
                                        const std::vector<double>& output_gradient,
                                        const TensorValues& tensor_values) {
  const ChainIR ir = compile_chain(spec);
  const std::vector<ElementwiseStage> stages = elementwise_stages(ir, tensor_values);
  const Layout layout = layout_of(ir.main_shape);
  if (static_cast<std::int64_t>(main_result.size()) != layout.count ||
      output_gradient.size() != main_result.size())
    throw Error(StatusCode::internal,
                fmt::format("backward reference: {} values and {} gradients where {} are expected",
                            main_result.size(), output_gradient.size(), layout.count));
  ChainGradients gradients;
  for (const ElementwiseStage& s : stages)
    if (s.tensor >= 0)
      gradients.operands[s.tensor].assign(operand_size(s.op->operand, layout), 0.0);
  gradients.main.resize(layout.count);
  // Element by element: the forward's inputs to each op, then the gradient back through them.
  std::vector<double> inputs(stages.size()), seconds(stages.size());
  for (std::int64_t i = 0; i < layout.count; ++i) {
    double value = main_result[i];
    for (std::size_t k = 0; k < stages.size(); ++k) {
      const ElementwiseStage& s = stages[k];
      seconds[k] = s.tensor >= 0 ? s.operand[operand_index(s.op->operand, layout, i)] : 0.0;
      inputs[k] = value;
      value = apply_reference(*s.op, value, seconds[k]);
    }
    double gradient = output_gradient[i];
    for (std::size_t k = stages.size(); k-- > 0;) {
      const ElementwiseStage& s = stages[k];
      const OpSlopes slopes = apply_derivative_reference(*s.op, inputs[k], seconds[k]);
      if (s.tensor >= 0)
        gradients.operands[s.tensor][operand_index(s.op->operand, layout, i)] +=
            gradient * slopes.dy;
      gradient *= slopes.dx;
    }
    gradients.main[i] = gradient;
  }
  return gradients;
}

}  // namespace fusetune
