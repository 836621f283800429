// CUDA graphs on a GPU: Kernel::prepare allocates a plan's scratch memory for a stream, so that
// launches on it can be captured into a graph whose replays compute the spec; a launch that would
// allocate during a capture is refused with a message that says to prepare, and breaks nothing.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "fusetune/fusetune.h"
#include "generator/spec_parser.h"
#include "tests/runtime/library_on_gpu.h"
#include "tuner/problem_data.h"

namespace fusetune {
namespace {

// A spec that reduces: a plan of a main kernel and finishing kernels sharing scratch memory.
constexpr const char* kPlan =
    "linear(m=300, n=5000, k=64) -> bias -> sum(dim=1, keepdim=true) -> mul(0.5) -> tanh";
constexpr const char* kOneKernel = "linear(m=64, n=96, k=32) -> relu";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

using PrepareTest = testing::LibraryOnGpu;

// Captured in global mode, where an allocation by any thread would break the capture: after
// prepare, the plan's launch is captured whole and each replay computes the spec.
TEST_F(PrepareTest, APreparedStreamCapturesAPlanIntoAGraphWhoseReplaysComputeTheSpec) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kPlan);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  ProblemData data(parse_spec(kPlan), std::random_device{}(), stream_);
  const Arguments arguments = arguments_of(*kernel.value(), data);
  const Status prepared = kernel.value()->prepare(stream_);
  ASSERT_TRUE(prepared.ok()) << prepared.message();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);

  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status captured = kernel.value()->launch(stream_, arguments);
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess) << "the capture was broken";
  ASSERT_TRUE(captured.ok()) << captured.message();
  std::size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_GE(nodes, 2u) << "a plan is a main kernel and its finishing kernels";
  testing::expect_replays_compute_the_spec(graph, data, stream_);
}

TEST_F(PrepareTest, AnUnpreparedStreamIsNotAllocatedForDuringACaptureAndTheErrorSaysToPrepare) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kPlan);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  ProblemData data(parse_spec(kPlan), 7, stream_);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status launched = kernel.value()->launch(stream_, arguments_of(*kernel.value(), data));
  EXPECT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess) << "nothing broke the capture";
  if (graph) cudaGraphDestroy(graph);
  EXPECT_EQ(launched.code(), StatusCode::cuda_error);
  EXPECT_TRUE(contains(launched.message(), "prepare the stream before capturing it"))
      << launched.message();
  // Outside a capture the first launch allocates, as ever.
  data.poison_output();
  EXPECT_TRUE(kernel.value()->launch(stream_, arguments_of(*kernel.value(), data)).ok());
  EXPECT_LE(data.verify().rel_err, 1e-5);
}

TEST_F(PrepareTest, OneKernelNeedsNothingAndIsCapturedAfterPrepareToo) {
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok());
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kOneKernel);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  ASSERT_TRUE(kernel.value()->prepare(stream_).ok());
  ProblemData data(parse_spec(kOneKernel), 11, stream_);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status captured = kernel.value()->launch(stream_, arguments_of(*kernel.value(), data));
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  ASSERT_TRUE(captured.ok()) << captured.message();
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  data.poison_output();
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  EXPECT_LE(data.verify().rel_err, 1e-5);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

}  // namespace
}  // namespace fusetune
