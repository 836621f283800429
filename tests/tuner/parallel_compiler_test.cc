#include "tuner/parallel_compiler.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace fusetune {
namespace {

// A tiny kernel named `name` that compiles in a few tens of milliseconds.
KernelSource tiny_kernel(const std::string& name, int value) {
  return {
      name,
      fmt::format("extern \"C\" __global__ void {}(float* data) {{ data[threadIdx.x] += {}.f; }}\n",
                  name, value),
      {}};
}

std::vector<KernelSource> tiny_kernels(int count) {
  std::vector<KernelSource> sources;
  for (int i = 0; i < count; ++i) sources.push_back(tiny_kernel(fmt::format("kernel_{}", i), i));
  return sources;
}

TEST(ParallelCompiler, HandsBackEveryIndexExactlyOnceAndMarksTheBrokenOne) {
  std::vector<KernelSource> sources = tiny_kernels(6);
  sources[3].code = "extern \"C\" __global__ void kernel_3(float* data) { data[0] = ; }\n";
  ParallelCompiler compiler(sources, "sm_80", 2);
  std::multiset<std::size_t> seen;
  while (std::optional<CompileOutput> output = compiler.next()) {
    seen.insert(output->index);
    if (output->index == 3) {
      EXPECT_FALSE(output->binary) << "a source that does not compile has no binary";
      EXPECT_NE(output->error.find("kernel_3"), std::string::npos) << output->error;
      EXPECT_NE(output->error.find("error"), std::string::npos) << output->error;
    } else {
      ASSERT_TRUE(output->binary) << output->index << ": " << output->error;
      EXPECT_TRUE(output->error.empty()) << output->error;
      EXPECT_EQ(output->binary->arch, "sm_80");
      EXPECT_FALSE(output->binary->cubin.empty());
      EXPECT_NE(output->binary->log.find(fmt::format("kernel_{}", output->index)),
                std::string::npos)
          << "the binary at index i is source i's: " << output->binary->log;
    }
  }
  EXPECT_EQ(seen, (std::multiset<std::size_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(compiler.next(), std::nullopt) << "stays finished";
}

TEST(ParallelCompiler, MoreThreadsThanSourcesAndOneThreadBothWork) {
  for (const int threads : {1, 8}) {
    ParallelCompiler compiler(tiny_kernels(3), "sm_90", threads);
    std::set<std::size_t> seen;
    while (std::optional<CompileOutput> output = compiler.next()) {
      EXPECT_TRUE(output->binary) << output->error;
      seen.insert(output->index);
    }
    EXPECT_EQ(seen, (std::set<std::size_t>{0, 1, 2})) << threads << " threads";
  }
}

TEST(ParallelCompiler, NothingToCompileFinishesAtOnce) {
  ParallelCompiler compiler({}, "sm_90", 4);
  EXPECT_EQ(compiler.next(), std::nullopt);
}

TEST(ParallelCompiler, DestroyingItWithPendingWorkDoesNotWaitForTheRest) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t handed_back = 0;
  {
    ParallelCompiler compiler(tiny_kernels(1000), "sm_90", 2);
    ASSERT_TRUE(compiler.next());
    ++handed_back;
  }  // 999 sources pending: the running compiles finish, the others are dropped
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(handed_back, 1u);
  // 1000 compiles, about 30 ms each, would take several seconds even on 8 threads.
  EXPECT_LT(seconds, 2.0);
}

TEST(ParallelCompiler, DefaultThreadsIsAtLeastOneAndAtMostTheCores) {
  const int threads = default_compile_threads();
  EXPECT_GE(threads, 1);
  EXPECT_LE(threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace fusetune
