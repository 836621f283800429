// Emits the `Epilogue` struct of a generated kernel: the spec's chain of elementwise ops as
// straight-line fp32 code, with its operands read from the kernel's LaunchArgs.
#pragma once

#include <string>

#include "generator/spec.h"

namespace fusetune {

// The contract (templates/gemm_simt.cuh): `apply<W>(v, m, n)` rewrites v[0..W) in place, the
// outputs of row m at columns n .. n+W-1, where W is 4 (n a multiple of 4) or 1. For
// convolutions, emit_conv_epilogue().
std::string emit_epilogue(const Spec& spec);

// A convolution's contract (templates/conv_simt.cuh): `apply(value, channel, index)` runs the
// ops before the pool step on one output of the convolution, `index` its offset in the
// [N, K, (D,) H, W] result; `apply_pooled(value, channel, index)` the ops after it, `index` the
// offset in the pooled output. Without a pool step apply_pooled does nothing.
std::string emit_conv_epilogue(const Spec& spec);

}  // namespace fusetune
