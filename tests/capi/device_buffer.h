// Device memory for the tests, from this program's own CUDA runtime (as PyTorch's would be).
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

namespace capi_test {

class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t floats) : floats_(floats) {
    EXPECT_EQ(cudaMalloc(&data_, floats * sizeof(float)), cudaSuccess);
  }
  explicit DeviceBuffer(const std::vector<float>& values) : DeviceBuffer(values.size()) {
    EXPECT_EQ(
        cudaMemcpy(data_, values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice),
        cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  float* get() const { return static_cast<float*>(data_); }
  std::vector<float> download() const {
    std::vector<float> values(floats_);
    EXPECT_EQ(cudaMemcpy(values.data(), data_, floats_ * sizeof(float), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return values;
  }

 private:
  std::size_t floats_;
  void* data_ = nullptr;
};

// `count` values uniform in [-1, 1].
inline std::vector<float> random_values(std::size_t count, std::mt19937& random) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(random);
  return values;
}

}  // namespace capi_test
