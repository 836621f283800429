// The interface's conventions: its version, status names, the per-thread last error, and
// arguments that are NULL.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>

#include "fusetune/fusetune_c.h"

namespace {

constexpr const char* kSpec = "linear(m=64, n=64, k=64) -> relu";

// What fusetune_last_error() says on a thread that has not called the library yet, after `call`.
template <class Call>
std::string last_error_on_a_new_thread(Call call) {
  std::string message;
  std::thread thread([&] {
    call();
    message = fusetune_last_error();
  });
  thread.join();
  return message;
}

TEST(Version, TheAbiVersionIsTheHeaders) {
  EXPECT_EQ(fusetune_abi_version(), FUSETUNE_C_ABI_VERSION);
  EXPECT_TRUE(std::regex_match(fusetune_version(), std::regex(R"(\d+\.\d+\.\d+)")))
      << fusetune_version();
}

TEST(StatusName, EachStatusHasItsName) {
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_OK), "ok");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_INVALID_SPEC), "invalid_spec");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_INVALID_ARGUMENT), "invalid_argument");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_NOT_FOUND), "not_found");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_NO_DEVICE), "no_device");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_COMPILE_ERROR), "compile_error");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_CUDA_ERROR), "cuda_error");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_DATABASE_ERROR), "database_error");
  EXPECT_STREQ(fusetune_status_name(FUSETUNE_INTERNAL), "internal");
  EXPECT_STREQ(fusetune_status_name(static_cast<fusetune_status>(42)), "unknown");
}

TEST(NullArguments, AreInvalidArgumentsNamedInTheMessage) {
  auto expect_invalid = [](fusetune_status status, const std::string& argument) {
    EXPECT_EQ(status, FUSETUNE_INVALID_ARGUMENT) << argument;
    EXPECT_EQ(std::string(fusetune_last_error()), "the argument " + argument + " is NULL");
  };
  char* json = nullptr;
  expect_invalid(fusetune_describe(nullptr, &json), "spec");
  expect_invalid(fusetune_describe(kSpec, nullptr), "json");
  expect_invalid(fusetune_library_open(nullptr, 0, nullptr, nullptr, nullptr), "library");
  fusetune_kernel* kernel = nullptr;
  expect_invalid(fusetune_library_load(nullptr, kSpec, nullptr, 0, &kernel), "library");
  expect_invalid(fusetune_library_tune(nullptr, kSpec, nullptr, 0, 0, 0, nullptr, nullptr, nullptr),
                 "library");
  expect_invalid(fusetune_kernel_launch(nullptr, nullptr, nullptr, 0, nullptr, nullptr, 0),
                 "kernel");
  expect_invalid(fusetune_library_open_with_flags(nullptr, 0, FUSETUNE_OPEN_NO_COMPILE, nullptr,
                                                  nullptr, nullptr),
                 "library");
  expect_invalid(fusetune_kernel_prepare(nullptr, nullptr), "kernel");
}

// Refused before the database or the device is looked at, so that a binding built against a
// newer header learns it at once.
TEST(OpenFlags, UnknownBitsAreAnInvalidArgumentNamingThem) {
  fusetune_library* library = reinterpret_cast<fusetune_library*>(1);
  EXPECT_EQ(fusetune_library_open_with_flags("/nonexistent/folder/tuning.db", 0,
                                             FUSETUNE_OPEN_NO_COMPILE | 0x30u, nullptr, nullptr,
                                             &library),
            FUSETUNE_INVALID_ARGUMENT);
  EXPECT_EQ(library, nullptr) << "a failed open leaves NULL";
  EXPECT_NE(std::string(fusetune_last_error()).find("(0x30)"), std::string::npos)
      << fusetune_last_error();
}

TEST(LastError, IsEmptyBeforeAnyFailure) {
  EXPECT_EQ(last_error_on_a_new_thread([] {}), "");
}

TEST(LastError, BelongsToTheThreadThatFailed) {
  char* json = nullptr;
  ASSERT_EQ(fusetune_describe(nullptr, &json), FUSETUNE_INVALID_ARGUMENT);
  const std::string mine = fusetune_last_error();
  const std::string theirs = last_error_on_a_new_thread(
      [] { EXPECT_EQ(fusetune_describe("linear(", nullptr), FUSETUNE_INVALID_ARGUMENT); });
  EXPECT_EQ(theirs, "the argument json is NULL");
  EXPECT_EQ(std::string(fusetune_last_error()), mine);
}

TEST(LastError, IsKeptBySuccessfulCalls) {
  char* json = nullptr;
  ASSERT_EQ(fusetune_describe("linear(", &json), FUSETUNE_INVALID_SPEC);
  const std::string failure = fusetune_last_error();
  ASSERT_EQ(fusetune_describe(kSpec, &json), FUSETUNE_OK);
  fusetune_free(json);
  EXPECT_EQ(std::string(fusetune_last_error()), failure);
}

TEST(Release, OfNothingIsNoFailure) {
  const std::string error = last_error_on_a_new_thread([] {
    fusetune_free(nullptr);
    fusetune_library_close(nullptr);
    fusetune_kernel_release(nullptr);
  });
  EXPECT_EQ(error, "");
}

}  // namespace
