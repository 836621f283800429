#include "runtime/cuda_check.h"

#include <fmt/format.h>

#include "fusetune/status.h"

namespace fusetune {

void check_cuda(cudaError_t error, std::string_view what) {
  if (error == cudaSuccess) return;
  throw Error(
      StatusCode::cuda_error,
      fmt::format("{} failed: {} ({})", what, cudaGetErrorName(error), cudaGetErrorString(error)));
}

}  // namespace fusetune
