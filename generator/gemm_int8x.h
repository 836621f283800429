// The int8x GEMM family (precision int8x, sm_90a): a linear layer's or matmul's fp32 operands
// split into int8 digits by two slicing passes (generator/int8_slicing.h) that run before the
// product, the digit-pair products on int8 warpgroup MMA, recombined exactly in fp64, and the
// chain in the epilogue (templates/gemm_wgmma_int8.cuh). Its configuration is Int8xGemmConfig
// (generator/int8x_gemm.h); this is the family unit and its search.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/int8x_gemm.h"
#include "generator/kernel_family.h"
#include "generator/spec.h"

namespace fusetune {

// The family: its tunables table gives the procedural name
//   ft_gemm_int8x_<BM>x<BN>_d<SLICES>t<THROUGH>_c<CONSUMERS>_s<STAGES>_p<BLOCKS>
// e.g. ft_gemm_int8x_128x64_d3t4_c2_s3_p132, its parser, its JSON and the Config's tunables.
const KernelFamily<Int8xGemmConfig>& family_of(const Int8xGemmConfig&);

// Where the plan's workspace holds A's digits and B's: A's slicing layout from byte 0, B's from
// b_base; then the guard's verdict (an int: nonzero sends the product to fp32); `bytes` the
// whole.
struct Int8xWorkspace {
  std::uint64_t b_base = 0;
  std::uint64_t verdict = 0;
  std::uint64_t bytes = 0;
};

// The relative error the guard lets the digits reach on a launch's operands, estimated from the
// slicing passes' statistics times kInt8xGuardMargin: int8x's default tolerance.
inline constexpr double kInt8xGuardTolerance = 1e-5;
inline constexpr double kInt8xGuardMargin = 4;
Int8xWorkspace int8x_workspace(const MainOp& main, int slices);

// Why int8x cannot run `spec` (a convolution, 16-bit data, an operand whose K is not
// contiguous, a row range); nullopt when it can.
std::optional<std::string> gemm_int8x_spec_rejection(const Spec& spec);
std::optional<std::string> gemm_int8x_rejection(const Spec& spec, const DeviceLimits& limits,
                                                const Int8xGemmConfig& config);

// The configurations that pass, best predicted first (at most kGemmInt8xSpaceSize).
std::vector<Int8xGemmConfig> gemm_int8x_space(const Spec& spec, const DeviceLimits& limits);
inline constexpr std::size_t kGemmInt8xSpaceSize = 48;

}  // namespace fusetune
