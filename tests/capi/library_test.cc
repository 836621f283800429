// Opening a library, loading kernels and launching them through the C interface. Tests that need
// a GPU skip without one; the failures of opening are checked everywhere.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fusetune/fusetune_c.h"
#include "tests/capi/capi_test.h"
#include "tests/capi/device_buffer.h"

namespace {

using capi_test::DeviceBuffer;
using capi_test::random_values;
using capi_test::TemporaryDatabase;

TEST(LibraryOpen, WithoutAGpuFailsWithNoDevice) {
  const std::string missing = capi_test::missing_gpu();
  if (missing.empty()) GTEST_SKIP() << "a GPU is present";
  TemporaryDatabase db;
  fusetune_library* library = reinterpret_cast<fusetune_library*>(1);  // NULL after a failure
  EXPECT_EQ(fusetune_library_open(db.path().c_str(), 0, nullptr, nullptr, &library),
            FUSETUNE_NO_DEVICE);
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(std::string(fusetune_last_error()), "");
}

TEST(LibraryOpen, AFileThatIsNoTuningDatabaseFailsAndIsLeftUntouched) {
  TemporaryDatabase db;
  const std::string text = "these are someone's notes, not a tuning database\n";
  std::ofstream(db.path()) << text;
  fusetune_library* library = nullptr;
  EXPECT_EQ(fusetune_library_open(db.path().c_str(), 0, nullptr, nullptr, &library),
            FUSETUNE_DATABASE_ERROR);
  EXPECT_EQ(library, nullptr);
  EXPECT_NE(std::string(fusetune_last_error()).find(db.path()), std::string::npos)
      << fusetune_last_error();
  std::stringstream after;
  after << std::ifstream(db.path()).rdbuf();
  EXPECT_EQ(after.str(), text);
}

// A library on a fresh database, whose warnings the test keeps.
class LibraryOnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    CAPI_REQUIRE_GPU();
    ASSERT_EQ(fusetune_library_open(db_.path().c_str(), 0, &LibraryOnGpu::hear, this, &library_),
              FUSETUNE_OK)
        << fusetune_last_error();
    ASSERT_EQ(cudaStreamCreate(&stream_), cudaSuccess);
  }
  void TearDown() override {
    for (fusetune_kernel* kernel : kernels_) fusetune_kernel_release(kernel);
    fusetune_library_close(library_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  static void hear(const char* message, void* user) {
    static_cast<LibraryOnGpu*>(user)->warnings_.push_back(message);
  }

  // The kernel for `spec`, released after the test; null (and a test failure) when loading fails.
  fusetune_kernel* load(const char* spec, const char* precision = nullptr) {
    fusetune_kernel* kernel = nullptr;
    EXPECT_EQ(fusetune_library_load(library_, spec, precision, 0, &kernel), FUSETUNE_OK)
        << fusetune_last_error();
    if (kernel) kernels_.push_back(kernel);
    return kernel;
  }

  fusetune_status launch(fusetune_kernel* kernel, std::vector<const void*> tensors, void* out,
                         std::vector<float> scalars = {}) {
    return fusetune_kernel_launch(kernel, stream_, tensors.data(), tensors.size(), out,
                                  scalars.empty() ? nullptr : scalars.data(), scalars.size());
  }

  TemporaryDatabase db_;
  fusetune_library* library_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::vector<fusetune_kernel*> kernels_;
  std::vector<std::string> warnings_;
  std::mt19937 random_{20240611};
};

TEST_F(LibraryOnGpu, ALaunchComputesTheSpec) {
  const int m = 128, n = 256, k = 64;
  fusetune_kernel* kernel = load("linear(m=128, n=256, k=64) -> bias -> relu");
  ASSERT_TRUE(kernel);
  const std::vector<float> x = random_values(m * k, random_);
  const std::vector<float> weight = random_values(n * k, random_);
  const std::vector<float> bias = random_values(n, random_);
  const DeviceBuffer x_d(x), weight_d(weight), bias_d(bias), out_d(m * n);
  ASSERT_EQ(launch(kernel, {x_d.get(), weight_d.get(), bias_d.get()}, out_d.get()), FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  const std::vector<float> out = out_d.download();
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = bias[j];
      for (int p = 0; p < k; ++p) sum += double{x[i * k + p]} * weight[j * k + p];
      ASSERT_NEAR(out[i * n + j], std::max(sum, 0.0), 1e-4) << "at (" << i << ", " << j << ")";
    }
}

// A training step through the C interface, as a binding runs it: the saving forward, the
// chain's backward, then the two matmuls fusetune_describe names, against fp64 on the host.
TEST_F(LibraryOnGpu, ATrainingStepsGradientsMatchFp64) {
  const int m = 64, n = 48, k = 32;
  const char* spec = "linear(m=64, n=48, k=32) -> bias -> mul(2.0) -> leaky_relu(0.1)";
  const nlohmann::json backward = capi_test::describe(spec)["backward"];
  fusetune_kernel* forward = load(backward["saving"].get<std::string>().c_str());
  fusetune_kernel* chain = nullptr;
  ASSERT_EQ(fusetune_library_load_backward(library_, spec, &chain), FUSETUNE_OK)
      << fusetune_last_error();
  kernels_.push_back(chain);
  fusetune_kernel* grad_x = load(backward["grad_a"].get<std::string>().c_str());
  fusetune_kernel* grad_w = load(backward["grad_b"].get<std::string>().c_str());
  ASSERT_TRUE(forward && grad_x && grad_w);
  EXPECT_EQ(backward["grad_a_operands"], nlohmann::json({"grad_main", "b"}));
  EXPECT_EQ(backward["grad_b_operands"], nlohmann::json({"grad_main", "a"}));

  const std::vector<float> x = random_values(m * k, random_);
  const std::vector<float> weight = random_values(n * k, random_);
  const std::vector<float> bias = random_values(n, random_);
  const std::vector<float> grad = random_values(m * n, random_);
  const DeviceBuffer x_d(x), weight_d(weight), bias_d(bias), grad_d(grad), saved_d(m * n),
      out_d(m * n), grad_main_d(m * n), grad_bias_d(n), grad_x_d(m * k), grad_w_d(n * k);
  ASSERT_EQ(launch(forward, {x_d.get(), weight_d.get(), saved_d.get(), bias_d.get()}, out_d.get()),
            FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(launch(chain, {grad_d.get(), saved_d.get(), bias_d.get(), grad_bias_d.get()},
                   grad_main_d.get()),
            FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(launch(grad_x, {grad_main_d.get(), weight_d.get()}, grad_x_d.get()), FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(launch(grad_w, {grad_main_d.get(), x_d.get()}, grad_w_d.get()), FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);

  std::vector<double> g(m * n), want_bias(n, 0.0), want_x(m * k, 0.0), want_w(n * k, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double z = 0;
      for (int p = 0; p < k; ++p) z += double{x[i * k + p]} * weight[j * k + p];
      const double y = 2 * (z + bias[j]);
      g[i * n + j] = grad[i * n + j] * (y > 0 ? 1.0 : 0.1) * 2;
      want_bias[j] += g[i * n + j];
    }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p) {
        want_x[i * k + p] += g[i * n + j] * weight[j * k + p];
        want_w[j * k + p] += g[i * n + j] * x[i * k + p];
      }
  auto expect_near = [](const std::vector<float>& got, const std::vector<double>& want,
                        const char* what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << what << " at " << i;
  };
  expect_near(grad_bias_d.download(), want_bias, "d bias");
  expect_near(grad_x_d.download(), want_x, "d x");
  expect_near(grad_w_d.download(), want_w, "d weight");
}

TEST_F(LibraryOnGpu, ScalarsPassedAtLaunchReplaceTheSpecsValues) {
  const int m = 64, n = 64, k = 32;
  fusetune_kernel* kernel = load("linear(m=64, n=64, k=32) -> mul(2.0)");
  ASSERT_TRUE(kernel);
  const std::vector<float> x = random_values(m * k, random_);
  const std::vector<float> weight = random_values(n * k, random_);
  const DeviceBuffer x_d(x), weight_d(weight), out_d(m * n);
  ASSERT_EQ(launch(kernel, {x_d.get(), weight_d.get()}, out_d.get(), {-3.0f}), FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  const std::vector<float> out = out_d.download();
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int p = 0; p < k; ++p) sum += double{x[i * k + p]} * weight[j * k + p];
      ASSERT_NEAR(out[i * n + j], -3.0 * sum, 1e-4) << "at (" << i << ", " << j << ")";
    }
}

TEST_F(LibraryOnGpu, WrongOperandsAreInvalidArgumentsNamingTheOperand) {
  fusetune_kernel* kernel = load("linear(m=64, n=64, k=32) -> bias -> relu");
  ASSERT_TRUE(kernel);
  const DeviceBuffer x(64 * 32), weight(64 * 32), bias(64), out(64 * 64);
  auto expect_invalid = [](fusetune_status status, const std::string& says) {
    EXPECT_EQ(status, FUSETUNE_INVALID_ARGUMENT) << says;
    EXPECT_NE(std::string(fusetune_last_error()).find(says), std::string::npos)
        << fusetune_last_error();
  };
  expect_invalid(launch(kernel, {x.get(), weight.get()}, out.get()),
                 "takes 3 tensors (x, weight, bias), got 2");
  expect_invalid(launch(kernel, {x.get(), nullptr, bias.get()}, out.get()),
                 "tensor 'weight' is a null pointer");
  expect_invalid(launch(kernel, {x.get(), weight.get(), bias.get()}, nullptr),
                 "the output is a null pointer");
  expect_invalid(launch(kernel, {x.get() + 1, weight.get(), bias.get()}, out.get()),
                 "tensor 'x' at");
  expect_invalid(launch(kernel, {x.get(), weight.get(), bias.get()}, out.get(), {1.0f}),
                 "takes 0 scalars, got 1");
  expect_invalid(fusetune_kernel_launch(kernel, stream_, nullptr, 3, out.get(), nullptr, 0),
                 "the argument tensors is NULL");
}

TEST_F(LibraryOnGpu, AnUntunedSpecLoadsItsDefaultWithAWarning) {
  const char* spec = "linear(m=64,n=64,k=32)->relu";
  fusetune_kernel* kernel = load(spec);
  ASSERT_TRUE(kernel);
  EXPECT_EQ(fusetune_kernel_tuned(kernel), 0);
  EXPECT_STREQ(fusetune_kernel_spec(kernel), "linear(m=64, n=64, k=32) -> relu");
  EXPECT_EQ(std::string(fusetune_kernel_config(kernel)).rfind("ft_", 0), 0u)
      << fusetune_kernel_config(kernel);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("was never tuned"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("fusetune tune"), std::string::npos) << warnings_[0];

  fusetune_kernel* again = load(spec);
  ASSERT_TRUE(again);
  EXPECT_NE(again, kernel) << "each load returns a handle of its own";
  EXPECT_STREQ(fusetune_kernel_config(again), fusetune_kernel_config(kernel));
  EXPECT_EQ(warnings_.size(), 1u) << "the second load reuses the kernel already loaded";
}

TEST_F(LibraryOnGpu, LoadRefusesAnInvalidSpecAndAnUnknownPrecision) {
  fusetune_kernel* kernel = nullptr;
  EXPECT_EQ(fusetune_library_load(library_, "linear(m=64, n=64) -> relu", nullptr, 0, &kernel),
            FUSETUNE_INVALID_SPEC);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_EQ(fusetune_library_load(library_, "linear(m=64, n=64, k=32)", "fp64", 0, &kernel),
            FUSETUNE_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fusetune_last_error()).find("fp64"), std::string::npos)
      << fusetune_last_error();
  EXPECT_EQ(kernel, nullptr);
}

TEST_F(LibraryOnGpu, ProductionModeRefusesALoadThatWouldCompileAndNamesTheCommand) {
  fusetune_library* production = nullptr;
  ASSERT_EQ(fusetune_library_open_with_flags(db_.path().c_str(), 0, FUSETUNE_OPEN_NO_COMPILE,
                                             &LibraryOnGpu::hear, this, &production),
            FUSETUNE_OK)
      << fusetune_last_error();
  const char* spec = "linear(m=64, n=96, k=32) -> relu";
  fusetune_kernel* kernel = reinterpret_cast<fusetune_kernel*>(1);
  EXPECT_EQ(fusetune_library_load(production, spec, nullptr, 0, &kernel), FUSETUNE_NOT_FOUND);
  EXPECT_EQ(kernel, nullptr);
  const std::string error = fusetune_last_error();
  EXPECT_NE(error.find("fusetune tune \"linear(m=64, n=96, k=32) -> relu\" --precision fp32"),
            std::string::npos)
      << error;
  // Once a library that may compile has stored its cubin, production loads it.
  ASSERT_TRUE(load(spec));
  EXPECT_EQ(fusetune_library_load(production, spec, nullptr, 0, &kernel), FUSETUNE_OK)
      << fusetune_last_error();
  fusetune_kernel_release(kernel);
  fusetune_library_close(production);
}

// A plan's scratch memory, allocated by fusetune_kernel_prepare, lets a graph capture its launch;
// without it the launch during the capture is refused with a message that says to prepare.
TEST_F(LibraryOnGpu, APreparedStreamCapturesAPlanIntoAGraph) {
  const int m = 96, n = 512, k = 32;
  fusetune_kernel* kernel = load("linear(m=96, n=512, k=32) -> sum(dim=1, keepdim=true) -> tanh");
  ASSERT_TRUE(kernel);
  const std::vector<float> x = random_values(m * k, random_);
  const std::vector<float> weight = random_values(n * k, random_);
  const DeviceBuffer x_d(x), weight_d(weight), out_d(m);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(launch(kernel, {x_d.get(), weight_d.get()}, out_d.get()), FUSETUNE_CUDA_ERROR);
  EXPECT_NE(std::string(fusetune_last_error()).find("prepare"), std::string::npos)
      << fusetune_last_error();
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  if (graph) cudaGraphDestroy(graph);

  ASSERT_EQ(fusetune_kernel_prepare(kernel, stream_), FUSETUNE_OK) << fusetune_last_error();
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(launch(kernel, {x_d.get(), weight_d.get()}, out_d.get()), FUSETUNE_OK)
      << fusetune_last_error();
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  const std::vector<float> out = out_d.download();
  for (int i = 0; i < m; ++i) {
    double row = 0, magnitude = 0;  // the sum, and the sum of its terms' sizes
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p) {
        row += double{x[i * k + p]} * weight[j * k + p];
        magnitude += std::abs(double{x[i * k + p]} * weight[j * k + p]);
      }
    // fp32 sums of n * k terms, then tanh, whose slope is at most 1.
    ASSERT_NEAR(out[i], std::tanh(row), 1e-5 * magnitude + 1e-6) << "row " << i;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(LibraryOnGpu, KernelsOutliveTheirLibrary) {
  fusetune_kernel* kernel = load("linear(m=64, n=64, k=32)");
  ASSERT_TRUE(kernel);
  fusetune_library_close(library_);
  library_ = nullptr;
  const DeviceBuffer x(64 * 32), weight(64 * 32), out(64 * 64);
  EXPECT_EQ(launch(kernel, {x.get(), weight.get()}, out.get()), FUSETUNE_OK)
      << fusetune_last_error();
  EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
}

}  // namespace
