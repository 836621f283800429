// Emits a complete kernel from the SIMT matrix-vector template for one spec and configuration.
#pragma once

#include "generator/gemv_simt_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_gemv_simt(const Spec& spec, const GemvSimtConfig& config);

}  // namespace fusetune
