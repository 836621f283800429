// The CUDA templates, embedded at build time (templates/embed.cmake), verbatim.
#pragma once

#include <string_view>

namespace fusetune::templates {

extern const std::string_view common_cuh;     // templates/common.cuh
extern const std::string_view gemm_simt_cuh;  // templates/gemm_simt.cuh

}  // namespace fusetune::templates
