// Turns CUDA runtime errors into fusetune::Error.
#pragma once

#include <cuda_runtime_api.h>

#include <string_view>

namespace fusetune {

// Throws Error(cuda_error) naming `what` and the CUDA error when `error` is not cudaSuccess.
void check_cuda(cudaError_t error, std::string_view what);

}  // namespace fusetune
