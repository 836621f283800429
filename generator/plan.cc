#include "generator/plan.h"

#include <fmt/format.h>

#include <algorithm>

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

// Whether the chain saves a value (save): every element of the main kernel's value is then
// written, also those a fused pool step would skip (floor-mode windows leave edges out).
bool saves(const Spec& spec) {
  return std::any_of(spec.chain.begin(), spec.chain.end(), [](const ChainOp& op) {
    const auto* e = std::get_if<EpilogueOp>(&op);
    return e != nullptr && info_of(*e).writes_operand;
  });
}

}  // namespace

Spec main_kernel_spec(const Spec& spec, bool fuses_pool, bool holds_channels) {
  Spec main{.main = spec.main, .chain = {}};
  fuses_pool = fuses_pool && !saves(spec);
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
  main.finishing = {std::move(finishing.steps), finishing.main_output_offset};
  return main;
}

}  // namespace fusetune
