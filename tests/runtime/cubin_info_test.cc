// The register count read from a cubin agrees with what ptxas reports, per entry, and bytes
// that are not a well-formed cubin give none (no GPU needed).
#include "runtime/cubin_info.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "runtime/nvrtc.h"

namespace fusetune {
namespace {

// Two entries of different register needs, so that reading the other's count shows.
constexpr const char* kTwoKernels = R"(
extern "C" __global__ void scale(float* p) { p[threadIdx.x] *= 2.f; }
extern "C" __global__ void many_live(const float* p, float* q) {
  float a[24];
#pragma unroll
  for (int i = 0; i < 24; ++i) a[i] = p[i * blockDim.x + threadIdx.x];
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 24; ++i) s += a[i] * a[(i * 7) % 24];
  q[threadIdx.x] = s;
}
)";

// What ptxas said for `entry` in the log ("Compiling entry function 'E' ... Used N registers").
int logged_registers(const std::string& log, const std::string& entry) {
  const std::regex pattern("Function properties for " + entry + "[^]*?Used (\\d+) registers");
  std::smatch match;
  return std::regex_search(log, match, pattern) ? std::stoi(match[1].str()) : -1;
}

TEST(CubinInfo, RegisterCountsMatchPtxasPerEntry) {
  for (const std::string arch : {"sm_80", "sm_90"}) {
    const CompiledBinary binary = compile_to_cubin(kTwoKernels, "scale", arch);
    for (const std::string entry : {"scale", "many_live"}) {
      const int logged = logged_registers(binary.log, entry);
      ASSERT_GT(logged, 0) << arch << " " << entry << ":\n" << binary.log;
      EXPECT_EQ(cubin_register_count(binary.cubin, entry), logged) << arch << " " << entry;
    }
    EXPECT_NE(cubin_register_count(binary.cubin, "scale"),
              cubin_register_count(binary.cubin, "many_live"));
  }
}

TEST(CubinInfo, NothingForAnAbsentEntryOrBytesThatAreNotACubin) {
  const CompiledBinary binary = compile_to_cubin(kTwoKernels, "scale", "sm_90");
  EXPECT_EQ(cubin_register_count(binary.cubin, "missing"), std::nullopt);
  EXPECT_EQ(cubin_register_count({}, "scale"), std::nullopt);
  EXPECT_EQ(cubin_register_count(std::vector<char>(100, 'x'), "scale"), std::nullopt);
  // Cut anywhere, it never reads past the end, and what it still finds is the true count. The
  // ELF header alone (64 bytes) names sections that are not there.
  const std::optional<int> whole = cubin_register_count(binary.cubin, "scale");
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(cubin_register_count({binary.cubin.begin(), binary.cubin.begin() + 64}, "scale"),
            std::nullopt);
  for (std::size_t size = 65; size < binary.cubin.size(); size += 61) {
    const std::vector<char> cut(binary.cubin.begin(), binary.cubin.begin() + size);
    const std::optional<int> count = cubin_register_count(cut, "scale");
    if (count) {
      EXPECT_EQ(count, whole) << "cut to " << size << " bytes";
    }
  }
}

}  // namespace
}  // namespace fusetune
