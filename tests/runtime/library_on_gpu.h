// For tests of the public API on a GPU: a fresh tuning database per test, a CUDA stream, the
// library's warnings kept, and quick ways to tune a spec and to check a kernel's output. Each test
// skips without a GPU.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cache/database.h"
#include "fusetune/fusetune.h"
#include "generator/spec_parser.h"
#include "runtime/cuda_check.h"
#include "tests/gpu_test.h"
#include "tuner/problem_data.h"
#include "tuner/tune.h"

namespace fusetune::testing {

// Instantiates a captured `graph` and replays it twice on `data`'s poisoned output, each
// replay checked against fp64 at fp32 accuracy; destroys the graph. GoogleTest assertions.
inline void expect_replays_compute_the_spec(cudaGraph_t graph, ProblemData& data,
                                            cudaStream_t stream) {
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int replay = 0; replay < 2; ++replay) {
    data.poison_output();
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    const Verification v = data.verify();
    EXPECT_EQ(v.non_finite, 0);
    EXPECT_LE(v.rel_err, 1e-5) << "replay " << replay;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

class LibraryOnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    FUSETUNE_REQUIRE_GPU();
    folder_ = std::filesystem::path(::testing::TempDir()) /
              ("library_on_gpu_" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(folder_);
    database_ = (folder_ / "tuning.db").string();
    check_cuda(cudaStreamCreate(&stream_), "creating a stream");
  }
  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
    std::filesystem::remove_all(folder_);
  }

  Options options() {
    Options o;
    o.database_path = database_;
    o.on_warning = [this](const std::string& w) { warnings_.push_back(w); };
    return o;
  }

  // Tunes `spec` into the test's database from a few candidates: a winner in seconds.
  bool tune_briefly(const std::string& spec) {
    const auto db = cache::Database::open(database_);
    TuneOptions tuning;
    tuning.max_candidates = 4;
    return tune(parse_spec(spec), *db, tuning).winner.has_value();
  }

  // Arguments for `kernel` over `data`'s tensors and output.
  static Arguments arguments_of(const Kernel& kernel, const ProblemData& data) {
    Arguments arguments;
    for (std::size_t i = 0; i < kernel.tensors().size(); ++i)
      arguments.tensors.push_back(data.launch_args().tensors[i]);
    arguments.out = data.output();
    return arguments;
  }

  // Launches `kernel` on fresh inputs of `spec` and returns its error against fp64.
  Verification run(const Kernel& kernel, const std::string& spec) {
    ProblemData data(parse_spec(spec), std::random_device{}(), stream_);
    data.poison_output();
    const Status launched = kernel.launch(stream_, arguments_of(kernel, data));
    EXPECT_TRUE(launched.ok()) << launched.message();
    return data.verify();
  }

  std::filesystem::path folder_;
  std::string database_;
  cudaStream_t stream_ = nullptr;
  std::vector<std::string> warnings_;
};

}  // namespace fusetune::testing
