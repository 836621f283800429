// The parts of the spec grammar that describe windows over spatial dimensions: a convolution's
// per-dimension arguments (kernel=3, stride=(1, 2, 2), ...) and the pool step after it
// (max_pool3d(2), avg_pool2d(3, stride=2, padding=1), global_avg_pool).
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "generator/chain_ir.h"
#include "generator/spec.h"
#include "generator/spec_reader.h"

namespace fusetune {

// kernel, stride, padding, dilation, output_padding: the arguments with one value per dimension.
bool is_window_argument(std::string_view name);

// Reads `name`'s value for `dims` spatial dimensions: one integer for all, or one each in
// parentheses, as in kernel=(1, 3, 3). Dimensions a 2-d op lacks (d) keep the default: 1, or 0
// for padding and output_padding.
std::array<int, 3> read_window(SpecReader& reader, std::string_view name, int dims);

// max_pool2d, max_pool3d, avg_pool2d, avg_pool3d, global_avg_pool.
std::span<const std::string_view> pool_names();
bool is_pool_name(std::string_view name);

// Reads a pool step (its name is the next token) on the value `ir` leaves. Fails where the spec
// has no convolution, the value has lost its positions (to a reduction), the step names the
// wrong dimensions, or its window is one PyTorch would refuse.
PoolOp read_pool_step(SpecReader& reader, const ChainIR& ir);

}  // namespace fusetune
