// Emits the source of one direct-convolution kernel (templates/conv_simt.cuh) for a spec.
#pragma once

#include "generator/conv_simt_config.h"
#include "generator/kernel_source.h"
#include "generator/spec.h"

namespace fusetune {

KernelSource emit_conv_simt(const Spec& spec, const ConvSimtConfig& config);

}  // namespace fusetune
