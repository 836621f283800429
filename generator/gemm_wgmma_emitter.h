// Source of one configuration of the Hopper warpgroup-MMA GEMM template.
#pragma once

#include "generator/gemm_wgmma_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_gemm_wgmma(const Spec& spec, const GemmWgmmaConfig& config);

}  // namespace fusetune
