// The tensor-core convolution's warpgroup-MMA k-loop (conv_mma.cuh's WGMMA) compiles for sm_90a
// without spilling, at TF32 and 3xTF32, for plain, grouped, dilated and 3-d convolutions,
// transposed ones by their phases and pooled ones; its results on the GPU:
// tests/templates/conv_mma_test.cc (ConvWgmmaTest). No GPU needed.
#include <gtest/gtest.h>

#include <string>

#include "generator/device_limits.h"
#include "generator/generator.h"
#include "generator/spec_parser.h"
#include "runtime/nvrtc.h"
#include "tests/templates/conv_wgmma_configs.h"

namespace fusetune {
namespace {

TEST(ConvWgmmaCompile, ConfigurationsCompileForSm90aWithoutSpilling) {
  const DeviceLimits limits = *DeviceLimits::for_arch("sm_90");
  int compiled = 0;
  for (const char* text :
       {"conv2d(n=2, c=64, h=30, w=31, k=128, kernel=3) -> bias -> relu -> add(channel)",
        "conv3d(n=2, c=6, d=5, h=9, w=11, k=10, kernel=(3, 3, 2), stride=(1, 2, 1), padding=1, "
        "dilation=(2, 1, 2), groups=2) -> add(tensor) -> gelu",
        "conv_transpose3d(n=2, c=5, d=5, h=7, w=9, k=6, kernel=3, stride=2, padding=1, "
        "output_padding=1) -> bias -> leaky_relu(0.2) -> mul(channel) -> leaky_relu(0.2) -> "
        "max_pool3d(2)",
        "conv2d(n=2, c=3, h=17, w=15, k=5, kernel=3, padding=1) -> relu -> avg_pool2d(3, "
        "stride=2, padding=1)"}) {
    const Spec spec = parse_spec(text);
    for (Precision precision : {Precision::tf32, Precision::tf32x3}) {
      const std::vector<Candidate> candidates = conv_wgmma_candidates(spec, limits, precision);
      ASSERT_FALSE(candidates.empty()) << text;
      // The widest and the narrowest: every other lies between them.
      for (const Candidate* c : {&candidates.front(), &candidates.back()}) {
        SCOPED_TRACE(std::string(text) + " " + c->name);
        const KernelSource source = generate(spec, c->config);
        EXPECT_EQ(target_arch(source, "sm_90"), "sm_90a");
        const CompiledBinary binary = compile_to_cubin(source.code, source.name, "sm_90a");
        EXPECT_EQ(binary.spill_bytes, 0) << binary.log;
        ++compiled;
      }
    }
  }
  EXPECT_EQ(compiled, 16);
}

}  // namespace
}  // namespace fusetune
