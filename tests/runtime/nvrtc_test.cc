// NVRTC needs the toolkit's library but no GPU: every test here runs on any build machine.
#include "runtime/nvrtc.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>

#include "fusetune/status.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kAddOne = R"(
extern "C" __global__ void add_one(float* data) { data[threadIdx.x] += 1.f; }
)";

TEST(Nvrtc, CompilesAKernelToACubinWithItsResources) {
  for (const std::string arch : {"sm_80", "sm_90"}) {
    const CompiledBinary binary = compile_to_cubin(kAddOne, "add_one", arch);
    EXPECT_EQ(binary.arch, arch);
    ASSERT_GE(binary.cubin.size(), 4u);
    EXPECT_EQ(std::string(binary.cubin.data(), 4),
              "\x7f"
              "ELF");
    EXPECT_GT(binary.registers, 0) << binary.log;
    EXPECT_EQ(binary.spill_bytes, 0) << binary.log;
    EXPECT_EQ(binary.static_smem_bytes, 0) << binary.log;
    EXPECT_TRUE(contains(binary.log, "add_one")) << "ptxas reports per entry: " << binary.log;
    EXPECT_GT(binary.compile_ms, 0);
  }
}

TEST(Nvrtc, ReportsStaticSharedMemory) {
  const CompiledBinary binary = compile_to_cubin(R"(
extern "C" __global__ void reverse(float* data) {
  __shared__ float buffer[300];  // 1200 bytes
  buffer[threadIdx.x] = data[threadIdx.x];
  __syncthreads();
  data[threadIdx.x] = buffer[299 - threadIdx.x];
}
)",
                                                 "reverse", "sm_90");
  EXPECT_EQ(binary.static_smem_bytes, 1200) << binary.log;
}

TEST(Nvrtc, ReportsSpillsOfAKernelHeldToFewRegisters) {
  // 1024 threads and 2 blocks per SM leave 32 registers per thread for 64 live accumulators.
  const CompiledBinary binary = compile_to_cubin(R"(
extern "C" __global__ void __launch_bounds__(1024, 2) crowded(const float* in, float* out) {
  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = in[threadIdx.x + 1024 * i];
#pragma unroll 1
  for (int r = 0; r < 100; ++r) {
#pragma unroll
    for (int i = 0; i < 64; ++i) acc[i] = fmaf(acc[i], acc[(i + 1) % 64], in[r]);
  }
#pragma unroll
  for (int i = 0; i < 64; ++i) out[threadIdx.x + 1024 * i] = acc[i];
}
)",
                                                 "crowded", "sm_90");
  EXPECT_LE(binary.registers, 32) << binary.log;
  EXPECT_GT(binary.spill_bytes, 0) << binary.log;
}

TEST(Nvrtc, SyntaxErrorThrowsCompileErrorWithTheLineAndTheArch) {
  std::string source;
  for (int line = 1; line <= 11; ++line) source += "// line " + std::to_string(line) + "\n";
  source += "extern \"C\" __global__ void broken(float* data) { data[0] = ; }\n";  // line 12
  const std::optional<Error> error = error_of([&] { compile_to_cubin(source, "broken", "sm_80"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::compile_error);
  const std::string message = error->what();
  EXPECT_TRUE(contains(message, "broken")) << message;
  EXPECT_TRUE(contains(message, "sm_80")) << message;
  EXPECT_TRUE(contains(message, "broken.cu(12): error")) << message;
  // Each error is followed by the source line it names.
  EXPECT_TRUE(contains(
      message, "       12 | extern \"C\" __global__ void broken(float* data) { data[0] = ; }\n"))
      << message;
  EXPECT_FALSE(contains(message, "// line 11")) << "only the failing line is quoted: " << message;
}

TEST(Nvrtc, EveryFailingLineIsQuoted) {
  const std::string source =
      "extern \"C\" __global__ void twice(float* data) {\n"
      "  data[0] = undeclared_one;\n"
      "  data[1] = undeclared_two;\n"
      "}\n";
  const std::optional<Error> error = error_of([&] { compile_to_cubin(source, "twice", "sm_90"); });
  ASSERT_TRUE(error);
  const std::string message = error->what();
  EXPECT_TRUE(contains(message, "        2 |   data[0] = undeclared_one;\n")) << message;
  EXPECT_TRUE(contains(message, "        3 |   data[1] = undeclared_two;\n")) << message;
}

TEST(Nvrtc, UnknownArchIsACompileError) {
  const std::optional<Error> error =
      error_of([&] { compile_to_cubin(kAddOne, "add_one", "sm_1"); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), StatusCode::compile_error);
  EXPECT_TRUE(contains(error->what(), "sm_1")) << error->what();
}

TEST(Nvrtc, CountsCompiles) {
  const std::uint64_t before = nvrtc_compile_count();
  compile_to_cubin(kAddOne, "add_one", "sm_80");
  EXPECT_EQ(nvrtc_compile_count(), before + 1);
  error_of([&] { compile_to_cubin("this is not CUDA", "nothing", "sm_80"); });
  EXPECT_EQ(nvrtc_compile_count(), before + 2) << "failed compiles count too";
}

TEST(Nvrtc, VersionIsMajorDotMinor) {
  const std::string& version = nvrtc_version();
  EXPECT_TRUE(std::regex_match(version, std::regex(R"(1\d\.\d+)"))) << version;
  EXPECT_EQ(&nvrtc_version(), &version) << "computed once";
}

}  // namespace
}  // namespace fusetune

namespace fusetune {
namespace {

TEST(NvrtcDump, WritesEachSourceAndItsLogWhenAskedTo) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) / "nvrtc_dump";
  std::filesystem::remove_all(folder);
  ::setenv("FUSETUNE_DUMP", folder.c_str(), 1);
  const std::string source = "extern \"C\" __global__ void dumped(float* p) { p[0] = 1.0f; }\n";
  compile_to_cubin(source, "dumped", "sm_80");
  ::unsetenv("FUSETUNE_DUMP");
  std::ifstream cu(folder / "dumped.sm_80.cu");
  const std::string written((std::istreambuf_iterator<char>(cu)), {});
  EXPECT_EQ(written, source);
  EXPECT_TRUE(std::filesystem::exists(folder / "dumped.sm_80.log"));
  std::filesystem::remove_all(folder);
}

TEST(NvrtcDump, AFolderThatCannotBeWrittenIsSaidOnceAndCompilingGoesOn) {
  const std::filesystem::path folder =
      std::filesystem::path(::testing::TempDir()) / "nvrtc_dump_blocked";
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "file") << "not a folder";
  // Below a regular file no one can create a folder, root included.
  const std::string dump = (folder / "file" / "dump").string();
  ::setenv("FUSETUNE_DUMP", dump.c_str(), 1);
  ::testing::internal::CaptureStderr();
  const std::string source = "extern \"C\" __global__ void blocked(float* p) { p[0] = 1.0f; }\n";
  const CompiledBinary first = compile_to_cubin(source, "blocked", "sm_80");
  const CompiledBinary second = compile_to_cubin(source, "blocked", "sm_90");
  const std::string said = ::testing::internal::GetCapturedStderr();
  ::unsetenv("FUSETUNE_DUMP");
  EXPECT_FALSE(first.cubin.empty());
  EXPECT_FALSE(second.cubin.empty());
  const std::string warning = "FUSETUNE_DUMP=" + dump + ": cannot write " + dump + ": ";
  EXPECT_TRUE(contains(said, warning)) << said;
  EXPECT_EQ(said.find(warning), said.rfind(warning)) << "once per folder: " << said;
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune
