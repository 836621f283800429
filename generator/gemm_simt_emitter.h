// Emits a complete kernel from the SIMT GEMM template for one spec and configuration.
#pragma once

#include "generator/gemm_simt_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_gemm_simt(const Spec& spec, const GemmSimtConfig& config);

}  // namespace fusetune
