// The C++ API (fusetune.h) as a program linked only to libfusetune.so sees it: what the library
// exports is enough to open, load and launch, and its errors arrive as Status values.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusetune/fusetune.h"
#include "tests/capi/capi_test.h"
#include "tests/capi/device_buffer.h"

namespace {

using capi_test::DeviceBuffer;
using capi_test::TemporaryDatabase;

TEST(CxxApi, StatusCodesHaveTheirNames) {
  EXPECT_STREQ(fusetune::to_string(fusetune::StatusCode::no_device), "no_device");
  EXPECT_STREQ(fusetune::to_string(fusetune::StatusCode::invalid_spec), "invalid_spec");
}

TEST(CxxApi, OpeningWithoutAGpuFailsWithNoDevice) {
  if (capi_test::missing_gpu().empty()) GTEST_SKIP() << "a GPU is present";
  TemporaryDatabase db;
  fusetune::Options options;
  options.database_path = db.path();
  const auto library = fusetune::Library::open(options);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.status().code(), fusetune::StatusCode::no_device);
  EXPECT_NE(library.status().message(), "");
}

TEST(CxxApi, AKernelLoadsAndComputesItsSpec) {
  CAPI_REQUIRE_GPU();
  TemporaryDatabase db;
  std::vector<std::string> warnings;
  fusetune::Options options;
  options.database_path = db.path();
  options.on_warning = [&](const std::string& warning) { warnings.push_back(warning); };
  auto library = fusetune::Library::open(options);
  ASSERT_TRUE(library.ok()) << library.status().message();
  auto kernel = library.value()->load("linear(m=4, n=8, k=16) -> bias -> relu");
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_FALSE(kernel.value()->tuned());
  EXPECT_EQ(warnings.size(), 1u) << "an untuned spec warns once";
  EXPECT_EQ(kernel.value()->tensors().size(), 3u);

  // x = 1, weight = 1/16, bias = -0.5: every output is relu(1 - 0.5).
  const DeviceBuffer x(std::vector<float>(4 * 16, 1.0f)),
      weight(std::vector<float>(8 * 16, 0.0625f)), bias(std::vector<float>(8, -0.5f)), out(4 * 8);
  const fusetune::Status launched =
      kernel.value()->launch(nullptr, {.tensors = {x.get(), weight.get(), bias.get()},
                                       .out = out.get(),
                                       .scalars = {},
                                       .unchanged = {}});
  ASSERT_TRUE(launched.ok()) << launched.message();
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (float value : out.download()) EXPECT_FLOAT_EQ(value, 0.5f);

  EXPECT_EQ(library.value()->load("linear(m=4, n=8, k=16) -> leaky_rel(0.1)").status().code(),
            fusetune::StatusCode::invalid_spec);
}

}  // namespace
