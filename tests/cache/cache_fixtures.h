// What the tests of cache/'s tools share: a folder per test, rows to store, and a database's
// whole content as text, so that two databases compare with one EXPECT_EQ that shows the
// difference.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cache/database.h"

namespace fusetune::cache::fixtures {

namespace fs = std::filesystem;

// Each test works in a folder of its own, removed afterwards.
class CacheFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter = 0;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("fusetune_" + std::string(test->name()) + "_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::unique_ptr<Database> open(const std::string& name, OpenMode mode = OpenMode::read_write) {
    return Database::open(path(name), mode);
  }

  fs::path dir_;
};

inline TuningKey key_on(std::string device, std::string signature = "linear(m=64, n=64, k=64)") {
  return {.signature = std::move(signature),
          .precision = "fp32",
          .device_name = std::move(device),
          .arch = "sm_90",
          .sm_count = 132,
          .nvrtc_version = "13.0",
          .generator_version = "0.1.0+abc123"};
}

// A tuning record as import and merge store it, with fixed times.
inline TuningRecord tuning_record(const TuningKey& key, std::string winner = "",
                                  std::optional<double> winner_time_ms = std::nullopt) {
  TuningRecord t;
  t.key = key;
  t.spec = key.signature + " -> mul(2.0)";
  t.soft_keys = {.driver_version = 575, .sm_clock_mhz = 1410, .ecc = true};
  t.winner = std::move(winner);
  t.winner_time_ms = winner_time_ms;
  t.winner_rel_err = winner_time_ms ? std::optional<double>(1e-7) : std::nullopt;
  t.winner_config_json =
      t.winner.empty() ? "" : R"({"family": "gemm_simt", "name": ")" + t.winner + "\"}";
  t.tuning_seconds = 12.5;
  t.created_at = "2025-01-02T03:04:05Z";
  t.updated_at = "2025-01-03T04:05:06Z";
  return t;
}

inline CandidateRecord ok_row(std::string name, double time_ms, std::string binary_key = "") {
  CandidateRecord c;
  c.config_json = R"({"family": "gemm_simt", "name": ")" + name + "\"}";
  c.name = std::move(name);
  c.outcome = "ok";
  c.time_ms = time_ms;
  c.rel_err = 1e-7;
  c.registers = 96;
  c.smem_bytes = 16384;
  c.spill_bytes = 0;
  c.binary_key = std::move(binary_key);
  c.measured_at = "2025-01-02T03:04:05Z";
  return c;
}

inline CandidateRecord failed_row(std::string name, std::string outcome) {
  CandidateRecord c;
  c.name = std::move(name);
  c.config_json = "{}";
  c.outcome = std::move(outcome);
  c.message = "it went wrong\nsecond line, \"quoted\", caf\xc3\xa9";
  c.measured_at = "2025-01-02T03:04:06Z";
  return c;
}

inline BinaryRecord binary_record(std::string key, std::string nvrtc_version = "13.0") {
  BinaryRecord b;
  // An ELF-like start with a zero byte and high bytes, then bytes that differ per binary.
  using namespace std::string_literals;
  const std::string bytes = "\177ELF\0\377\001"s + key;
  b.cubin.assign(bytes.begin(), bytes.end());
  b.key = std::move(key);
  b.arch = "sm_90";
  b.nvrtc_version = std::move(nvrtc_version);
  b.registers = 128;
  b.smem_bytes = 49152;
  b.spill_bytes = 8;
  b.log = "ptxas info: Used 128 registers";
  return b;
}

// Stores a tuning with its rows as import does; returns its id.
inline std::int64_t store(Database& db, const TuningRecord& tuning,
                          const std::vector<CandidateRecord>& candidates) {
  const std::int64_t id = db.store_tuning(tuning);
  for (const CandidateRecord& c : candidates) db.store_candidate(id, c);
  return id;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Every field of every tuning (but its id), candidate and binary of `db`, one per line, in key
// order.
std::string contents(Database& db);

}  // namespace fusetune::cache::fixtures
