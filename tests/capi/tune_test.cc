// fusetune_library_tune: a short sweep into a fresh database, whose winner later loads use.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fusetune/fusetune_c.h"
#include "tests/capi/capi_test.h"

namespace {

using nlohmann::json;

constexpr const char* kSpec = "linear(m=128, n=128, k=64) -> bias -> relu";

struct Progress {
  int done;
  int total;
  std::string precision;
};

class TuneOnGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    CAPI_REQUIRE_GPU();
    ASSERT_EQ(fusetune_library_open(db_.path().c_str(), 0, &TuneOnGpu::ignore, nullptr, &library_),
              FUSETUNE_OK)
        << fusetune_last_error();
  }
  void TearDown() override {
    for (fusetune_kernel* kernel : kernels_) fusetune_kernel_release(kernel);
    fusetune_library_close(library_);
  }

  static void ignore(const char*, void*) {}
  static void hear(int done, int total, const char* precision, void* user) {
    static_cast<TuneOnGpu*>(user)->progress_.push_back({done, total, precision});
  }

  fusetune_kernel* load(const char* spec) {
    fusetune_kernel* kernel = nullptr;
    EXPECT_EQ(fusetune_library_load(library_, spec, nullptr, 0, &kernel), FUSETUNE_OK)
        << fusetune_last_error();
    if (kernel) kernels_.push_back(kernel);
    return kernel;
  }

  // The report of a sweep of at most 4 candidates; null (and a test failure) when it fails.
  json tune(const char* spec, bool force = false) {
    char* report = nullptr;
    const fusetune_status status = fusetune_library_tune(library_, spec, nullptr, 0, force, 4,
                                                         &TuneOnGpu::hear, this, &report);
    EXPECT_EQ(status, FUSETUNE_OK) << fusetune_last_error();
    if (status != FUSETUNE_OK) return nullptr;
    json parsed = json::parse(report);
    fusetune_free(report);
    return parsed;
  }

  capi_test::TemporaryDatabase db_;
  fusetune_library* library_ = nullptr;
  std::vector<fusetune_kernel*> kernels_;
  std::vector<Progress> progress_;
};

TEST_F(TuneOnGpu, ASweepReportsItsWinnerAndLaterLoadsUseIt) {
  fusetune_kernel* before = load(kSpec);
  ASSERT_TRUE(before);
  EXPECT_EQ(fusetune_kernel_tuned(before), 0);

  const json report = tune(kSpec);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["spec"], kSpec);
  EXPECT_EQ(report["precision"], "fp32");
  ASSERT_TRUE(report["config"].is_string()) << report.dump(2);
  EXPECT_EQ(report["config"].get<std::string>().rfind("ft_", 0), 0u) << report.dump(2);
  EXPECT_GT(report["time_ms"].get<double>(), 0);
  EXPECT_LT(report["rel_err"].get<double>(), 1e-5);
  EXPECT_EQ(report["from_cache"], false);
  ASSERT_EQ(report["sweeps"].size(), 1u);
  const json& sweep = report["sweeps"][0];
  EXPECT_EQ(sweep["config"], report["config"]);
  EXPECT_GE(sweep["candidates"].get<int>(), 1);
  EXPECT_LE(sweep["candidates"].get<int>(), 4);
  EXPECT_TRUE(sweep["failed"].is_object());

  ASSERT_FALSE(progress_.empty());
  for (const Progress& p : progress_) {
    EXPECT_EQ(p.total, sweep["candidates"].get<int>());
    EXPECT_LE(p.done, p.total);
    EXPECT_EQ(p.precision, "fp32");
  }
  EXPECT_EQ(progress_.back().done, progress_.back().total);

  fusetune_kernel* after = load(kSpec);
  ASSERT_TRUE(after);
  EXPECT_EQ(fusetune_kernel_tuned(after), 1);
  EXPECT_EQ(fusetune_kernel_config(after), report["config"].get<std::string>());
  EXPECT_EQ(fusetune_kernel_tuned(before), 0) << "a handle keeps the kernel it was loaded with";
}

TEST_F(TuneOnGpu, ATunedSpecIsRecalledUnlessForced) {
  const json first = tune(kSpec);
  ASSERT_FALSE(first.is_null());
  progress_.clear();
  const json recalled = tune(kSpec);
  ASSERT_FALSE(recalled.is_null());
  EXPECT_EQ(recalled["from_cache"], true);
  EXPECT_EQ(recalled["config"], first["config"]);
  EXPECT_TRUE(progress_.empty()) << "nothing was run";
  const json forced = tune(kSpec, true);
  ASSERT_FALSE(forced.is_null());
  EXPECT_EQ(forced["from_cache"], false);
  EXPECT_FALSE(progress_.empty());
}

TEST_F(TuneOnGpu, RefusesAnInvalidSpecAndAnUnknownPrecision) {
  char* report = reinterpret_cast<char*>(1);  // NULL after a failure
  EXPECT_EQ(fusetune_library_tune(library_, "linear(m=1) -> relu", nullptr, 0, 0, 4, nullptr,
                                  nullptr, &report),
            FUSETUNE_INVALID_SPEC);
  EXPECT_EQ(report, nullptr);
  EXPECT_EQ(fusetune_library_tune(library_, kSpec, "fp64", 0, 0, 4, nullptr, nullptr, &report),
            FUSETUNE_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fusetune_last_error()).find("fp64"), std::string::npos)
      << fusetune_last_error();
}

}  // namespace
