// The part of the spec grammar that reads reductions and normalizations:
//
//   softmax(dim=1)   sum(dim=(2, 3), keepdim=true)   amax(1)   max(dim=1)
//   layer_norm(normalized_shape=4096, eps=1e-05)     rms_norm(4096, affine=false)
//   group_norm(groups=8)   instance_norm(affine=true)   batch_norm(momentum=0.1, training=false)
//
// Arguments are PyTorch's, by name; the first may come without its name (dim, normalized_shape,
// groups). Dims may be negative, counted from the end, as in PyTorch.
#pragma once

#include <string_view>

#include "generator/chain_ir.h"
#include "generator/reductions.h"
#include "generator/spec_reader.h"

namespace fusetune {

// The reduction op that the name token `name` starts, given the value `ir` leaves: "max" and "min"
// followed by dim= are amax and amin; nullptr when `name` is no reduction op.
const ReductionOpInfo* reduction_named(const SpecReader& reader, const Token& name);

// Reads the arguments of `info`'s op (after its name) and checks them against the value's shape,
// failing with a caret where PyTorch would refuse the call.
ReductionOp read_reduction_op(SpecReader& reader, const ChainIR& ir, const ReductionOpInfo& info,
                              const Token& name);

// Names a spec may use for reductions, for suggestions: the registry's and the aliases.
std::vector<std::string_view> reduction_names();

}  // namespace fusetune
