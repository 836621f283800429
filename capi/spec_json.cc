#include "capi/spec_json.h"

#include <string>

#include "fusetune/status.h"
#include "generator/chain_backward.h"
#include "generator/chain_ir.h"
#include "generator/ops.h"

namespace fusetune::capi {
namespace {

using Json = nlohmann::ordered_json;

std::string pool_kind_name(PoolKind kind) {
  switch (kind) {
    case PoolKind::max:
      return "max";
    case PoolKind::avg:
      return "avg";
    case PoolKind::global_avg:
      return "global_avg";
  }
  return "";
}

Json main_json(const MainOp& main) {
  Json j = {{"op", std::string(main_op_name(main.kind))}};
  if (main.is_conv()) {
    const ConvGeometry& c = main.conv;
    j["n"] = c.batch;
    j["c"] = c.in_channels;
    j["k"] = c.out_channels;
    j["size"] = c.size;
    j["kernel"] = c.kernel;
    j["stride"] = c.stride;
    j["padding"] = c.padding;
    j["dilation"] = c.dilation;
    j["output_padding"] = c.output_padding;
    j["groups"] = c.groups;
    j["spatial_dims"] = main.spatial_dims();
  } else {
    j["m"] = main.m;
    if (main.is_row_range()) j["m_min"] = main.m_min;  // a bucket: m is its top
    j["n"] = main.n;
    j["k"] = main.k;
    j["transpose_a"] = main.transpose_a;
    j["transpose_b"] = main.transpose_b;
  }
  j["dtype"] = std::string(to_string(main.dtype));
  j["output_dtype"] = std::string(to_string(main.output_dtype()));
  return j;
}

// One stage of the chain: its op, the value's shape before and after, and where its operand
// tensors are among the launch's.
Json stage_json(const Stage& stage, int spatial_dims) {
  Json j;
  if (const auto* op = std::get_if<EpilogueOp>(&stage.op)) {
    const EpilogueOpInfo& info = info_of(*op);
    j = {{"kind", "elementwise"},
         {"op", op->name},
         {"operand", std::string(operand_kind_name(op->operand))},
         {"scalars", op->scalars},
         {"mode", info.modes.empty() ? std::string() : std::string(info.modes.at(op->mode))}};
  } else if (const auto* pool = std::get_if<PoolOp>(&stage.op)) {
    j = {{"kind", "pool"},
         {"op", pool_step_name(*pool, spatial_dims)},
         {"pool", pool_kind_name(pool->kind)},
         {"kernel", pool->kernel},
         {"stride", pool->stride},
         {"padding", pool->padding}};
  } else {
    const ReductionOp& op = std::get<ReductionOp>(stage.op);
    j = {{"kind", "reduction"},
         {"op", op.name},
         {"dims", op.dims},
         {"keepdim", op.keepdim},
         {"normalized_shape", op.normalized_shape},
         {"groups", op.groups},
         {"affine", op.affine},
         {"training", op.training},
         {"track_running_stats", op.track_running},
         {"scalars", op.scalars}};
  }
  j["tensors"] = stage.tensors;
  j["in_shape"] = stage.in_shape;
  j["out_shape"] = stage.out_shape;
  return j;
}

// The backward plan of the spec (generator/chain_backward.h), or why it has none.
Json backward_json(const Spec& spec) {
  try {
    const BackwardPlan plan = plan_backward(spec);
    Json json = {{"saving", plan.saving.canonical()},
                 {"grad_a", plan.grad_a.spec.canonical()},
                 {"grad_a_operands", plan.grad_a.operands},
                 {"grad_b", plan.grad_b ? Json(plan.grad_b->spec.canonical()) : Json(nullptr)},
                 {"grad_b_operands", plan.grad_b ? Json(plan.grad_b->operands) : Json::array()}};
    if (!plan.grad_b) json["grad_b_missing"] = plan.grad_b_missing;
    auto product = [](const std::optional<Product>& p) {
      if (!p) return Json(nullptr);
      return Json{{"spec", p->spec.canonical()}, {"operands", p->operands}};
    };
    json["grad_a_k_major"] = product(plan.grad_a_k_major);
    json["grad_b_k_major"] = product(plan.grad_b_k_major);
    return json;
  } catch (const Error& e) {
    return {{"refused", e.what()}};
  }
}

}  // namespace

nlohmann::ordered_json describe_spec(const Spec& spec) {
  const ChainIR ir = compile_chain(spec);
  Json chain = Json::array();
  for (const Stage& stage : ir.stages) chain.push_back(stage_json(stage, spec.main.spatial_dims()));
  Json tensors = Json::array();
  for (const TensorArg& t : ir.tensors)
    tensors.push_back({{"name", t.name},
                       {"shape", t.shape},
                       {"dtype", std::string(to_string(t.dtype))},
                       {"updated", t.updated}});
  Json scalars = Json::array();
  for (const ScalarArg& s : ir.scalars) scalars.push_back({{"name", s.name}, {"value", s.value}});
  return {{"canonical", spec.canonical()},
          {"signature", spec.signature()},
          {"main", main_json(spec.main)},
          {"chain", std::move(chain)},
          {"main_value_stages", ir.main_value_stages},
          {"tensors", std::move(tensors)},
          {"scalars", std::move(scalars)},
          {"main_shape", ir.main_shape},
          {"output_shape", ir.shape()},
          {"output_dtype", std::string(to_string(spec.main.output_dtype()))},
          {"flops", spec.flops()},
          {"backward", backward_json(spec)}};
}

}  // namespace fusetune::capi
