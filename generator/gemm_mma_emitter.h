// Emits a complete kernel from the tensor-core GEMM template for one spec and configuration.
#pragma once

#include "generator/gemm_mma_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_gemm_mma(const Spec& spec, const GemmMmaConfig& config);

}  // namespace fusetune
