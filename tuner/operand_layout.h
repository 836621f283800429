// Where an element's operands are in a value of some shape, for the host references: [M, N]
// for a GEMM, [N, C, ...] for a convolution (after a reduction, whatever dims are left).
#pragma once

#include <cstdint>

#include "generator/chain_ir.h"
#include "generator/spec.h"

namespace fusetune {

struct Layout {
  std::int64_t count = 0;
  std::int64_t columns = 1;   // the last dim's extent: N of [M, N]
  std::int64_t plane = 1;     // positions per channel: the extents after dim 1
  std::int64_t channels = 1;  // dim 1's extent
};

Layout layout_of(const Shape& shape);

// Whether an operand of `kind` is a tensor of the launch (column, row, channel, tensor).
bool reads_tensor(OperandKind kind);

// How many values an operand tensor of `kind` has, and which one element i reads.
std::int64_t operand_size(OperandKind kind, const Layout& l);
std::int64_t operand_index(OperandKind kind, const Layout& l, std::int64_t i);

}  // namespace fusetune
