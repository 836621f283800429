// $FUSETUNE_LOG on a GPU: a program that sets it says on standard error which kernel each load
// chose and why (tuned, borrowed, default), and at debug whether its cubin was compiled; without
// it, loads say nothing but their warnings.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fusetune/fusetune.h"
#include "generator/spec_parser.h"
#include "tests/runtime/library_on_gpu.h"
#include "tests/scoped_env.h"

namespace fusetune {
namespace {

using testing::ScopedEnv;

constexpr const char* kSpec = "linear(m=256, n=512, k=128) -> bias -> mul(2.0) -> leaky_relu(0.1)";
constexpr const char* kNear = "linear(m=320, n=512, k=192) -> bias -> mul(1.5) -> leaky_relu(0.2)";
constexpr const char* kOtherChain = "linear(m=256, n=512, k=128) -> bias -> relu";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int occurrences(const std::string& text, const std::string& part) {
  int count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

class LoadLogTest : public testing::LibraryOnGpu {
 protected:
  // What loading each of `specs` from a new library writes to standard error; each must load.
  std::string stderr_of_loads(const std::vector<std::string>& specs) {
    Result<std::unique_ptr<Library>> library = Library::open(options());
    EXPECT_TRUE(library.ok()) << library.status().message();
    if (!library.ok()) return "";
    ::testing::internal::CaptureStderr();
    for (const std::string& spec : specs) {
      Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(spec);
      EXPECT_TRUE(kernel.ok()) << kernel.status().message();
      if (kernel.ok()) configs_.push_back(kernel.value()->config());
    }
    return ::testing::internal::GetCapturedStderr();
  }

  std::vector<std::string> configs_;  // of the kernels loaded, in order
};

TEST_F(LoadLogTest, LoadsSayNothingByDefault) {
  ScopedEnv unset("FUSETUNE_LOG", nullptr);
  const std::string logged = stderr_of_loads({kOtherChain});
  EXPECT_EQ(logged, "") << "warnings go to the callback, and nothing else is said";
}

TEST_F(LoadLogTest, InfoNamesEachLoadsKernelAndWhyItWasChosenOnce) {
  ASSERT_TRUE(tune_briefly(kSpec));
  ScopedEnv info("FUSETUNE_LOG", "info");
  const std::string logged = stderr_of_loads({kSpec, kNear, kOtherChain, kSpec});
  ASSERT_EQ(configs_.size(), 4u);
  EXPECT_TRUE(contains(logged, "fusetune: loaded '" + parse_spec(kSpec).canonical() + "' -> " +
                                   configs_[0] + " (tuned, fp32, from " + database_ + ") in "))
      << logged;
  EXPECT_TRUE(contains(logged, "fusetune: loaded '" + parse_spec(kNear).canonical() + "' -> " +
                                   configs_[1] +
                                   " (borrowed from the nearest tuned shape 'linear(m=256, "
                                   "n=512, k=128)"))
      << logged;
  EXPECT_TRUE(contains(logged, "fusetune: loaded '" + parse_spec(kOtherChain).canonical() +
                                   "' -> " + configs_[2] + " (default, untuned, fp32) in "))
      << logged;
  EXPECT_EQ(occurrences(logged, "fusetune: loaded"), 3) << "a kernel already held is not loaded\n"
                                                        << logged;
  EXPECT_FALSE(contains(logged, "NVRTC")) << "compiles are debug's to tell\n" << logged;
}

TEST_F(LoadLogTest, DebugSaysWhetherTheCubinWasCompiledOrFoundAndWhatTheKernelUses) {
  ScopedEnv debug("FUSETUNE_LOG", "debug");
  const std::string first = stderr_of_loads({kOtherChain});
  EXPECT_TRUE(contains(first, "compiled by NVRTC in ")) << first;
  EXPECT_TRUE(contains(first, "stored in " + database_)) << first;
  EXPECT_TRUE(contains(first, " registers, ")) << first;
  EXPECT_TRUE(contains(first, "precision asked: the spec's native one")) << first;
  const std::string second = stderr_of_loads({kOtherChain});
  EXPECT_TRUE(contains(second, "cubin from the database")) << second;
  EXPECT_FALSE(contains(second, "NVRTC")) << second;
}

TEST_F(LoadLogTest, AnUnknownLevelIsAWarningSayingWhatToWrite) {
  ScopedEnv verbose("FUSETUNE_LOG", "verbose");
  const std::string logged = stderr_of_loads({kOtherChain});
  EXPECT_EQ(logged, "");
  ASSERT_FALSE(warnings_.empty());
  EXPECT_TRUE(contains(warnings_[0], "FUSETUNE_LOG=verbose names no level")) << warnings_[0];
}

}  // namespace
}  // namespace fusetune
