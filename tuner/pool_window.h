// The geometry of a pool step for the host references (forward and backward): which input
// positions each window takes, and count_include_pad's divisor, over one channel's plane.
#pragma once

#include <array>
#include <cstdint>

#include "generator/chain_ir.h"
#include "generator/spec.h"

namespace fusetune {

using Extents = std::array<std::int64_t, 3>;  // d, h, w; d = 1 in 2-d

// The d, h, w extents of a value [N, C, (D,) H, W].
Extents spatial_extents(const Shape& shape);

// `pool` as it slides over a value of `shape`: a 2-d value has no window along d.
PoolOp pool_over(PoolOp pool, const Shape& shape);

// The window at output position `o` over a plane of `in` positions: [begin, end) per axis,
// clipped to the input, and the avg pool's divisor, the window clipped to the padded extent
// (count_include_pad=True: padded positions count, those beyond it not).
struct PoolWindow {
  Extents begin{};
  Extents end{};
  std::int64_t divisor = 1;
};
PoolWindow pool_window(const PoolOp& pool, const Extents& in, const Extents& o);

}  // namespace fusetune
