// The CUDA templates, embedded at build time (templates/embed.cmake), verbatim.
#pragma once

#include <string_view>

namespace fusetune::templates {

extern const std::string_view common_cuh;               // templates/common.cuh
extern const std::string_view split_k_cuh;              // templates/split_k.cuh
extern const std::string_view statistics_cuh;           // templates/statistics.cuh
extern const std::string_view finishing_cuh;            // templates/finishing.cuh
extern const std::string_view pool_backward_cuh;        // templates/pool_backward.cuh
extern const std::string_view held_group_backward_cuh;  // templates/held_group_backward.cuh
extern const std::string_view gemm_simt_cuh;            // templates/gemm_simt.cuh
extern const std::string_view gemv_simt_cuh;            // templates/gemv_simt.cuh
extern const std::string_view mma_tf32_cuh;             // templates/mma_tf32.cuh
extern const std::string_view mma_16bit_cuh;            // templates/mma_16bit.cuh
extern const std::string_view gemm_mma_cuh;             // templates/gemm_mma.cuh
extern const std::string_view hopper_cuh;               // templates/hopper.cuh
extern const std::string_view gemm_wgmma_cuh;           // templates/gemm_wgmma.cuh
extern const std::string_view conv_cells_cuh;           // templates/conv_cells.cuh
extern const std::string_view conv_simt_cuh;            // templates/conv_simt.cuh
extern const std::string_view conv_mma_cuh;             // templates/conv_mma.cuh
extern const std::string_view int8_slices_cuh;          // templates/int8_slices.cuh
extern const std::string_view gemm_wgmma_int8_cuh;      // templates/gemm_wgmma_int8.cuh

}  // namespace fusetune::templates
