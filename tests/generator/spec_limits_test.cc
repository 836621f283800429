// How large a problem a spec may name: the kernels index tensors with 32-bit integers and round
// extents up to whole tiles, so sizes that would overflow either are refused as the spec is
// parsed, with the argument to change under the caret, and every launch grid of what is
// accepted is one CUDA can launch.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "generator/device_limits.h"
#include "generator/generator.h"
#include "generator/precision.h"
#include "generator/spec_parser.h"
#include "generator/tile_grid.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

struct Refusal {
  std::string text;
  std::string argument;  // the caret is at this argument's value
  std::string problem;   // the message's first line, after "invalid spec: "
};

void expect_refused(const Refusal& r) {
  try {
    parse_spec(r.text);
    ADD_FAILURE() << "parsed: " << r.text;
  } catch (const SpecError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.substr(0, what.find('\n')), "invalid spec: " + r.problem) << r.text;
    EXPECT_EQ(e.position(), r.text.find(r.argument + "=") + r.argument.size() + 1) << r.text;
  }
}

TEST(SpecLimits, AGemmExtentIsAtMostTwoToThe30) {
  const std::string room =
      "a GEMM's m, n and k are at most 1073741824 (2^30), which leaves the kernels room to round "
      "them up to whole tiles in 32-bit integers";
  for (const Refusal& r : std::vector<Refusal>{
           {"linear(m=2147483647, n=2147483647, k=2147483647)", "m",
            "m=2147483647 is too large: " + room},
           {"linear(m=1, n=1, k=2147483647)", "k", "k=2147483647 is too large: " + room},
           {"matmul(m=1, n=1073741825, k=1)", "n", "n=1073741825 is too large: " + room},
       })
    expect_refused(r);
  EXPECT_EQ(parse_spec("linear(m=1, n=1, k=1073741824)").main.k, 1073741824);
}

TEST(SpecLimits, AGemmTensorHasFewerThanTwoToThe31ElementsOrTheLargerExtentIsBlamed) {
  const std::string index = "; kernels index tensors of up to 2147483647 (2^31 - 1)";
  for (const Refusal& r : std::vector<Refusal>{
           {"linear(m=65536, n=1, k=32768)", "m",
            "linear's x [65536, 32768] would have 2147483648 elements" + index},
           {"linear(m=1, n=32768, k=65536)", "k",
            "linear's weight [32768, 65536] would have 2147483648 elements" + index},
           {"matmul(m=1, n=65536, k=32768)", "n",
            "matmul's b [32768, 65536] would have 2147483648 elements" + index},
           {"matmul(m=65536, n=1, k=32768, transpose_a=true)", "m",
            "matmul's a [32768, 65536] would have 2147483648 elements" + index},
           {"linear(m=46341, n=46341, k=1) -> relu", "m",
            "linear's output [46341, 46341] would have 2147488281 elements" + index},
       })
    expect_refused(r);
  for (const char* text : {"linear(m=46340, n=46340, k=46340)", "matmul(m=1, n=1073741824, k=1)",
                           "linear(m=2, n=1073741823, k=2)"})
    EXPECT_NO_THROW(parse_spec(text)) << text;
}

TEST(SpecLimits, AConvolutionWeightHasFewerThanTwoToThe31Elements) {
  const std::string index = "; kernels index tensors of up to 2147483647";
  expect_refused({"conv2d(n=1, c=65536, h=1, w=1, k=32768, kernel=1)", "c",
                  "conv2d's weight would have 2147483648 elements" + index});
  expect_refused({"conv_transpose2d(n=1, c=32768, h=1, w=1, k=65536, kernel=1)", "k",
                  "conv_transpose2d's weight would have 2147483648 elements" + index});
  EXPECT_NO_THROW(parse_spec("conv2d(n=1, c=32768, h=1, w=1, k=65535, kernel=1)"));
}

TEST(SpecLimits, ALaunchGridIsCheckedAgainstCudasLimits) {
  EXPECT_EQ(launch_grid(2147483647, 65535), (std::array<unsigned, 3>{2147483647u, 65535u, 1u}));
  for (const auto& [x, y] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {0, 1}, {2147483648, 1}, {1, 0}, {1, 65536}, {std::int64_t{1} << 48, 1}}) {
    const std::optional<Error> error = error_of([&] { launch_grid(x, y); });
    ASSERT_TRUE(error) << x << " x " << y;
    EXPECT_EQ(error->code(), StatusCode::internal);
  }
}

// Every candidate of every family, at the largest problems the parser accepts, launches a grid
// CUDA takes (not one truncated to 0 blocks).
TEST(SpecLimits, EveryCandidateAtTheLimitsHasALaunchableGrid) {
  const std::vector<std::string> specs = {
      "linear(m=46340, n=46340, k=46340) -> relu",
      "linear(m=2, n=1073741823, k=1)",
      "linear(m=1073741824, n=1, k=1) -> bias",
      "linear(m=1, n=1, k=1073741824)",
      "linear(m=16, n=134217727, k=16, dtype=bf16)",
      "linear(m=46340, n=46340, k=16) -> softmax(dim=1)",
      "conv2d(n=1, c=1, h=1, w=2147483647, k=1, kernel=1)",
      "conv2d(n=7, c=16, h=4096, w=4096, k=1, kernel=1) -> max_pool2d(2)",
  };
  int checked = 0;
  for (const std::string& text : specs) {
    const Spec spec = parse_spec(text);
    for (const char* arch : {"sm_80", "sm_90"})
      for (Precision precision : kPrecisions) {
        if (input_type(precision) != spec.main.dtype || missing_family(spec, precision)) continue;
        const DeviceLimits limits = *DeviceLimits::for_arch(arch);
        for (const Candidate& candidate : search_space(spec, limits, precision)) {
          const KernelSource source = generate(spec, candidate.config);
          std::vector<LaunchGeometry> launches = {source.launch};
          for (const KernelStep& step : source.finishing.steps) launches.push_back(step.launch);
          ++checked;
          for (const LaunchGeometry& g : launches) {
            EXPECT_GE(g.grid[0], 1u) << text << " " << candidate.name;
            EXPECT_LE(g.grid[0], 2147483647u) << text << " " << candidate.name;
            EXPECT_TRUE(g.grid[1] >= 1 && g.grid[1] <= 65535 && g.grid[2] >= 1 &&
                        g.grid[2] <= 65535)
                << text << " " << candidate.name;
          }
        }
      }
  }
  EXPECT_GT(checked, 1000) << "every family's space at both archs";
}

// conv_mma.cuh marks padding rows with origins of -2^30: larger extents go to the direct family.
TEST(SpecLimits, TensorCoreConvolutionsTakeInputExtentsBelowTwoToThe29) {
  const Spec wide = parse_spec("conv2d(n=1, c=1, h=1, w=536870912, k=2, kernel=1)");
  const std::optional<std::string> why = missing_family(wide, Precision::tf32);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("conv_mma takes input extents below 2^29"), std::string::npos) << *why;
  EXPECT_EQ(missing_family(wide, Precision::fp32), std::nullopt);
  EXPECT_EQ(missing_family(parse_spec("conv2d(n=1, c=1, h=1, w=536870911, k=2, kernel=1)"),
                           Precision::tf32),
            std::nullopt);
}

// Input channels are divided into chunks whose weights fit shared memory; the search for the
// largest chunk must not walk down from a billion channels for each configuration.
TEST(SpecLimits, TheSpaceOfAConvolutionWithABillionChannelsIsQuickToList) {
  const Spec spec = parse_spec("conv_transpose2d(n=1, c=1073741824, h=1, w=1, k=1, kernel=1)");
  const auto start = std::chrono::steady_clock::now();
  search_space(spec, *DeviceLimits::for_arch("sm_90"), Precision::fp32);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
}

}  // namespace
}  // namespace fusetune
