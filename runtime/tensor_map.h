// TMA descriptors (CUtensorMap) for the kernels that take them, encoded for the pointers of a
// launch. The driver's encoder is reached through the CUDA runtime's entry-point lookup, so
// fusetune still links no driver library.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>

#include "generator/kernel_source.h"
#include "runtime/launch_args.h"

namespace fusetune {

// Byte for byte a CUtensorMap.
struct alignas(64) EncodedTensorMap {
  std::array<std::uint64_t, 16> opaque{};
};

// Encodes `spec` for the tensor it names in `args`, or the part of `workspace` it names.
// cudaErrorMisalignedAddress when that pointer is not 16-byte aligned (TMA's requirement),
// cudaErrorInvalidValue when the driver refuses the description (or a workspace map has no
// workspace), cudaErrorNotSupported without a driver that has the encoder.
cudaError_t encode_tensor_map(const TensorMapSpec& spec, const LaunchArgs& args, void* workspace,
                              EncodedTensorMap& map);

}  // namespace fusetune
