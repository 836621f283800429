#include "generator/plan.h"

#include <fmt/format.h>

#include "generator/finishing_emitter.h"

namespace fusetune {

Spec main_kernel_spec(const Spec& spec, bool fuses_pool) {
  Spec main{.main = spec.main, .chain = {}};
  bool pooled = false;
  for (const ChainOp& op : spec.chain) {
    const bool pool = std::holds_alternative<PoolOp>(op);
    if (pool && (!fuses_pool || pooled)) break;
    if (!pool && !std::holds_alternative<EpilogueOp>(op)) break;
    pooled = pooled || pool;
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
