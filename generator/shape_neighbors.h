// Untuned shapes: a spec never tuned borrows the configuration that won for the nearest tuned
// shape of the same op chain. "Nearest" is measured the way a kernel sees a shape: how many
// block tiles it makes, how full its last wave of blocks is and how much of the edge tiles is
// wasted, under the borrowed configuration's own tile size; the raw sizes count only a little.
#pragma once

#include <optional>
#include <string>

#include "generator/device_limits.h"
#include "generator/generator.h"
#include "generator/spec.h"

namespace fusetune {

// The spec's signature with the main op's extents elided (m, n, k; or n, c, d, h, w, k): specs
// with the same chain share it, whatever their shapes, so one's winner may serve another.
std::string chain_signature(const Spec& spec);

// How far `wanted` is from `tuned` for a kernel with `config` (tuned's winner) on a GPU of
// `sm_count` SMs: 0 for the same shape; larger as the tile count, the last wave's fill and the
// edge tiles' waste differ. Both main ops must be of one chain (chain_signature).
double shape_distance(const MainOp& tuned, const MainOp& wanted, const KernelConfig& config,
                      int sm_count);

// The candidate of `spec`'s search space (at `config`'s precision) most like `config`: the same
// configuration when it can run `spec`, else the one sharing most of its settings (the best
// predicted among equals). Empty when the space is empty.
std::optional<Candidate> borrow_config(const Spec& spec, const DeviceLimits& limits,
                                       const KernelConfig& config);

}  // namespace fusetune
