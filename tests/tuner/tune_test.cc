// What tune() refuses before it compiles anything.
#include "tuner/tune.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "generator/spec_parser.h"
#include "tests/expect_error.h"

namespace fusetune {
namespace {

TEST(Tune, ConvolutionsAreRefusedUntilTheyHaveAKernelTemplate) {
  const std::filesystem::path folder = std::filesystem::path(::testing::TempDir()) /
                                       ("tune_conv_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(folder);
  {
    const auto db = cache::Database::open((folder / "tuning.db").string());
    TuneOptions options;
    options.compile_only = true;
    options.arch = "sm_90";
    const std::optional<Error> error = error_of([&] {
      tune(parse_spec("conv2d(n=1, c=3, h=8, w=8, k=4, kernel=3) -> relu"), *db, options);
    });
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), StatusCode::invalid_argument);
    EXPECT_EQ(std::string(error->what()),
              "fusetune has no kernel template for conv2d yet, so it cannot tune this spec; "
              "tuning supports linear and matmul specs");
    EXPECT_TRUE(db->tunings().empty());
  }
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace fusetune
