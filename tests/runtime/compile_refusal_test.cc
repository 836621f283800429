// Production mode without a GPU: the switch in the environment, and the error
// of a load it refuses, which names the spec, says that compiling is off and
// gives the command that fixes it.
#include "runtime/compile_refusal.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tests/scoped_env.h"

namespace fusetune {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(NoCompileFromEnvironment, IsOnForAnyValueButTheWordsForOff) {
  const std::pair<const char*, bool> cases[] = {{nullptr, false}, {"", false},   {"0", false},
                                                {"false", false}, {"no", false}, {"1", true},
                                                {"yes", true}};
  for (const auto& [value, on] : cases) {
    testing::ScopedEnv setting("FUSETUNE_NO_COMPILE", value);
    EXPECT_EQ(no_compile_from_environment(), on) << (value ? value : "unset");
  }
}

CompileNeed untuned_need() {
  return {.spec = "linear(m=64, n=96, k=32) -> relu",
          .precision = "fp32",
          .device = "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)",
          .arch = "sm_90",
          .kernel = "ft_gemm_simt_64x32x8_w2x2_t4x4_s2",
          .database = "/tmp/tuning.db"};
}

TEST(CompileRefusal, AnUntunedSpecIsNamedWithTheCommandsThatTuneIt) {
  const std::string message = compile_refusal(untuned_need());
  EXPECT_TRUE(
      message.starts_with("'linear(m=64, n=96, k=32) -> relu' was never tuned on NVIDIA "
                          "H100 80GB HBM3 (sm_90, 132 SMs) at precision fp32"))
      << message;
  EXPECT_TRUE(contains(message,
                       "compiling at load is off (production mode: "
                       "Options::no_compile or $FUSETUNE_NO_COMPILE)"))
      << message;
  EXPECT_TRUE(contains(message,
                       "the default configuration ft_gemm_simt_64x32x8_w2x2_t4x4_s2 "
                       "whose cubin is not in /tmp/tuning.db"))
      << message;
  EXPECT_TRUE(contains(message,
                       "Run `fusetune tune \"linear(m=64, n=96, k=32) -> relu\" "
                       "--precision fp32` on this GPU (or `fusetune tune --misses`"))
      << message;
}

TEST(CompileRefusal, ABorrowedKernelNamesItsNeighbour) {
  CompileNeed need = untuned_need();
  need.neighbour = "linear(m=64, n=128, k=32) -> relu";
  EXPECT_TRUE(contains(compile_refusal(need),
                       "ft_gemm_simt_64x32x8_w2x2_t4x4_s2, the winner of the "
                       "nearest tuned shape "
                       "'linear(m=64, n=128, k=32) -> relu', whose cubin"))
      << compile_refusal(need);
}

TEST(CompileRefusal, ATunedSpecWithoutItsCubinSaysHowToStoreIt) {
  CompileNeed need = untuned_need();
  need.tuned = true;
  const std::string message = compile_refusal(need);
  EXPECT_TRUE(contains(message,
                       "is tuned on NVIDIA H100 80GB HBM3 (sm_90, 132 SMs) at precision "
                       "fp32, but the cubin of its winner "
                       "ft_gemm_simt_64x32x8_w2x2_t4x4_s2 is not in /tmp/tuning.db"))
      << message;
  EXPECT_TRUE(contains(message, "Load it once where compiling is allowed")) << message;
  EXPECT_TRUE(contains(message, "--compile-only --arch sm_90")) << message;
}

}  // namespace
}  // namespace fusetune
