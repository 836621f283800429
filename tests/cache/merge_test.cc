// Merging tuning databases as a specification: keys the target lacks are copied whole; for a key
// in both, every candidate keeps its better result, but a winner measured here stays until `tune`
// has re-verified the results that now rank ahead of it (noted as a miss); the binaries of copied
// rows come along only when trusted; a tuning whose winner names no measured candidate, or that
// the caller's check refuses, stops the merge before anything is written; the other database is
// never written; and merging again changes nothing.
#include "cache/merge.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <map>

#include "cache/sqlite.h"
#include "cache/transfer.h"
#include "tests/cache/cache_fixtures.h"
#include "tests/expect_error.h"

namespace fusetune::cache {
namespace {

using fixtures::CacheFolderTest;
using fixtures::contents;
using fixtures::failed_row;
using fixtures::key_on;
using fixtures::ok_row;
using fixtures::read_bytes;
using fixtures::store;
using fixtures::tuning_record;
namespace fs = std::filesystem;

TEST(BetterResult, OkBeatsAnyOtherOutcomeAndTheFasterOkWins) {
  EXPECT_TRUE(better_result(ok_row("a", 5.0), failed_row("a", "compile_error")));
  EXPECT_FALSE(better_result(failed_row("a", "compile_error"), ok_row("a", 5.0)));
  EXPECT_TRUE(better_result(ok_row("a", 1.0), ok_row("a", 2.0)));
  EXPECT_FALSE(better_result(ok_row("a", 2.0), ok_row("a", 1.0)));
  EXPECT_FALSE(better_result(ok_row("a", 1.0), ok_row("a", 1.0))) << "a tie keeps the stored row";
  EXPECT_FALSE(better_result(failed_row("a", "fault"), failed_row("a", "timeout")));
  CandidateRecord slower = ok_row("a", 0.5);
  slower.outcome = "slower";
  EXPECT_TRUE(better_result(ok_row("a", 9.0), slower)) << "a finalist beats a screened-out row";
  EXPECT_FALSE(better_result(slower, ok_row("a", 9.0)));
  CandidateRecord untimed = ok_row("a", 0);
  untimed.time_ms.reset();
  EXPECT_TRUE(better_result(ok_row("a", 9.0), untimed));
  EXPECT_FALSE(better_result(untimed, ok_row("a", 9.0)));
}

class MergeTest : public CacheFolderTest {
 protected:
  // target.db: H100 (winner b at 1.5 ms) and A100 (only here).
  // other.db: H100 with better and worse rows, and L40S (only there); binaries for its rows.
  void SetUp() override {
    CacheFolderTest::SetUp();
    auto target = open("target.db");
    store(*target, tuning_record(key_on("H100"), "b", 1.5),
          {ok_row("a", 2.0, "bin-a-target"), ok_row("b", 1.5), failed_row("c", "compile_error"),
           ok_row("d", 3.0), failed_row("h", "timeout"), ok_row("g", 4.0)});
    store(*target, tuning_record(key_on("A100"), "x", 2.0), {ok_row("x", 2.0)});

    auto other = open("other.db");
    TuningRecord h100 = tuning_record(key_on("H100"), "a", 1.0);
    h100.spec = "the spec as tuned later";
    h100.soft_keys.driver_version = 580;
    h100.tuning_seconds = 30;
    h100.created_at = "2024-12-01T00:00:00Z";
    h100.updated_at = "2025-02-01T00:00:00Z";
    store(*other, h100,
          {ok_row("a", 1.0, "bin-a"), ok_row("b", 1.8, "bin-b"), ok_row("c", 2.5, "bin-c"),
           failed_row("d", "wrong_result"), failed_row("e", "timeout"), failed_row("h", "fault")});
    store(*other, tuning_record(key_on("L40S"), "y", 0.7),
          {ok_row("y", 0.7, "bin-y"), failed_row("z", "out_of_resources")});
    for (const char* key : {"bin-a", "bin-b", "bin-c", "bin-y", "bin-unused"})
      other->store_binary(fixtures::binary_record(key));
  }

  MergeSummary merge(const MergeOptions& options = {}) {
    return merge_database_file(path("other.db"), path("target.db"), options);
  }
};

TEST_F(MergeTest, EachCandidateKeepsItsBetterResultAndTheLocalWinnerStaysUntilReverified) {
  const MergeSummary summary = merge();
  EXPECT_EQ(summary.tunings_added, 1);
  EXPECT_EQ(summary.tunings_merged, 1);
  EXPECT_EQ(summary.tunings_unchanged, 0);
  EXPECT_EQ(summary.candidates_added, 1 + 2);  // e, and both rows of L40S
  EXPECT_EQ(summary.candidates_replaced, 2);   // a (faster), c (ok over a failure)
  EXPECT_EQ(summary.winners_to_reverify, 1);   // H100: a, from elsewhere, ranks ahead of b

  auto db = open("target.db");
  const std::optional<TuningRecord> h100 = db->find_tuning(key_on("H100"));
  ASSERT_TRUE(h100.has_value());
  std::map<std::string, CandidateRecord> rows;
  for (const CandidateRecord& c : db->candidates(h100->id)) rows[c.name] = c;
  ASSERT_EQ(rows.size(), 7u);                // a b c d e g h
  EXPECT_EQ(rows["a"].time_ms, 1.0);         // the other's faster row
  EXPECT_EQ(rows["a"].binary_key, "bin-a");  // whole row, binary key included
  EXPECT_EQ(rows["b"].time_ms, 1.5);         // the target's faster row stays
  EXPECT_EQ(rows["c"].outcome, "ok");        // ok over compile_error
  EXPECT_EQ(rows["d"].outcome, "ok");        // ok over wrong_result
  EXPECT_EQ(rows["e"].outcome, "timeout");   // only in the other
  EXPECT_EQ(rows["g"].time_ms, 4.0);         // only in the target
  EXPECT_EQ(rows["h"].outcome, "timeout");   // failure against failure: target's
  // The winner measured here stays; the faster result from elsewhere waits to be timed here,
  // noted for `fusetune tune --misses`.
  EXPECT_EQ(h100->winner, "b");
  EXPECT_EQ(h100->winner_time_ms, 1.5);
  EXPECT_EQ(h100->winner_config_json, ok_row("b", 1.5).config_json);
  EXPECT_EQ(unconfirmed_challenger(*h100, db->candidates(h100->id)), "a");
  ASSERT_EQ(db->misses().size(), 1u);
  EXPECT_EQ(db->misses()[0].key, key_on("H100"));
  EXPECT_EQ(db->misses()[0].served, "b");
  EXPECT_EQ(h100->candidate_count, 7);
  EXPECT_EQ(h100->spec, "the spec as tuned later");  // from the side updated last
  EXPECT_EQ(h100->soft_keys.driver_version, 580);
  EXPECT_EQ(h100->created_at, "2024-12-01T00:00:00Z");  // the earlier start
  EXPECT_EQ(h100->tuning_seconds, 30);                  // the longer tuning
}

TEST_F(MergeTest, KeysOnlyInTheOtherAreCopiedWholeAndTheTargetsOwnStay) {
  merge();
  auto db = open("target.db");
  auto other = open("other.db", OpenMode::read_only);
  const std::optional<TuningRecord> copied = db->find_tuning(key_on("L40S"));
  const std::optional<TuningRecord> original = other->find_tuning(key_on("L40S"));
  ASSERT_TRUE(copied && original);
  EXPECT_EQ(copied->winner, "y");
  EXPECT_EQ(copied->created_at, original->created_at);
  EXPECT_EQ(copied->updated_at, original->updated_at);
  EXPECT_EQ(copied->tuning_seconds, original->tuning_seconds);
  EXPECT_EQ(db->candidates(copied->id).size(), 2u);
  EXPECT_EQ(db->candidates(copied->id)[0].measured_at,
            other->candidates(original->id)[0].measured_at);
  const std::optional<TuningRecord> own = db->find_tuning(key_on("A100"));
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->winner, "x");
}

TEST_F(MergeTest, ATuningWithoutAWinnerHereTakesTheWinnerOfTheUnitedRows) {
  store(*open("target.db"), tuning_record(key_on("L40S")), {failed_row("y", "timeout")});
  EXPECT_EQ(merge().winners_to_reverify, 1) << "H100's, not L40S's";
  auto db = open("target.db");
  const std::optional<TuningRecord> l40s = db->find_tuning(key_on("L40S"));
  ASSERT_TRUE(l40s.has_value());
  EXPECT_EQ(l40s->winner, "y") << "no winner measured here to displace";
  EXPECT_EQ(unconfirmed_challenger(*l40s, db->candidates(l40s->id)), std::nullopt);
}

TEST_F(MergeTest, BinariesComeAlongOnlyWhenTrusted) {
  const MergeSummary untrusted = merge();
  EXPECT_EQ(untrusted.binaries_copied, 0);
  EXPECT_EQ(untrusted.binaries_left_out, 3) << "rebuilt from source on first use";
  EXPECT_TRUE(open("target.db")->binaries().empty());
}

TEST_F(MergeTest, TrustedBinariesOfCopiedRowsComeAlongAndNoOthers) {
  // a, c, y; not b (its row stayed) nor the unused one
  EXPECT_EQ(merge({.trust_binaries = true}).binaries_copied, 3);
  auto db = open("target.db");
  for (const char* key : {"bin-a", "bin-c", "bin-y"}) {
    const std::optional<BinaryRecord> binary = db->find_binary(key);
    ASSERT_TRUE(binary.has_value()) << key;
    EXPECT_EQ(binary->cubin, fixtures::binary_record(key).cubin) << key;
  }
  EXPECT_FALSE(db->find_binary("bin-b").has_value());
  EXPECT_FALSE(db->find_binary("bin-unused").has_value());
}

TEST_F(MergeTest, OneTuningMergesAloneWithItsRowsAndTheirBinaries) {
  // As `fusetune tune` adopts a shipped tuning to re-verify it in the user's database.
  auto db = open("empty.db");
  auto other = open("other.db", OpenMode::read_only);
  const MergeSummary summary =
      merge_tuning(*db, *other, *other->find_tuning(key_on("L40S")), {.trust_binaries = true});
  EXPECT_EQ(summary.tunings_added, 1);
  EXPECT_EQ(summary.binaries_copied, 1);
  ASSERT_EQ(db->tunings().size(), 1u) << "the other device's tuning stays where it was";
  EXPECT_EQ(db->tunings()[0].winner, "y");
  EXPECT_EQ(db->candidates(db->tunings()[0].id).size(), 2u);
  EXPECT_TRUE(db->find_binary("bin-y").has_value());
}

TEST_F(MergeTest, TheOtherDatabaseIsNeverWritten) {
  const std::vector<char> before = read_bytes(path("other.db"));
  merge();
  EXPECT_EQ(read_bytes(path("other.db")), before);
  EXPECT_FALSE(fs::exists(path("other.db-wal")) && fs::file_size(path("other.db-wal")) > 0);
}

TEST_F(MergeTest, MergingAgainChangesNothing) {
  merge();
  const std::string once = contents(*open("target.db"));
  const MergeSummary again = merge();
  EXPECT_EQ(again.tunings_added, 0);
  EXPECT_EQ(again.tunings_merged, 0);
  EXPECT_EQ(again.tunings_unchanged, 2);
  EXPECT_EQ(again.candidates_added, 0);
  EXPECT_EQ(again.candidates_replaced, 0);
  EXPECT_EQ(again.binaries_copied, 0);
  EXPECT_EQ(contents(*open("target.db")), once);
}

// Changes the other database's L40S tuning with `edit`, then expects the merge to be refused with
// a message holding `expected`, and the target as it was.
class RefusedMergeTest : public MergeTest {
 protected:
  void edit_l40s(const std::function<void(TuningRecord&, std::vector<CandidateRecord>&)>& edit) {
    auto other = open("other.db");
    TuningRecord t = *other->find_tuning(key_on("L40S"));
    std::vector<CandidateRecord> rows = other->candidates(t.id);
    other->forget_tuning(t.id);
    edit(t, rows);
    store(*other, t, rows);
  }
  void expect_refused(const std::string& expected, const MergeOptions& options = {}) {
    const std::string before = contents(*open("target.db"));
    const std::optional<Error> error = error_of([&] { merge(options); });
    ASSERT_TRUE(error.has_value());
    const std::string message = error->what();
    EXPECT_NE(message.find(path("other.db")), std::string::npos) << message;
    EXPECT_NE(message.find("L40S"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("Nothing was merged"), std::string::npos) << message;
    EXPECT_EQ(contents(*open("target.db")), before);
  }
};

TEST_F(RefusedMergeTest, AWinnerThatNamesNoCandidateIsRefused) {
  for (const std::string winner : {"nowhere", "z"}) {  // z failed
    edit_l40s([&](TuningRecord& t, std::vector<CandidateRecord>&) { t.winner = winner; });
    expect_refused("its winner \"" + winner + "\" is none of its candidates that ran correctly");
  }
}

TEST_F(RefusedMergeTest, AWinnerWhoseConfigurationIsNotItsCandidatesIsRefused) {
  edit_l40s([](TuningRecord& t, std::vector<CandidateRecord>&) {
    t.winner_config_json = ok_row("other", 1.0).config_json;
  });
  expect_refused("its winner's configuration is not that of its candidate \"y\"");
}

TEST_F(RefusedMergeTest, ATimedCandidateWithoutAPositiveTimeIsRefused) {
  edit_l40s([](TuningRecord&, std::vector<CandidateRecord>& rows) { rows[0].time_ms = 0.0; });
  expect_refused("candidate \"y\" has a time of 0 ms");
}

TEST_F(RefusedMergeTest, WhatTheCallersCheckRefusesStopsTheMergeBeforeTheTargetIsCreated) {
  const MergeOptions options{
      .check = [](const TuningRecord& t, const std::vector<CandidateRecord>&) {
        return t.key.device_name == "L40S" ? std::optional<std::string>("faster than light")
                                           : std::nullopt;
      }};
  expect_refused("faster than light", options);
  const std::optional<Error> error =
      error_of([&] { merge_database_file(path("other.db"), path("new.db"), options); });
  EXPECT_TRUE(error.has_value());
  EXPECT_FALSE(fs::exists(path("new.db")));
}

TEST_F(MergeTest, MergingADatabaseIntoItselfIsRefused) {
  const std::string before = contents(*open("target.db"));
  const std::optional<Error> error =
      error_of([&] { merge_database_file(path("target.db"), path("target.db")); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find("that is the database to merge into"),
            std::string::npos)
      << error->what();
  EXPECT_EQ(contents(*open("target.db")), before);
}

TEST_F(MergeTest, AnOtherFileThatIsNoDatabaseIsRefusedAndNoTargetIsCreated) {
  fixtures::write_text(path("notes.txt"), "not a database\n");
  const std::optional<Error> error =
      error_of([&] { merge_database_file(path("notes.txt"), path("new.db")); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find("not an SQLite file"), std::string::npos)
      << error->what();
  EXPECT_FALSE(fs::exists(path("new.db")));
  EXPECT_TRUE(
      error_of([&] { merge_database_file(path("missing.db"), path("new.db")); }).has_value());
  EXPECT_FALSE(fs::exists(path("new.db")));
}

TEST_F(MergeTest, AnOtherDatabaseFromANewerFusetuneIsRefused) {
  {
    sqlite::Connection raw(path("other.db"), SQLITE_OPEN_READWRITE);
    raw.execute("PRAGMA user_version = 99");
  }
  const std::string before = contents(*open("target.db"));
  const std::optional<Error> error = error_of([&] { merge(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find("newer fusetune"), std::string::npos) << error->what();
  EXPECT_EQ(contents(*open("target.db")), before);
}

}  // namespace
}  // namespace fusetune::cache
