// The tuning database as a specification: what is stored comes back, lookups match the whole
// key, the winner is the fastest correct candidate, files that are not ours are never touched,
// and two processes writing at once lose nothing.
#include "cache/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "cache/schema.h"
#include "cache/sqlite.h"
#include "cache/winner_rule.h"
#include "fusetune/status.h"
#include "tests/scoped_env.h"

namespace fusetune::cache {
namespace {

namespace fs = std::filesystem;

TuningKey test_key() {
  return {.signature = "linear(m=1024, n=1024, k=512) -> bias -> mul(?)",
          .precision = "fp32",
          .device_name = "NVIDIA H100 80GB HBM3",
          .arch = "sm_90",
          .sm_count = 132,
          .nvrtc_version = "13.0",
          .generator_version = "0.1.0+abc123"};
}

CandidateRecord ok_candidate(std::string name, double time_ms) {
  CandidateRecord candidate;
  candidate.name = std::move(name);
  candidate.config_json = R"({"family": "gemm_simt", "time": )" + std::to_string(time_ms) + "}";
  candidate.outcome = "ok";
  candidate.time_ms = time_ms;
  candidate.rel_err = 1e-7;
  candidate.registers = 96;
  candidate.smem_bytes = 16384;
  candidate.spill_bytes = 0;
  candidate.binary_key = "bin-" + std::to_string(time_ms);
  return candidate;
}

CandidateRecord failed_candidate(std::string name, std::string outcome) {
  CandidateRecord candidate;
  candidate.name = std::move(name);
  candidate.config_json = "{}";
  candidate.outcome = std::move(outcome);
  candidate.message = "it went wrong";
  return candidate;
}

std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::int64_t pragma_int(const fs::path& path, const char* pragma) {
  sqlite::Connection connection(path, SQLITE_OPEN_READONLY);
  sqlite::Statement statement(connection, pragma);
  EXPECT_TRUE(statement.step()) << pragma;
  std::int64_t value = statement.column_int64(0);
  statement.reset();
  return value;
}

// Opening `path` fails with a database_error whose message names the path and contains
// `expected`, and the file is byte-for-byte what it was.
void expect_refused(const fs::path& path, const std::string& expected,
                    OpenMode mode = OpenMode::read_write) {
  const std::vector<char> before = read_bytes(path);
  try {
    Database::open(path, mode);
    ADD_FAILURE() << "opening " << path << " succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), StatusCode::database_error);
    EXPECT_NE(std::string(error.what()).find(path.string()), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
  EXPECT_EQ(read_bytes(path), before) << path << " was modified";
}

// Each test works in a folder of its own, removed afterwards.
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter = 0;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("fusetune_cache_" + std::string(test->name()) + "_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path db_path() const { return dir_ / "tuning.db"; }
  std::unique_ptr<Database> open_db(OpenMode mode = OpenMode::read_write) {
    return Database::open(db_path(), mode);
  }

  fs::path dir_;
};

TEST_F(DatabaseTest, OpenCreatesTheFileAndItsFolders) {
  const fs::path nested = dir_ / "a" / "b" / "tuning.db";
  auto db = Database::open(nested);
  EXPECT_EQ(db->path(), nested.string());
  EXPECT_TRUE(fs::exists(nested));
  EXPECT_TRUE(db->tunings().empty());
}

TEST_F(DatabaseTest, BeginTuningReturnsTheSameIdForTheSameKeyAndKeepsTheLatestSpec) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec one", {.driver_version = 575});
  EXPECT_EQ(db->begin_tuning(test_key(), "spec two", {.driver_version = 580}), id);

  std::optional<TuningRecord> found = db->find_tuning(test_key());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->key, test_key());
  EXPECT_EQ(found->spec, "spec two");
  EXPECT_EQ(found->soft_keys.driver_version, 580);
  EXPECT_EQ(found->winner, "");
  EXPECT_FALSE(found->winner_time_ms.has_value());
  EXPECT_EQ(found->candidate_count, 0);
  const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  EXPECT_TRUE(std::regex_match(found->created_at, utc)) << found->created_at;
  EXPECT_TRUE(std::regex_match(found->updated_at, utc)) << found->updated_at;
}

TEST_F(DatabaseTest, CandidatesRoundTripAndTheFastestOkOneWins) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("slow", 3.0));
  db->record_candidate(id, ok_candidate("fast", 1.5));
  db->record_candidate(id, failed_candidate("broken", "compile_error"));

  std::vector<CandidateRecord> stored = db->candidates(id);
  ASSERT_EQ(stored.size(), 3u);
  const CandidateRecord expected = ok_candidate("fast", 1.5);
  const CandidateRecord& fast = stored[0];
  EXPECT_EQ(fast.name, "fast");
  EXPECT_EQ(fast.config_json, expected.config_json);
  EXPECT_EQ(fast.outcome, "ok");
  EXPECT_EQ(fast.time_ms, 1.5);
  EXPECT_EQ(fast.rel_err, 1e-7);
  EXPECT_EQ(fast.registers, 96);
  EXPECT_EQ(fast.smem_bytes, 16384);
  EXPECT_EQ(fast.spill_bytes, 0);
  EXPECT_EQ(fast.binary_key, expected.binary_key);
  EXPECT_TRUE(std::regex_match(fast.measured_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  const CandidateRecord& broken = stored[2];
  EXPECT_EQ(broken.name, "broken");
  EXPECT_EQ(broken.outcome, "compile_error");
  EXPECT_FALSE(broken.time_ms.has_value());
  EXPECT_FALSE(broken.rel_err.has_value());
  EXPECT_EQ(broken.registers, -1);
  EXPECT_EQ(broken.message, "it went wrong");

  EXPECT_EQ(db->candidate_names(id), (std::vector<std::string>{"broken", "fast", "slow"}));

  TuningRecord finished = db->finish_tuning(id, 12.5);
  EXPECT_EQ(finished.id, id);
  EXPECT_EQ(finished.winner, "fast");
  EXPECT_EQ(finished.winner_time_ms, 1.5);
  EXPECT_EQ(finished.winner_rel_err, 1e-7);
  EXPECT_EQ(finished.winner_config_json, expected.config_json);
  EXPECT_EQ(finished.candidate_count, 3);
  EXPECT_EQ(finished.tuning_seconds, 12.5);

  std::optional<TuningRecord> found = db->find_tuning(test_key());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->winner, "fast");
  EXPECT_EQ(found->candidate_count, 3);
  ASSERT_EQ(db->tunings().size(), 1u);
  EXPECT_EQ(db->tunings()[0].winner, "fast");
}

TEST_F(DatabaseTest, TheIncumbentNamedAtTheStartKeepsItsPlaceWithinNoiseThroughAResume) {
  auto db = open_db();
  const std::int64_t id =
      db->begin_tuning(test_key(), "spec", {.driver_version = 575}, /*incumbent=*/"steady");
  db->record_candidate(id, ok_candidate("quick", 1.0));
  // A resumed sweep names no incumbent; the one named at the start stays.
  EXPECT_EQ(db->begin_tuning(test_key(), "spec", {.driver_version = 575}), id);
  db->record_candidate(id, ok_candidate("steady", 1 + kIncumbentBand * kNoiseFloor * 0.9));
  EXPECT_EQ(db->find_tuning(test_key())->incumbent, "steady");
  EXPECT_EQ(db->finish_tuning(id, 1.0).winner, "steady");
  // Beyond twice the noise the fastest takes its place.
  db->record_candidate(id, ok_candidate("steady", 1 + kIncumbentBand * kNoiseFloor * 1.1));
  EXPECT_EQ(db->finish_tuning(id, 1.0).winner, "quick");
}

TEST_F(DatabaseTest, FinishTuningAddsUpTuningSeconds) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->finish_tuning(id, 2.0);
  EXPECT_EQ(db->finish_tuning(id, 3.5).tuning_seconds, 5.5);
}

TEST_F(DatabaseTest, RecordingACandidateAgainReplacesItsRow) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("a", 1.0));
  db->record_candidate(id, ok_candidate("b", 2.0));
  EXPECT_EQ(db->finish_tuning(id, 0).winner, "a");

  db->record_candidate(id, failed_candidate("a", "wrong_result"));
  std::vector<CandidateRecord> stored = db->candidates(id);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[1].name, "a");
  EXPECT_EQ(stored[1].outcome, "wrong_result");
  EXPECT_EQ(db->finish_tuning(id, 0).winner, "b");
}

TEST_F(DatabaseTest, FailuresNeverWinEvenWhenTheyHaveATime) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  CandidateRecord wrong = ok_candidate("wrong_but_fast", 0.1);
  wrong.outcome = "wrong_result";
  CandidateRecord slower = ok_candidate("abandoned", 0.2);
  slower.outcome = "slower";
  db->record_candidate(id, wrong);
  db->record_candidate(id, slower);
  db->record_candidate(id, ok_candidate("correct", 4.0));
  EXPECT_EQ(db->finish_tuning(id, 0).winner, "correct");
}

TEST_F(DatabaseTest, WithoutAnOkCandidateThereIsNoWinner) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("a", 1.0));
  EXPECT_EQ(db->finish_tuning(id, 0).winner, "a");

  db->record_candidate(id, failed_candidate("a", "fault"));
  db->record_candidate(id, failed_candidate("b", "timeout"));
  TuningRecord finished = db->finish_tuning(id, 0);
  EXPECT_EQ(finished.winner, "");
  EXPECT_FALSE(finished.winner_time_ms.has_value());
  EXPECT_FALSE(finished.winner_rel_err.has_value());
  EXPECT_EQ(finished.winner_config_json, "");
}

TEST_F(DatabaseTest, EqualTimesAreDecidedByName) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("zeta", 1.0));
  db->record_candidate(id, ok_candidate("alpha", 1.0));
  EXPECT_EQ(db->finish_tuning(id, 0).winner, "alpha");
}

TEST_F(DatabaseTest, CandidatesListOkBySpeedThenSlowerByTimeThenFailuresByOutcomeAndName) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  CandidateRecord slower = ok_candidate("s_fast", 0.5);
  slower.outcome = "slower";
  CandidateRecord slowest = ok_candidate("a_slow", 9.0);
  slowest.outcome = "slower";
  db->record_candidate(id, failed_candidate("z", "timeout"));
  db->record_candidate(id, slowest);
  db->record_candidate(id, ok_candidate("ok2", 2.0));
  db->record_candidate(id, failed_candidate("b", "compile_error"));
  db->record_candidate(id, slower);
  db->record_candidate(id, failed_candidate("a", "timeout"));
  db->record_candidate(id, ok_candidate("ok1", 1.0));

  std::vector<std::string> order;
  for (const CandidateRecord& candidate : db->candidates(id)) order.push_back(candidate.name);
  EXPECT_EQ(order, (std::vector<std::string>{"ok1", "ok2", "s_fast", "a_slow", "b", "a", "z"}));
}

TEST_F(DatabaseTest, TuningsAreKeptApartByTheirKeys) {
  auto db = open_db();
  TuningKey other = test_key();
  other.arch = "sm_80";
  std::int64_t first = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  std::int64_t second = db->begin_tuning(other, "spec", {.driver_version = 575});
  EXPECT_NE(first, second);
  db->record_candidate(first, ok_candidate("a", 1.0));
  db->record_candidate(second, ok_candidate("b", 1.0));
  EXPECT_EQ(db->candidate_names(first), std::vector<std::string>{"a"});
  EXPECT_EQ(db->candidate_names(second), std::vector<std::string>{"b"});
  EXPECT_EQ(db->tunings().size(), 2u);
  EXPECT_EQ(db->find_tunings(test_key().signature).size(), 2u);
  EXPECT_TRUE(db->find_tunings("matmul(m=1, n=1, k=1)").empty());
}

TEST_F(DatabaseTest, ALookupWithAnyOneKeyFieldDifferentFindsNothing) {
  auto db = open_db();
  db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  const std::vector<std::pair<const char*, std::function<void(TuningKey&)>>> changes = {
      {"signature", [](TuningKey& k) { k.signature += " "; }},
      {"precision", [](TuningKey& k) { k.precision = "tf32"; }},
      {"device_name", [](TuningKey& k) { k.device_name = "NVIDIA A100-SXM4-80GB"; }},
      {"arch", [](TuningKey& k) { k.arch = "sm_90a"; }},
      {"sm_count", [](TuningKey& k) { k.sm_count = 114; }},
      {"nvrtc_version", [](TuningKey& k) { k.nvrtc_version = "12.8"; }},
      {"generator_version", [](TuningKey& k) { k.generator_version = "0.1.0+def456"; }},
  };
  for (const auto& [field, change] : changes) {
    TuningKey key = test_key();
    change(key);
    EXPECT_FALSE(db->find_tuning(key).has_value()) << "found with a different " << field;
  }
  EXPECT_TRUE(db->find_tuning(test_key()).has_value());
}

TEST_F(DatabaseTest, ForgetTuningDeletesItsCandidates) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("a", 1.0));
  db->record_candidate(id, ok_candidate("b", 2.0));
  db->forget_tuning(id);
  EXPECT_FALSE(db->find_tuning(test_key()).has_value());
  EXPECT_TRUE(db->candidates(id).empty());
  EXPECT_TRUE(db->tunings().empty());
  db.reset();
  EXPECT_EQ(pragma_int(db_path(), "SELECT count(*) FROM candidates"), 0);

  // Beginning again starts from nothing.
  db = open_db();
  std::int64_t again = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  EXPECT_TRUE(db->candidate_names(again).empty());
}

TEST_F(DatabaseTest, WritesToAMissingTuningFailWithNotFound) {
  auto db = open_db();
  try {
    db->record_candidate(42, ok_candidate("a", 1.0));
    ADD_FAILURE() << "record_candidate on a missing tuning succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), StatusCode::not_found) << error.what();
  }
  EXPECT_THROW(db->finish_tuning(42, 1.0), Error);
}

BinaryRecord test_binary() {
  return {.key = "0123abcd-sm_90-13.0",
          .arch = "sm_90",
          .nvrtc_version = "13.0",
          .cubin = {'\x7f', 'E', 'L', 'F', '\0', '\0', '\x01', '\xff', '\0', 'x'},
          .registers = 128,
          .smem_bytes = 49152,
          .spill_bytes = 8,
          .log = "ptxas info: Used 128 registers"};
}

TEST_F(DatabaseTest, BinariesRoundTripWithEveryByte) {
  auto db = open_db();
  EXPECT_FALSE(db->find_binary(test_binary().key).has_value());
  db->store_binary(test_binary());
  std::optional<BinaryRecord> found = db->find_binary(test_binary().key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->key, test_binary().key);
  EXPECT_EQ(found->arch, "sm_90");
  EXPECT_EQ(found->nvrtc_version, "13.0");
  EXPECT_EQ(found->cubin, test_binary().cubin);
  EXPECT_EQ(found->registers, 128);
  EXPECT_EQ(found->smem_bytes, 49152);
  EXPECT_EQ(found->spill_bytes, 8);
  EXPECT_EQ(found->log, test_binary().log);
  EXPECT_FALSE(db->find_binary("another key").has_value());
}

TEST_F(DatabaseTest, StoringABinaryAgainReplacesIt) {
  auto db = open_db();
  db->store_binary(test_binary());
  BinaryRecord changed = test_binary();
  changed.cubin = {};
  changed.log = "";
  db->store_binary(changed);
  std::optional<BinaryRecord> found = db->find_binary(changed.key);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->cubin.empty());
  EXPECT_EQ(found->log, "");
}

TEST_F(DatabaseTest, ATamperedCubinIsAbsentUntilStoredAgain) {
  auto db = open_db();
  db->store_binary(test_binary());
  {
    std::vector<char> tampered = test_binary().cubin;
    tampered[4] = 'X';
    sqlite::Connection raw(db_path(), SQLITE_OPEN_READWRITE);
    sqlite::Statement update(raw, "UPDATE binaries SET cubin = ?1 WHERE key = ?2");
    update.bind(1, tampered);
    update.bind(2, test_binary().key);
    EXPECT_FALSE(update.step());
    EXPECT_EQ(raw.changes(), 1);
  }
  EXPECT_FALSE(db->find_binary(test_binary().key).has_value());

  db->store_binary(test_binary());
  std::optional<BinaryRecord> found = db->find_binary(test_binary().key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->cubin, test_binary().cubin);
}

TEST_F(DatabaseTest, BinaryCountCountsEachKeyOnceWhoeverStoredIt) {
  auto db = open_db();
  EXPECT_EQ(db->binary_count(), 0);
  db->store_binary(test_binary());
  db->store_binary(test_binary());
  EXPECT_EQ(db->binary_count(), 1);
  BinaryRecord other = test_binary();
  other.key = "another key";
  open_db()->store_binary(other);
  EXPECT_EQ(db->binary_count(), 2) << "a row another connection committed counts";
}

TEST_F(DatabaseTest, AnIntactDatabasePassesTheIntegrityCheck) {
  auto db = open_db();
  std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("a", 1.0));
  db->store_binary(test_binary());
  const Status status = db->check_integrity();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(open_db(OpenMode::read_only)->check_integrity().ok());
}

// The index and the table disagree about one key: the structure is sound, so the quick check
// that opening runs passes, but the full check finds the row missing from its index.
TEST_F(DatabaseTest, AnIndexThatDisagreesWithItsTableFailsTheIntegrityCheck) {
  {
    auto db = open_db();
    for (const char* key : {"key-000", "key-002", "key-004"}) {
      BinaryRecord binary = test_binary();
      binary.key = key;
      db->store_binary(binary);
    }
  }  // closing the last connection moves the WAL into the file
  std::vector<char> bytes = read_bytes(db_path());
  const std::int64_t page_size = pragma_int(db_path(), "PRAGMA page_size");
  const std::string key = "key-002";
  bool edited = false;
  for (auto at = std::search(bytes.begin(), bytes.end(), key.begin(), key.end()); at != bytes.end();
       at = std::search(at + 1, bytes.end(), key.begin(), key.end())) {
    const std::int64_t offset = at - bytes.begin();
    constexpr char kIndexLeafPage = 0x0a;  // the b-tree page type of an index's leaf
    if (offset < page_size || bytes[offset / page_size * page_size] != kIndexLeafPage) continue;
    at[key.size() - 1] = '3';  // "key-003": still in order, but no row has that key
    edited = true;
  }
  ASSERT_TRUE(edited) << "found no index entry for " << key;
  write_bytes(db_path(), bytes);

  const Status status = open_db()->check_integrity();
  EXPECT_EQ(status.code(), StatusCode::database_error);
  EXPECT_NE(status.message().find(db_path().string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("missing from index"), std::string::npos) << status.message();
}

TEST_F(DatabaseTest, DataPersistsAcrossReopening) {
  std::int64_t id = 0;
  {
    auto db = open_db();
    id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->record_candidate(id, ok_candidate("a", 1.0));
    db->finish_tuning(id, 3.0);
    db->store_binary(test_binary());
  }
  auto db = open_db();
  std::optional<TuningRecord> found = db->find_tuning(test_key());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->winner, "a");
  EXPECT_EQ(found->tuning_seconds, 3.0);
  EXPECT_EQ(db->candidate_names(id), std::vector<std::string>{"a"});
  EXPECT_TRUE(db->find_binary(test_binary().key).has_value());
}

TEST_F(DatabaseTest, WithinTheFastestsNoiseTheFirstNameWinsAndSpreadsRoundTrip) {
  auto db = open_db();
  const std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  CandidateRecord fast = ok_candidate("zeta", 1.00);
  fast.time_noise = 0.03;  // its time is 3% unsure: 1.02 is within its noise
  CandidateRecord close = ok_candidate("alpha", 1.02);
  close.time_noise = 0.01;
  db->record_candidate(id, fast);
  db->record_candidate(id, close);
  db->record_candidate(id, ok_candidate("beta", 1.10));
  EXPECT_EQ(db->finish_tuning(id, 1.0).winner, "alpha");
  EXPECT_EQ(db->candidates(id).front().time_noise, std::optional<double>(0.03));
  fast.time_noise = 0.01;  // now alpha is outside the fastest's noise
  db->record_candidate(id, fast);
  EXPECT_EQ(db->finish_tuning(id, 1.0).winner, "zeta");
}

TEST_F(DatabaseTest, AMissIsCountedUntilForgotten) {
  auto db = open_db();
  EXPECT_TRUE(db->misses().empty());
  db->record_miss(test_key(), "spec at m=64", "ft_default");
  db->record_miss(test_key(), "spec at m=64 again", "ft_neighbour");
  TuningKey other = test_key();
  other.precision = "tf32";
  db->record_miss(other, "spec at tf32", "ft_tf32");
  std::vector<MissRecord> misses = db->misses();
  ASSERT_EQ(misses.size(), 2u);
  const MissRecord& fp32 = misses[0].key == test_key() ? misses[0] : misses[1];
  EXPECT_EQ(fp32.count, 2);
  EXPECT_EQ(fp32.spec, "spec at m=64 again");
  EXPECT_EQ(fp32.served, "ft_neighbour");
  EXPECT_FALSE(fp32.first_seen.empty());
  db->forget_miss(test_key());
  misses = db->misses();
  ASSERT_EQ(misses.size(), 1u);
  EXPECT_EQ(misses[0].key, other);
}

TEST_F(DatabaseTest, ASchemaVersionOneFileMigratesKeepingItsTunings) {
  {
    auto db = open_db();
    const std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->record_candidate(id, ok_candidate("a", 1.0));
    db->finish_tuning(id, 1.0);
  }
  {  // back to version 1, as an older fusetune left it
    sqlite::Connection raw(db_path(), SQLITE_OPEN_READWRITE);
    raw.execute(
        "DROP TABLE misses; ALTER TABLE candidates DROP COLUMN time_spread;"
        " ALTER TABLE tunings DROP COLUMN device_state; ALTER TABLE tunings DROP COLUMN incumbent;"
        " PRAGMA user_version = 1;");
  }
  auto db = open_db();
  EXPECT_EQ(pragma_int(db_path(), "PRAGMA user_version"), kSchemaVersion);
  const std::optional<TuningRecord> migrated = db->find_tuning(test_key());
  EXPECT_EQ(migrated->winner, "a");
  EXPECT_EQ(migrated->soft_keys, SoftKeys{.driver_version = 575}) << "the rest is not recorded";
  db->record_miss(test_key(), "spec", "ft_default");
  EXPECT_EQ(db->misses().size(), 1u);
}

TEST_F(DatabaseTest, BeginTuningRecordsEverySoftKeyAsTheLatestSeen) {
  auto db = open_db();
  const SoftKeys before{.driver_version = 12080, .sm_clock_mhz = 1980, .ecc = true};
  const SoftKeys after{
      .driver_version = 13000, .sm_clock_mhz = 1755, .memory_clock_mhz = 2619, .mps = false};
  const std::int64_t id = db->begin_tuning(test_key(), "spec", before);
  EXPECT_EQ(db->find_tuning(test_key())->soft_keys, before);
  EXPECT_EQ(db->begin_tuning(test_key(), "spec", after), id) << "soft keys are not keyed";
  EXPECT_EQ(db->find_tuning(test_key())->soft_keys, after);
}

TEST_F(DatabaseTest, StoreTuningKeepsEveryFieldGivenAndTheCandidatesThere) {
  auto db = open_db();
  const std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  db->record_candidate(id, ok_candidate("a", 1.0));
  TuningRecord record;
  record.key = test_key();
  record.spec = "imported spec";
  record.soft_keys.driver_version = 580;
  record.winner = "elsewhere";
  record.winner_time_ms = 0.25;
  record.winner_rel_err = 2e-7;
  record.winner_config_json = R"({"family": "gemm_mma"})";
  record.tuning_seconds = 42.5;
  record.created_at = "2024-01-02T03:04:05Z";
  record.updated_at = "2024-02-03T04:05:06Z";
  EXPECT_EQ(db->store_tuning(record), id);

  const std::optional<TuningRecord> found = db->find_tuning(test_key());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->spec, "imported spec");
  EXPECT_EQ(found->soft_keys.driver_version, 580);
  EXPECT_EQ(found->winner, "elsewhere");
  EXPECT_EQ(found->winner_time_ms, 0.25);
  EXPECT_EQ(found->winner_rel_err, 2e-7);
  EXPECT_EQ(found->winner_config_json, record.winner_config_json);
  EXPECT_EQ(found->tuning_seconds, 42.5);
  EXPECT_EQ(found->created_at, record.created_at);
  EXPECT_EQ(found->updated_at, record.updated_at);
  EXPECT_EQ(db->candidate_names(id), std::vector<std::string>{"a"});

  TuningKey other = test_key();
  other.device_name = "NVIDIA A100-SXM4-80GB";
  record.key = other;
  EXPECT_NE(db->store_tuning(record), id);
  EXPECT_EQ(db->tunings().size(), 2u);
}

TEST_F(DatabaseTest, StoreCandidateKeepsWhenItWasMeasuredAndLeavesTheTuningsTime) {
  auto db = open_db();
  TuningRecord record;
  record.key = test_key();
  record.created_at = record.updated_at = "2024-01-02T03:04:05Z";
  const std::int64_t id = db->store_tuning(record);
  CandidateRecord candidate = ok_candidate("a", 1.0);
  candidate.measured_at = "2023-05-06T07:08:09Z";
  db->store_candidate(id, candidate);
  EXPECT_EQ(db->candidates(id).at(0).measured_at, "2023-05-06T07:08:09Z");
  EXPECT_EQ(db->find_tuning(test_key())->updated_at, "2024-01-02T03:04:05Z");
  EXPECT_THROW(db->store_candidate(id + 1, candidate), Error) << "no such tuning";
}

TEST_F(DatabaseTest, WriteAtomicallyKeepsAllTheWritesOrNone) {
  auto db = open_db();
  EXPECT_THROW(db->write_atomically([&] {
    const std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->record_candidate(id, ok_candidate("a", 1.0));
    db->store_binary(test_binary());
    throw Error(StatusCode::internal, "halfway");
  }),
               Error);
  EXPECT_TRUE(db->tunings().empty());
  EXPECT_FALSE(db->find_binary(test_binary().key).has_value());

  db->write_atomically([&] {
    const std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->write_atomically([&] { db->record_candidate(id, ok_candidate("a", 1.0)); });
    try {
      db->write_atomically([&] {
        db->record_candidate(id, ok_candidate("b", 2.0));
        throw Error(StatusCode::internal, "inner");
      });
    } catch (const Error&) {
    }
    db->finish_tuning(id, 1.0);
  });
  db.reset();
  db = open_db(OpenMode::read_only);
  ASSERT_EQ(db->tunings().size(), 1u);
  EXPECT_EQ(db->candidate_names(db->tunings()[0].id), std::vector<std::string>{"a"})
      << "the failed inner group is undone, the rest kept";
  EXPECT_EQ(db->tunings()[0].winner, "a");
}

TEST_F(DatabaseTest, BinariesAreListedByKeyWithTheirSizeAndCanBeForgotten) {
  auto db = open_db();
  BinaryRecord second = test_binary();
  second.key = "0000-sm_80-12.8";
  second.arch = "sm_80";
  second.nvrtc_version = "12.8";
  second.cubin = {'a', 'b'};
  db->store_binary(test_binary());
  db->store_binary(second);
  const std::vector<StoredBinary> listed = db->binaries();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, second.key);
  EXPECT_EQ(listed[0].arch, "sm_80");
  EXPECT_EQ(listed[0].nvrtc_version, "12.8");
  EXPECT_EQ(listed[0].cubin_bytes, 2);
  EXPECT_EQ(listed[1].key, test_binary().key);
  EXPECT_EQ(listed[1].cubin_bytes, static_cast<std::int64_t>(test_binary().cubin.size()));

  db->forget_binary(second.key);
  db->forget_binary("no such key");
  ASSERT_EQ(db->binaries().size(), 1u);
  EXPECT_FALSE(db->find_binary(second.key).has_value());
  EXPECT_TRUE(db->find_binary(test_binary().key).has_value());
}

TEST_F(DatabaseTest, TheFileCarriesTheSchemaVersionAndFusetunesApplicationId) {
  open_db().reset();
  EXPECT_EQ(pragma_int(db_path(), "PRAGMA user_version"), 5);
  EXPECT_EQ(pragma_int(db_path(), "PRAGMA application_id"), 0x46545544);
  sqlite::Connection raw(db_path(), SQLITE_OPEN_READONLY);
  sqlite::Statement mode(raw, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "wal");
  mode.reset();
}

TEST_F(DatabaseTest, AnEmptyFileBecomesADatabase) {
  write_bytes(db_path(), {});
  auto db = open_db();
  db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  EXPECT_TRUE(db->find_tuning(test_key()).has_value());
}

TEST_F(DatabaseTest, ATextFileIsRefusedAndLeftAsItWas) {
  std::string text = "these are my notes, not a database\n";
  write_bytes(db_path(), {text.begin(), text.end()});
  expect_refused(db_path(), "not an SQLite file");
  expect_refused(db_path(), "not an SQLite file", OpenMode::read_only);
}

TEST_F(DatabaseTest, ARandomBytesFileIsRefusedAndLeftAsItWas) {
  std::mt19937 random(1234);
  std::vector<char> bytes(10000);
  for (char& byte : bytes) byte = static_cast<char>(random());
  write_bytes(db_path(), bytes);
  expect_refused(db_path(), "not an SQLite file");
}

TEST_F(DatabaseTest, AnotherProgramsDatabaseIsRefusedAndLeftAsItWas) {
  {
    sqlite::Connection other(db_path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
    other.execute("INSERT INTO notes (body) VALUES ('buy milk')");
  }
  expect_refused(db_path(), "another program");
  expect_refused(db_path(), "another program", OpenMode::read_only);
  EXPECT_EQ(pragma_int(db_path(), "PRAGMA user_version"), 0);
  EXPECT_FALSE(fs::exists(db_path().string() + "-wal"));
}

TEST_F(DatabaseTest, AnotherProgramsApplicationIdIsRefusedEvenWithoutTables) {
  {
    sqlite::Connection other(db_path(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    other.execute("PRAGMA application_id = 1234");
  }
  expect_refused(db_path(), "another program");
}

TEST_F(DatabaseTest, ACorruptDatabaseIsRefusedAndLeftAsItWas) {
  {
    auto db = open_db();
    std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    for (int i = 0; i < 200; ++i) {
      CandidateRecord candidate = ok_candidate("candidate_" + std::to_string(i), 1.0 + i);
      candidate.message = std::string(400, 'm');
      db->record_candidate(id, candidate);
    }
  }
  const std::int64_t page_size = pragma_int(db_path(), "PRAGMA page_size");
  std::vector<char> bytes = read_bytes(db_path());
  ASSERT_GE(static_cast<std::int64_t>(bytes.size()), 8 * page_size) << "too few pages to corrupt";
  // Page 2 is the root of the first table; garbage there is no b-tree page.
  for (std::int64_t i = page_size; i < 2 * page_size; ++i) bytes[i] = static_cast<char>(0xa5);
  write_bytes(db_path(), bytes);

  expect_refused(db_path(), "corrupt");
  expect_refused(db_path(), "corrupt", OpenMode::read_only);
  try {
    Database::open(db_path());
    ADD_FAILURE() << "opening a corrupt database succeeded";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("left it as it was"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("restore a backup"), std::string::npos);
  }
}

TEST_F(DatabaseTest, ADatabaseFromANewerFusetuneIsRefusedAndLeftAsItWas) {
  open_db().reset();
  {
    sqlite::Connection raw(db_path(), SQLITE_OPEN_READWRITE);
    raw.execute("PRAGMA user_version = 99");
  }
  expect_refused(db_path(), "newer fusetune (schema version 99");
  expect_refused(db_path(), "Upgrade fusetune", OpenMode::read_only);
}

TEST_F(DatabaseTest, ReadOnlyOpeningOfAMissingFileFailsAndCreatesNothing) {
  try {
    open_db(OpenMode::read_only);
    ADD_FAILURE() << "read-only open of a missing file succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), StatusCode::database_error);
    EXPECT_NE(std::string(error.what()).find(db_path().string()), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("no tuning database there"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(db_path()));
}

TEST_F(DatabaseTest, ReadOnlyOpeningReadsAndNeverWrites) {
  {
    auto db = open_db();
    std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->record_candidate(id, ok_candidate("a", 1.0));
    db->finish_tuning(id, 1.0);
    db->store_binary(test_binary());
  }
  const std::vector<char> before = read_bytes(db_path());
  {
    auto db = open_db(OpenMode::read_only);
    std::optional<TuningRecord> found = db->find_tuning(test_key());
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->winner, "a");
    EXPECT_EQ(db->candidates(found->id).size(), 1u);
    EXPECT_TRUE(db->find_binary(test_binary().key).has_value());
    EXPECT_THROW(db->begin_tuning(test_key(), "spec", {.driver_version = 575}), Error);
    EXPECT_THROW(db->record_candidate(found->id, ok_candidate("b", 0.5)), Error);
  }
  EXPECT_EQ(read_bytes(db_path()), before);
}

TEST_F(DatabaseTest, ReadOnlyOpeningDoesNotMigrate) {
  write_bytes(db_path(), {});
  expect_refused(db_path(), "read-only mode sets none up", OpenMode::read_only);
  EXPECT_EQ(fs::file_size(db_path()), 0u);
}

// Runs `work(i)` in `count` child processes that start together, and returns how many failed
// (threw, or exited otherwise than with 0). A child must not use a connection of the parent.
int run_in_processes(int count, const std::function<void(int)>& work) {
  int start[2];
  if (pipe(start) != 0) return count;
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    pid_t child = fork();
    if (child < 0) break;
    if (child == 0) {
      close(start[1]);
      char go;
      if (read(start[0], &go, 1) != 0) _exit(3);  // 0 bytes: the parent closed its end
      try {
        work(i);
      } catch (const std::exception& error) {
        fprintf(stderr, "process %d: %s\n", i, error.what());
        _exit(1);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  close(start[0]);
  close(start[1]);  // all start now
  int failed = count - static_cast<int>(children.size());
  for (pid_t child : children) {
    int status = 0;
    bool ok = waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    failed += ok ? 0 : 1;
  }
  return failed;
}

TEST_F(DatabaseTest, TwoProcessesWritingAtOnceLoseNothing) {
  std::int64_t id = 0;
  {
    auto db = open_db();
    id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
  }  // No connection may cross fork().

  // Process 0 writes a0..a199 taking 1, 2, ... ms; process 1 writes b0..b199 taking 0.5, 1.5, ...
  int failed = run_in_processes(2, [&](int process) {
    auto db = Database::open(db_path());
    const std::string prefix = process == 0 ? "a" : "b";
    const double first_time = process == 0 ? 1.0 : 0.5;
    for (int i = 0; i < 200; ++i) {
      db->record_candidate(id, ok_candidate(prefix + std::to_string(i), first_time + i));
      if (i % 50 == 0) db->finish_tuning(id, 0);
    }
    db->finish_tuning(id, 1.0);
  });
  EXPECT_EQ(failed, 0);

  auto db = open_db();
  EXPECT_EQ(db->candidate_names(id).size(), 400u);
  TuningRecord finished = db->finish_tuning(id, 0);
  EXPECT_EQ(finished.candidate_count, 400);
  EXPECT_EQ(finished.winner, "b0");
  EXPECT_EQ(finished.winner_time_ms, 0.5);
  EXPECT_EQ(finished.tuning_seconds, 2.0);
}

// Processes that open a database that does not exist yet all create it at once, and all begin
// the same tuning: they agree on its id and every result is kept.
TEST_F(DatabaseTest, ProcessesCreatingTheDatabaseAtOnceShareIt) {
  constexpr int kProcesses = 4;
  int failed = run_in_processes(kProcesses, [&](int process) {
    auto db = Database::open(db_path());
    std::int64_t id = db->begin_tuning(test_key(), "spec", {.driver_version = 575});
    db->record_candidate(id, ok_candidate("p" + std::to_string(process), 1.0));
  });
  EXPECT_EQ(failed, 0);

  auto db = open_db();
  ASSERT_EQ(db->tunings().size(), 1u);
  EXPECT_EQ(db->candidate_names(db->tunings()[0].id),
            (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
}

using fusetune::testing::ScopedEnv;

TEST(DefaultPath, FusetuneDbWins) {
  ScopedEnv db("FUSETUNE_DB", "/data/my.db");
  ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
  EXPECT_EQ(Database::default_path(), "/data/my.db");
}

TEST(DefaultPath, XdgCacheHomeComesNext) {
  ScopedEnv db("FUSETUNE_DB", "");
  ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(Database::default_path(), "/xdg/fusetune/tuning.db");
}

TEST(DefaultPath, OtherwiseTheCacheFolderInHome) {
  ScopedEnv db("FUSETUNE_DB", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(Database::default_path(), "/home/someone/.cache/fusetune/tuning.db");
}

}  // namespace
}  // namespace fusetune::cache
