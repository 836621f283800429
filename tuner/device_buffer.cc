#include "tuner/device_buffer.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "runtime/cuda_check.h"

namespace fusetune {

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  check_cuda(cudaMalloc(&data_, bytes),
             fmt::format("allocating {:.1f} MB of device memory", bytes / 1e6));
}

DeviceBuffer::~DeviceBuffer() { cudaFree(data_); }

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    cudaFree(data_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

}  // namespace fusetune
