// Production mode on a GPU: under Options::no_compile a load that would compile fails, naming the
// spec and how to tune it, and is noted as a miss, while loads from stored cubins go on.
#include <gtest/gtest.h>

#include <string>

#include "cache/database.h"
#include "fusetune/fusetune.h"
#include "generator/spec_parser.h"
#include "runtime/device.h"
#include "runtime/nvrtc.h"
#include "tests/runtime/library_on_gpu.h"
#include "tests/scoped_env.h"

namespace fusetune {
namespace {

using testing::ScopedEnv;

constexpr const char* kSpec = "linear(m=256, n=512, k=128) -> bias -> mul(2.0) -> leaky_relu(0.1)";
constexpr const char* kUntuned = "linear(m=64, n=96, k=32) -> relu";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ProductionModeTest : public testing::LibraryOnGpu {
 protected:
  Options production() {
    Options o = options();
    o.no_compile = true;
    return o;
  }
};

TEST_F(ProductionModeTest, AnUntunedSpecIsRefusedWithTheCommandThatTunesItAndNotedAsAMiss) {
  ScopedEnv unset("FUSETUNE_NO_COMPILE", nullptr);
  Result<std::unique_ptr<Library>> library = Library::open(production());
  ASSERT_TRUE(library.ok()) << library.status().message();
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kUntuned);
  ASSERT_FALSE(kernel.ok()) << "production mode loaded a kernel it had to compile";
  EXPECT_EQ(nvrtc_compile_count(), compiles);
  EXPECT_EQ(kernel.status().code(), StatusCode::not_found);
  const std::string& message = kernel.status().message();
  EXPECT_TRUE(contains(message, "'linear(m=64, n=96, k=32) -> relu' was never tuned on "))
      << message;
  EXPECT_TRUE(contains(message, "compiling at load is off")) << message;
  EXPECT_TRUE(
      contains(message, "`fusetune tune \"linear(m=64, n=96, k=32) -> relu\" --precision fp32`"))
      << message;
  EXPECT_TRUE(contains(message, "fusetune tune --misses")) << message;
  EXPECT_TRUE(warnings_.empty()) << "the error says it all: " << warnings_.front();
  const auto db = cache::Database::open(database_, cache::OpenMode::read_only);
  ASSERT_EQ(db->misses().size(), 1u) << "noted for `fusetune tune --misses`";
  EXPECT_EQ(db->misses()[0].spec, parse_spec(kUntuned).canonical());
}

TEST_F(ProductionModeTest, TheEnvironmentTurnsItOnForEveryLibrary) {
  {
    ScopedEnv on("FUSETUNE_NO_COMPILE", "1");
    Result<std::unique_ptr<Library>> library = Library::open(options());
    ASSERT_TRUE(library.ok()) << library.status().message();
    EXPECT_EQ(library.value()->load(kUntuned).status().code(), StatusCode::not_found);
  }
  ScopedEnv off("FUSETUNE_NO_COMPILE", "0");
  Result<std::unique_ptr<Library>> library = Library::open(options());
  ASSERT_TRUE(library.ok()) << library.status().message();
  EXPECT_TRUE(library.value()->load(kUntuned).ok()) << "0 is off";
}

// The cubin a load that may compile stored (as a compile-only sweep stores its space's) serves
// later loads in production mode, though the spec is still untuned.
TEST_F(ProductionModeTest, AStoredCubinServesAnUntunedSpecWithoutCompiling) {
  ScopedEnv unset("FUSETUNE_NO_COMPILE", nullptr);
  {
    Result<std::unique_ptr<Library>> compiling = Library::open(options());
    ASSERT_TRUE(compiling.ok());
    ASSERT_TRUE(compiling.value()->load(kUntuned).ok());
  }
  warnings_.clear();
  Result<std::unique_ptr<Library>> library = Library::open(production());
  ASSERT_TRUE(library.ok());
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kUntuned);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(nvrtc_compile_count(), compiles);
  EXPECT_FALSE(kernel.value()->tuned());
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(contains(warnings_[0], "was never tuned")) << warnings_[0];
  EXPECT_LE(run(*kernel.value(), kUntuned).rel_err, 1e-5);
}

TEST_F(ProductionModeTest, ATunedSpecLoadsItsWinnerWithoutCompiling) {
  ScopedEnv unset("FUSETUNE_NO_COMPILE", nullptr);
  ASSERT_TRUE(tune_briefly(kSpec));
  Result<std::unique_ptr<Library>> library = Library::open(production());
  ASSERT_TRUE(library.ok());
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(nvrtc_compile_count(), compiles);
  EXPECT_TRUE(kernel.value()->tuned());
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
  EXPECT_LE(run(*kernel.value(), kSpec).rel_err, 1e-5);
}

TEST_F(ProductionModeTest, AWinnerWhoseCubinIsGoneIsRefusedUntilALoadThatMayCompileStoresIt) {
  ScopedEnv unset("FUSETUNE_NO_COMPILE", nullptr);
  ASSERT_TRUE(tune_briefly(kSpec));
  std::string winner;
  {
    const auto db = cache::Database::open(database_);
    winner = db->tunings().at(0).winner;
    for (const cache::StoredBinary& binary : db->binaries()) db->forget_binary(binary.key);
  }
  {
    Result<std::unique_ptr<Library>> library = Library::open(production());
    ASSERT_TRUE(library.ok());
    const std::uint64_t compiles = nvrtc_compile_count();
    Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
    ASSERT_FALSE(kernel.ok());
    EXPECT_EQ(nvrtc_compile_count(), compiles);
    EXPECT_EQ(kernel.status().code(), StatusCode::not_found);
    const std::string& message = kernel.status().message();
    EXPECT_TRUE(
        contains(message, "but the cubin of its winner " + winner + " is not in " + database_))
        << message;
    EXPECT_TRUE(contains(message, "--compile-only --arch " + require_device().arch())) << message;
    const auto db = cache::Database::open(database_, cache::OpenMode::read_only);
    EXPECT_TRUE(db->misses().empty()) << "a tuned spec is no miss";
  }
  {
    Result<std::unique_ptr<Library>> compiling = Library::open(options());
    ASSERT_TRUE(compiling.ok());
    ASSERT_TRUE(compiling.value()->load(kSpec).ok());
  }
  Result<std::unique_ptr<Library>> library = Library::open(production());
  ASSERT_TRUE(library.ok());
  const std::uint64_t compiles = nvrtc_compile_count();
  Result<std::shared_ptr<const Kernel>> kernel = library.value()->load(kSpec);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  EXPECT_EQ(nvrtc_compile_count(), compiles);
  EXPECT_EQ(kernel.value()->config(), winner);
}

}  // namespace
}  // namespace fusetune
