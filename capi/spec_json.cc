#include "capi/spec_json.h"

#include <string>

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
    j["n"] = main.n;
    j["k"] = main.k;
    j["transpose_a"] = main.transpose_a;
    j["transpose_b"] = main.transpose_b;
  }
  j["dtype"] = std::string(to_string(main.dtype));
  j["output_dtype"] = std::string(to_string(main.output_dtype()));
  return j;
}

Json epilogue_op_json(const EpilogueOp& op) {
  const EpilogueOpInfo* info = find_epilogue_op(op.name);
  const bool has_modes = info != nullptr && !info->modes.empty();
  return {{"op", op.name},
          {"operand", std::string(operand_kind_name(op.operand))},
          {"scalars", op.scalars},
          {"mode", has_modes ? std::string(info->modes.at(op.mode)) : std::string()}};
}

Json pool_json(const PoolOp& pool, int spatial_dims) {
  return {{"op", pool_step_name(pool, spatial_dims)},
          {"kind", pool_kind_name(pool.kind)},
          {"kernel", pool.kernel},
          {"stride", pool.stride},
          {"padding", pool.padding},
          {"position", pool.position}};
}

}  // namespace

nlohmann::ordered_json describe_spec(const Spec& spec) {
  Json epilogue = Json::array();
  for (const EpilogueOp& op : spec.epilogue) epilogue.push_back(epilogue_op_json(op));
  Json tensors = Json::array();
  for (const TensorArg& t : spec.tensors())
    tensors.push_back(
        {{"name", t.name}, {"shape", t.shape}, {"dtype", std::string(to_string(t.dtype))}});
  Json scalars = Json::array();
  for (const ScalarArg& s : spec.scalars())
    scalars.push_back({{"name", s.name}, {"value", s.value}});
  return {{"canonical", spec.canonical()},
          {"signature", spec.signature()},
          {"main", main_json(spec.main)},
          {"epilogue", std::move(epilogue)},
          {"pool", spec.pool ? pool_json(*spec.pool, spec.main.spatial_dims()) : Json()},
          {"tensors", std::move(tensors)},
          {"scalars", std::move(scalars)},
          {"main_shape", spec.main_shape()},
          {"output_shape", spec.output_shape()},
          {"output_dtype", std::string(to_string(spec.main.output_dtype()))},
          {"flops", spec.flops()}};
}

}  // namespace fusetune::capi
