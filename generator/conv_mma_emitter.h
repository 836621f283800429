// Generates the source of one implicit-GEMM tensor-core convolution kernel
// (templates/conv_mma.cuh).
#pragma once

#include "generator/conv_mma_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_conv_mma(const Spec& spec, const ConvMmaConfig& config);

}  // namespace fusetune
