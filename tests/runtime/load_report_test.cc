// What a program says about its loads: $FUSETUNE_LOG's levels and the lines of
// a load's report at each. None needs a GPU.
#include "runtime/load_report.h"

#include <gtest/gtest.h>

#include <string>

namespace fusetune {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(LogSetting, InfoAndDebugInAnyCaseAreLevels) {
  EXPECT_EQ(log_setting("info").level, LogLevel::info);
  EXPECT_EQ(log_setting("DEBUG").level, LogLevel::debug);
  EXPECT_TRUE(log_setting("Info").problem.empty());
}

TEST(LogSetting, NothingSetOrSaidOffIsQuietWithoutAWord) {
  for (const char* quiet : {"", "0", "off", "quiet", "warning"}) {
    EXPECT_EQ(log_setting(quiet).level, LogLevel::quiet) << quiet;
    EXPECT_TRUE(log_setting(quiet).problem.empty()) << quiet;
  }
}

TEST(LogSetting, AnUnknownValueIsQuietAndSaysWhatToWrite) {
  const LogSetting setting = log_setting("verbose");
  EXPECT_EQ(setting.level, LogLevel::quiet);
  EXPECT_TRUE(contains(setting.problem, "FUSETUNE_LOG=verbose names no level: use info"))
      << setting.problem;
}

LoadReport tuned_load() {
  return {.spec = "linear(m=64, n=64, k=64) -> relu",
          .kernel = "ft_gemm_simt_64x64x8_w2x2_t4x8_s2",
          .served_as = ServedAs::tuned,
          .database = "/home/me/.cache/fusetune/tuning.db",
          .precision = "fp32",
          .tuned_ms = 0.0123,
          .tuned_rel_err = 2e-7,
          .registers = 64,
          .shared_bytes = 8192,
          .launch = "grid 1x1x1, block 128x1x1",
          .device = "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)",
          .load_ms = 2.04};
}

TEST(LoadReportText, QuietSaysNothing) {
  EXPECT_EQ(load_report_text(tuned_load(), LogLevel::quiet), "");
}

TEST(LoadReportText, InfoIsOneLineNamingTheSpecTheKernelTheChoiceAndTheTime) {
  EXPECT_EQ(load_report_text(tuned_load(), LogLevel::info),
            "fusetune: loaded 'linear(m=64, n=64, k=64) -> relu' -> "
            "ft_gemm_simt_64x64x8_w2x2_t4x8_s2 (tuned, fp32, from "
            "/home/me/.cache/fusetune/tuning.db) in 2.0 ms\n");
}

TEST(LoadReportText, InfoSaysWhoseWinnerABorrowedKernelIsAndWhenOneIsUntuned) {
  LoadReport borrowed = tuned_load();
  borrowed.served_as = ServedAs::borrowed;
  borrowed.neighbour = "linear(m=128, n=64, k=64) -> relu";
  borrowed.database = "/srv/team.db";
  EXPECT_TRUE(contains(load_report_text(borrowed, LogLevel::info),
                       "(borrowed from the nearest tuned shape 'linear(m=128, n=64, k=64) -> "
                       "relu', fp32, from /srv/team.db)"))
      << load_report_text(borrowed, LogLevel::info);
  LoadReport untuned = tuned_load();
  untuned.served_as = ServedAs::untuned_default;
  untuned.database.clear();
  EXPECT_TRUE(contains(load_report_text(untuned, LogLevel::info), "(default, untuned, fp32) in"))
      << load_report_text(untuned, LogLevel::info);
}

TEST(LoadReportText, InfoNamesTheBucketWhoseKernelServesARowCount) {
  LoadReport bucket = tuned_load();
  bucket.bucket = "linear(m=33..64, n=64, k=64) -> relu";
  bucket.module_reused = true;
  EXPECT_TRUE(contains(load_report_text(bucket, LogLevel::info),
                       "(tuned for the bucket 'linear(m=33..64, n=64, k=64) -> relu', fp32, from "))
      << load_report_text(bucket, LogLevel::info);
  EXPECT_TRUE(contains(load_report_text(bucket, LogLevel::debug),
                       "the bucket's kernel, already loaded for another row count"))
      << load_report_text(bucket, LogLevel::debug);
}

TEST(LoadReportText, DebugAddsWhereTheCubinCameFromTheResourcesAndWhatWasAsked) {
  const std::string from_database = load_report_text(tuned_load(), LogLevel::debug);
  EXPECT_TRUE(from_database.starts_with(load_report_text(tuned_load(), LogLevel::info)))
      << "debug says what info says, then more\n"
      << from_database;
  EXPECT_TRUE(contains(from_database,
                       "cubin from the database; 64 registers, 0 bytes spilled, 8192 bytes of "
                       "shared memory; grid 1x1x1, block 128x1x1"))
      << from_database;
  EXPECT_TRUE(contains(from_database,
                       "on NVIDIA H100 80GB HBM3 (sm_90, 132 SMs); precision "
                       "asked: the spec's native one; tuned at 0.0123 ms, rel err "
                       "2e-07"))
      << from_database;
  LoadReport compiled = tuned_load();
  compiled.compile_ms = 312.46;
  compiled.stored_in = "/tmp/t.db";
  compiled.requested = "auto (tolerance 1e-05)";
  const std::string text = load_report_text(compiled, LogLevel::debug);
  EXPECT_TRUE(contains(text, "compiled by NVRTC in 312.5 ms, stored in /tmp/t.db")) << text;
  EXPECT_TRUE(contains(text, "precision asked: auto (tolerance 1e-05)")) << text;
}

}  // namespace
}  // namespace fusetune
