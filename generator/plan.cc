#include "generator/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "generator/chain_ir.h"
#include "generator/finishing_emitter.h"
#include "generator/ops.h"
#include "generator/reductions.h"

namespace fusetune {

namespace {

// softmax(dim=1) or log_softmax(dim=1): a normalization over a position's channels alone.
bool over_channels(const ChainOp& op) {
  const auto* reduction = std::get_if<ReductionOp>(&op);
  if (reduction == nullptr) return false;
  const ReductionOpInfo& info = info_of(*reduction);
  return info.kind == ReductionKind::normalize && info.group_by == GroupBy::dims &&
         reduction->dims == std::vector<int>{1};
}

// Whether the chain saves a value (save), which must then be written at every element.
bool saves(const Spec& spec) {
  return std::any_of(spec.chain.begin(), spec.chain.end(), [](const ChainOp& op) {
    const auto* e = std::get_if<EpilogueOp>(&op);
    return e != nullptr && info_of(*e).writes_operand;
  });
}

// Whether the chain's first pool step (a main kernel fuses no other) has every element of its
// input in a window: windows that tile the value exactly, without padding. Elsewhere a kernel
// that pools in its epilogue skips the elements no window takes (floor mode drops the edges).
bool first_pool_covers_its_input(const Spec& spec) {
  const ChainIR ir = compile_chain(spec);
  for (const Stage& stage : ir.stages) {
    const auto* pool = std::get_if<PoolOp>(&stage.op);
    if (pool == nullptr) continue;
    if (pool->kind == PoolKind::global_avg) return true;
    const int dims = static_cast<int>(stage.in_shape.size()) - 2;
    for (int i = 0; i < dims; ++i) {
      const int d = 3 - dims + i;
      if (pool->padding[d] != 0 || pool->kernel[d] != pool->stride[d] ||
          stage.in_shape[2 + i] % pool->kernel[d] != 0)
        return false;
    }
    return true;
  }
  return true;
}

}  // namespace

Spec main_kernel_spec(const Spec& spec, bool fuses_pool, bool holds_channels) {
  Spec main{.main = spec.main, .chain = {}};
  fuses_pool = fuses_pool && (!saves(spec) || first_pool_covers_its_input(spec));
  bool pooled = false, normalized = false;
  for (const ChainOp& op : spec.chain) {
    const bool pool = std::holds_alternative<PoolOp>(op);
    const bool channels =
        holds_channels && over_channels(op) && !pooled && !normalized && spec.main.is_conv();
    if (pool && (!fuses_pool || pooled || normalized)) break;
    if (!pool && !channels && !std::holds_alternative<EpilogueOp>(op)) break;
    pooled = pooled || pool;
    normalized = normalized || channels;
    main.chain.push_back(op);
  }
  return main;
}

KernelSource with_finishing_kernels(const Spec& spec, const Spec& main_spec, KernelSource main) {
  if (main_spec.chain.size() == spec.chain.size()) return main;
  FinishingKernels finishing =
      emit_finishing_kernels(spec, main_spec.chain.size(), main.name, main.launch.workspace_bytes);
  main.code = fmt::format(
                  "// fusetune plan for: {}\n// The first kernel computes the part of it below; "
                  "{} finishing kernels complete it.\n",
                  spec.canonical(), finishing.steps.size()) +
              main.code + finishing.code;
  main.finishing.steps = std::move(finishing.steps);
  main.finishing.main_output_offset = finishing.main_output_offset;
  return main;
}

}  // namespace fusetune
