// Exporting and importing tuning results as a specification: a JSON export or a database copy
// brings back every field of every tuning, candidate and binary; --spec and --with-binaries choose
// what travels; an existing file is replaced only when asked; and a bad file, or a target that may
// not be written, changes nothing.
#include "cache/transfer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "cache/base64.h"
#include "cache/sha256.h"
#include "tests/cache/cache_fixtures.h"
#include "tests/expect_error.h"

namespace fusetune::cache {
namespace {

using fixtures::contents;
using fixtures::failed_row;
using fixtures::key_on;
using fixtures::ok_row;
using fixtures::read_bytes;
using fixtures::store;
using fixtures::tuning_record;
namespace fs = std::filesystem;

class TransferTest : public fixtures::CacheFolderTest {
 protected:
  // source.db: H100 with rows of every kind and their binaries; A100 tuned the ordinary way; a
  // third spec on H100; and a binary no candidate refers to.
  void SetUp() override {
    CacheFolderTest::SetUp();
    auto db = open("source.db");
    CandidateRecord slower = ok_row("s", 7.25, "bin-s");
    slower.outcome = "slower";
    CandidateRecord unverified = ok_row("u", 3.0);
    unverified.rel_err.reset();
    store(*db, tuning_record(key_on("H100"), "a", 1.0 / 3),
          {ok_row("a", 1.0 / 3, "bin-a"), ok_row("b", 2.5, "bin-b"), slower, unverified,
           failed_row("c", "compile_error"), failed_row("w", "wrong_result")});
    const std::int64_t id =
        db->begin_tuning(key_on("A100"), "linear(m=64, n=64, k=64)", {.driver_version = 580});
    db->record_candidate(id, ok_row("x", 0.125, "bin-x"));
    db->record_candidate(id, failed_row("y", "out_of_resources"));
    db->finish_tuning(id, 3.5);
    store(*db, tuning_record(key_on("H100", "gemv(m=8, k=8)"), "g", 0.01),
          {ok_row("g", 0.01, "bin-g")});
    for (const char* key : {"bin-a", "bin-b", "bin-s", "bin-x", "bin-g", "bin-orphan"})
      db->store_binary(fixtures::binary_record(key));
  }

  ExportSummary export_to(const std::string& name, bool with_binaries = true,
                          const std::string& signature = "", bool force = false) {
    auto db = open("source.db", OpenMode::read_only);
    return export_tunings(*db, {.path = path(name),
                                .signature = signature,
                                .with_binaries = with_binaries,
                                .force = force});
  }

  // source.db's contents without the binary that nothing refers to, which never travels.
  std::string exportable_contents() {
    std::string text = contents(*open("source.db", OpenMode::read_only));
    const std::size_t orphan = text.find("binary bin-orphan");
    return text.erase(orphan, text.find('\n', orphan) + 1 - orphan);
  }
};

TEST_F(TransferTest, AJsonExportImportedIntoAnEmptyDatabaseReproducesEveryField) {
  const ExportSummary summary = export_to("tunings.json");
  EXPECT_EQ(summary.tunings, 3);
  EXPECT_EQ(summary.candidates, 6 + 2 + 1);
  EXPECT_EQ(summary.binaries, 5);
  const MergeSummary imported =
      import_file(path("tunings.json"), path("copy.db"), {.trust_binaries = true});
  EXPECT_EQ(imported.tunings_added, 3);
  EXPECT_EQ(imported.binaries_copied, 5);
  EXPECT_EQ(contents(*open("copy.db")), exportable_contents());
}

TEST_F(TransferTest, AnImportBringsConfigurationsAndTimingsButNoCubinsUnlessTrusted) {
  export_to("tunings.json");
  const MergeSummary imported = import_file(path("tunings.json"), path("copy.db"));
  EXPECT_EQ(imported.tunings_added, 3);
  EXPECT_EQ(imported.binaries_copied, 0);
  EXPECT_EQ(imported.binaries_left_out, 5) << "compiled from source when first used";
  auto copy = open("copy.db");
  EXPECT_TRUE(copy->binaries().empty());
  std::string expected = exportable_contents();
  expected.erase(expected.find("binary "));  // the binaries are listed last
  EXPECT_EQ(contents(*copy), expected);
  for (const char* file : {"source.db"}) {  // a database file imports as a merge: the same
    const MergeSummary merged = import_file(path(file), path("merged.db"));
    EXPECT_EQ(merged.binaries_copied, 0);
    EXPECT_TRUE(open("merged.db")->binaries().empty());
  }
}

TEST_F(TransferTest, TheJsonFileFollowsTheDocumentedFormat) {
  export_to("tunings.json");
  const nlohmann::json j = nlohmann::json::parse(fixtures::read_bytes(path("tunings.json")));
  EXPECT_EQ(j["format"], "fusetune-tunings");
  EXPECT_EQ(j["version"], 1);
  EXPECT_TRUE(j["exported_at"].is_string());
  ASSERT_EQ(j["tunings"].size(), 3u);
  for (const nlohmann::json& t : j["tunings"]) {
    for (const char* field :
         {"signature", "precision", "device_name", "arch", "sm_count", "nvrtc_version",
          "generator_version", "spec", "driver_version", "tuning_seconds", "created_at",
          "updated_at", "winner", "winner_time_ms", "winner_rel_err", "winner_config_json"})
      EXPECT_TRUE(t.contains(field)) << field;
    EXPECT_FALSE(t["candidates"].empty());
  }
  ASSERT_EQ(j["binaries"].size(), 5u);
  const nlohmann::json& binary = j["binaries"][0];
  const std::vector<char> cubin = fixtures::binary_record(binary["key"]).cubin;
  EXPECT_EQ(binary["cubin_base64"], base64_encode(cubin));
  EXPECT_EQ(binary["sha256"], sha256_hex(cubin));
}

TEST_F(TransferTest, WithoutBinariesTheJsonCarriesEverythingElse) {
  EXPECT_EQ(export_to("tunings.json", false).binaries, 0);
  import_file(path("tunings.json"), path("copy.db"));
  auto copy = open("copy.db");
  EXPECT_TRUE(copy->binaries().empty());
  std::string expected = exportable_contents();
  expected.erase(expected.find("binary "));  // the binaries are listed last
  EXPECT_EQ(contents(*copy), expected);
}

TEST_F(TransferTest, ADatabaseExportIsACopyThatImportsAsAMerge) {
  const ExportSummary summary = export_to("copy.db", false);  // a copy has its binaries anyway
  EXPECT_EQ(summary.tunings, 3);
  EXPECT_EQ(summary.binaries, 5);
  EXPECT_EQ(contents(*open("copy.db")), exportable_contents());
  EXPECT_FALSE(fs::exists(path("copy.db-wal")));

  EXPECT_EQ(import_file(path("copy.db"), path("again.db"), {.trust_binaries = true}).tunings_added,
            3);
  EXPECT_EQ(contents(*open("again.db")), exportable_contents());
}

TEST_F(TransferTest, ASignatureLimitsTheExportToItsTuningsAndTheirBinaries) {
  const std::string signature = "gemv(m=8, k=8)";
  for (const char* name : {"gemv.json", "gemv.db"}) {
    const ExportSummary summary = export_to(name, true, signature);
    EXPECT_EQ(summary.tunings, 1) << name;
    EXPECT_EQ(summary.binaries, 1) << name;
  }
  import_file(path("gemv.json"), path("from_json.db"), {.trust_binaries = true});
  for (const char* name : {"from_json.db", "gemv.db"}) {
    auto db = open(name);
    ASSERT_EQ(db->tunings().size(), 1u) << name;
    EXPECT_EQ(db->tunings()[0].key.signature, signature);
    ASSERT_EQ(db->binaries().size(), 1u) << name;
    EXPECT_EQ(db->binaries()[0].key, "bin-g");
  }
}

TEST_F(TransferTest, AnExistingFileIsReplacedOnlyWithForce) {
  for (const char* name : {"out.json", "out.db"}) {
    fixtures::write_text(path(name), "keep me");
    const std::optional<Error> error = error_of([&] { export_to(name); });
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_NE(std::string(error->what()).find("pass --force"), std::string::npos) << error->what();
    EXPECT_EQ(read_bytes(path(name)), std::vector<char>({'k', 'e', 'e', 'p', ' ', 'm', 'e'}));
    EXPECT_EQ(export_to(name, true, "", true).tunings, 3) << name;
    EXPECT_NE(read_bytes(path(name)).size(), 7u) << name;
  }
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos)
        << entry.path() << ": a staged file was left behind";
  }
}

TEST_F(TransferTest, WhatIsNotARegularFileIsNeverReplacedEvenWithForce) {
  fixtures::write_text(path("target.json"), "keep me");
  fs::create_symlink("target.json", path("link.json"));
  fs::create_symlink("nowhere.json", path("dangling.json"));
  ASSERT_EQ(mkfifo(path("fifo.json").c_str(), 0600), 0);
  std::vector<std::string> names = {"link.json", "dangling.json", "fifo.json"};
  if (geteuid() == 0) {  // making a device node needs root
    ASSERT_EQ(mknod(path("null.json").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    names.push_back("null.json");
  }
  for (const std::string& name : names) {
    const fs::file_type before = fs::symlink_status(path(name)).type();
    const std::optional<Error> error = error_of([&] { export_to(name, true, "", true); });
    ASSERT_TRUE(error.has_value()) << name;
    EXPECT_NE(std::string(error->what()).find("not a regular file"), std::string::npos)
        << error->what();
    EXPECT_EQ(fs::symlink_status(path(name)).type(), before) << name << " was replaced";
  }
  EXPECT_EQ(read_bytes(path("target.json")),
            std::vector<char>({'k', 'e', 'e', 'p', ' ', 'm', 'e'}));
  EXPECT_FALSE(fs::exists(path("nowhere.json")));
}

TEST_F(TransferTest, TheDatabaseItselfIsNeverAnExportTarget) {
  const std::vector<char> before = read_bytes(path("source.db"));
  EXPECT_TRUE(error_of([&] { export_to("source.db", true, "", true); }).has_value());
  EXPECT_EQ(read_bytes(path("source.db")), before);
}

// A valid export of two tunings, changed by `edit` before it is written to bad.json.
class BadImportTest : public TransferTest {
 protected:
  void write_edited(const std::function<void(nlohmann::json&)>& edit) {
    export_to("good.json", true, "", /*force=*/true);
    nlohmann::json j = nlohmann::json::parse(read_bytes(path("good.json")));
    edit(j);
    fixtures::write_text(path("bad.json"), j.dump(2));
  }

  // Importing bad.json into target.db fails with a message containing `expected`, and
  // target.db is byte for byte what it was.
  void expect_refused(const std::string& expected) {
    {
      auto target = open("target.db");
      store(*target, tuning_record(key_on("L40S"), "t", 1.0), {ok_row("t", 1.0)});
    }
    const std::vector<char> before = read_bytes(path("target.db"));
    const std::optional<Error> error =
        error_of([&] { import_file(path("bad.json"), path("target.db")); });
    ASSERT_TRUE(error.has_value());
    const std::string message = error->what();
    EXPECT_NE(message.find(path("bad.json")), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(read_bytes(path("target.db")), before);
    EXPECT_EQ(open("target.db")->tunings().size(), 1u);
  }
};

TEST_F(BadImportTest, ATruncatedFileChangesNothing) {
  export_to("good.json");
  std::vector<char> bytes = read_bytes(path("good.json"));
  bytes.resize(bytes.size() / 2);
  fixtures::write_text(path("bad.json"), std::string(bytes.begin(), bytes.end()));
  expect_refused("not valid JSON");
}

TEST_F(BadImportTest, AFileOfAnotherFormatIsNotAnExport) {
  fixtures::write_text(path("bad.json"), R"({"name": "my notes"})");
  expect_refused("not a fusetune export");
  fixtures::write_text(path("bad.json"), "[1, 2, 3]");
  expect_refused("not a fusetune export (a JSON array");
}

TEST_F(BadImportTest, AnExportFromANewerFusetuneSaysToUpgrade) {
  write_edited([](nlohmann::json& j) { j["version"] = 2; });
  expect_refused("newer fusetune (export format version 2");
}

TEST_F(BadImportTest, AFieldOfTheWrongTypeIsNamedWithItsEntry) {
  write_edited([](nlohmann::json& j) { j["tunings"][1]["sm_count"] = "many"; });
  expect_refused("tunings[1] (");
  expect_refused("\"sm_count\" must be an integer, not string");
}

TEST_F(BadImportTest, AnErrorInALaterEntryKeepsTheEarlierOnesOut) {
  write_edited([](nlohmann::json& j) { j["tunings"][2]["candidates"][0]["time_ms"] = "fast"; });
  expect_refused("candidates[0]: \"time_ms\" must be a number or null, not string");
}

TEST_F(BadImportTest, AMissingFieldIsNamed) {
  write_edited([](nlohmann::json& j) { j["tunings"][0]["candidates"][1].erase("outcome"); });
  expect_refused("\"outcome\" is missing");
}

TEST_F(BadImportTest, AnUnknownOutcomeIsRefused) {
  write_edited([](nlohmann::json& j) { j["tunings"][0]["candidates"][0]["outcome"] = "great"; });
  expect_refused("\"outcome\" is \"great\"");
}

TEST_F(BadImportTest, ATimestampInAnotherShapeIsRefused) {
  write_edited([](nlohmann::json& j) { j["tunings"][0]["created_at"] = "yesterday"; });
  expect_refused("\"created_at\" must be a UTC time");
}

TEST_F(BadImportTest, ACubinThatDoesNotMatchItsChecksumIsRefused) {
  write_edited([](nlohmann::json& j) { j["binaries"][0]["cubin_base64"] = "AAAA"; });
  expect_refused("\"sha256\" does not match the cubin");
}

TEST_F(BadImportTest, ACandidateListedTwiceIsRefused) {
  write_edited([](nlohmann::json& j) {
    j["tunings"][0]["candidates"].push_back(j["tunings"][0]["candidates"][0]);
  });
  expect_refused("appears twice");
}

// good.json's text with the first `"field": ` followed by `value` instead, the original value
// kept under another name; written as text, since a value this deep cannot be dumped.
std::string with_value(std::string text, const std::string& field, const std::string& value) {
  const std::string key = "\"" + field + "\": ";
  const std::size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << field;
  return text.replace(at, key.size(), key + value + ", \"was\": ");
}

TEST_F(BadImportTest, ValuesNestedTooDeepAreRefusedWithoutCrashing) {
  export_to("good.json");
  const std::vector<char> bytes = read_bytes(path("good.json"));
  const std::string good(bytes.begin(), bytes.end());
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  for (const char* field : {"format", "device_state", "time_ms"}) {
    fixtures::write_text(path("bad.json"), with_value(good, field, deep));
    expect_refused("nested more than 16 levels deep");
  }
}

TEST_F(BadImportTest, AFileLargerThanAnyExportIsRefusedUnread) {
  fixtures::write_text(path("bad.json"), "{}");
  fs::resize_file(path("bad.json"), std::uintmax_t{3} << 30);  // sparse: no disk, no time
  expect_refused("bytes, more than the 1073741824 bytes allowed");
}

TEST_F(BadImportTest, ANumberTooLargeForADoubleIsNamedWithItsField) {
  export_to("good.json");
  const std::vector<char> bytes = read_bytes(path("good.json"));
  fixtures::write_text(path("bad.json"), with_value(std::string(bytes.begin(), bytes.end()),
                                                    "tuning_seconds", "1e400"));
  expect_refused("the number after \"tuning_seconds\" is out of range (1e400)");
}

TEST_F(BadImportTest, AFieldThatIsNotAnIntegerShowsOnlyTheStartOfIt) {
  write_edited([](nlohmann::json& j) { j["tunings"][0]["sm_count"] = std::string(100'000, '9'); });
  expect_refused("\"sm_count\" must be an integer, not string");
  write_edited([](nlohmann::json& j) { j["format"] = std::string(100'000, 'x'); });
  expect_refused("\"format\" \"xxxxxxxx");
  const std::optional<Error> error =
      error_of([&] { import_file(path("bad.json"), path("target.db")); });
  ASSERT_TRUE(error.has_value());
  EXPECT_LT(std::string(error->what()).size(), 1000u) << "the value is cut short in the message";
}

TEST_F(TransferTest, AMissingFileIsNamed) {
  const std::optional<Error> error =
      error_of([&] { import_file(path("missing.json"), path("target.db")); });
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find("no such file"), std::string::npos) << error->what();
  EXPECT_FALSE(fs::exists(path("target.db")));
}

// Runs `work` in a child process that may not write files it does not own (as root, which may
// write anything, it runs as nobody), and returns the message of the fusetune::Error it threw,
// or what went wrong instead.
std::string error_as_unprivileged(const std::function<void()>& work) {
  int channel[2];
  if (pipe(channel) != 0) return "no pipe";
  const pid_t child = fork();
  if (child == 0) {
    close(channel[0]);
    std::string message = "no error";
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) message = "cannot drop root";
    try {
      if (message == "no error") work();
    } catch (const Error& error) {
      message = error.what();
    }
    if (write(channel[1], message.data(), message.size()) < 0) _exit(2);
    _exit(0);
  }
  close(channel[1]);
  std::string message;
  char chunk[512];
  for (ssize_t n; (n = read(channel[0], chunk, sizeof chunk)) > 0;) message.append(chunk, n);
  close(channel[0]);
  waitpid(child, nullptr, 0);
  return message;
}

TEST_F(TransferTest, ImportingIntoAFileThatMayNotBeWrittenSaysSoAndChangesNothing) {
  export_to("tunings.json");
  {
    auto target = open("target.db");
    store(*target, tuning_record(key_on("L40S"), "t", 1.0), {ok_row("t", 1.0)});
  }
  chmod(path("target.db").c_str(), 0444);
  const std::vector<char> before = read_bytes(path("target.db"));
  const std::string message =
      error_as_unprivileged([&] { import_file(path("tunings.json"), path("target.db")); });
  EXPECT_NE(message.find(path("target.db")), std::string::npos) << message;
  EXPECT_NE(message.find("not writable"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path("target.db")), before);
}

}  // namespace
}  // namespace fusetune::cache
