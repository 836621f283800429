// Helpers for the tests of libfusetune.so, which see only what it exports: fusetune_c.h.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "fusetune/fusetune_c.h"

namespace capi_test {

// The description of `spec` as JSON; a test failure (and null) when fusetune_describe fails.
inline nlohmann::json describe(const char* spec) {
  char* text = nullptr;
  const fusetune_status status = fusetune_describe(spec, &text);
  EXPECT_EQ(status, FUSETUNE_OK) << fusetune_last_error();
  if (status != FUSETUNE_OK) return nullptr;
  nlohmann::json json = nlohmann::json::parse(text);
  fusetune_free(text);
  return json;
}

// Why no GPU fusetune runs on (compute capability 8.0 or newer) is usable, or "" when one is.
// Asked through this program's own CUDA runtime, as a Python process would ask PyTorch's.
inline std::string missing_gpu() {
  int count = 0;
  if (const cudaError_t error = cudaGetDeviceCount(&count); error != cudaSuccess)
    return cudaGetErrorString(error);
  if (count == 0) return "no CUDA device";
  int major = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  return major >= 8 ? "" : "device 0 is older than compute capability 8.0";
}

// A database file in a fresh folder of the test temporary directory, removed with the object.
class TemporaryDatabase {
 public:
  TemporaryDatabase()
      : folder_(std::filesystem::path(::testing::TempDir()) /
                ("capi_test_" + std::to_string(std::random_device{}()))) {
    std::filesystem::create_directories(folder_);
  }
  ~TemporaryDatabase() { std::filesystem::remove_all(folder_); }
  TemporaryDatabase(const TemporaryDatabase&) = delete;
  TemporaryDatabase& operator=(const TemporaryDatabase&) = delete;

  std::string path() const { return (folder_ / "tuning.db").string(); }
  const std::filesystem::path& folder() const { return folder_; }

 private:
  std::filesystem::path folder_;
};

}  // namespace capi_test

#define CAPI_REQUIRE_GPU()                                              \
  do {                                                                  \
    const std::string missing_ = ::capi_test::missing_gpu();            \
    if (!missing_.empty()) GTEST_SKIP() << "needs a GPU: " << missing_; \
  } while (0)
