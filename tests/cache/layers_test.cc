// A system database under the user's: lookups read the user's first, then the system's; writes go
// to the user's; the system file is never modified; a missing one is no layer, a bad one an error.
#include "cache/layers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fusetune/status.h"
#include "tests/cache/cache_fixtures.h"
#include "tests/expect_error.h"

namespace fusetune::cache {
namespace {

using namespace fixtures;

class LayersTest : public CacheFolderTest {
 protected:
  // Writes to the system file through a writable connection, closed again before it is layered.
  template <class Fill>
  void make_system(Fill fill) {
    std::unique_ptr<Database> db = open("system.db");
    fill(*db);
  }
  Layers layers(bool trust_system_binaries = false) {
    return Layers(open("user.db"), Layers::open_system(path("system.db")), trust_system_binaries);
  }
};

TEST_F(LayersTest, AUserTuningHidesTheSystemOneOfTheSameKey) {
  make_system([](Database& db) { store(db, tuning_record(key_on("GPU A"), "sys", 2.0), {}); });
  Layers both = layers();
  store(both.user(), tuning_record(key_on("GPU A"), "mine", 1.0), {});

  const std::optional<LayeredTuning> found = both.find_tuning(key_on("GPU A"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->layer, Layer::user);
  EXPECT_EQ(found->record.winner, "mine");
  EXPECT_EQ(both.find_winner(key_on("GPU A"))->record.winner, "mine");
}

TEST_F(LayersTest, AKeyOnlyInTheSystemLayerIsFoundThere) {
  make_system([](Database& db) { store(db, tuning_record(key_on("GPU A"), "sys", 2.0), {}); });
  Layers both = layers();
  store(both.user(), tuning_record(key_on("GPU B"), "mine", 1.0), {});

  const std::optional<LayeredTuning> found = both.find_tuning(key_on("GPU A"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->layer, Layer::system);
  EXPECT_EQ(found->record.winner, "sys");
  EXPECT_EQ(both.find_winner(key_on("GPU A"))->layer, Layer::system);
  EXPECT_FALSE(both.find_tuning(key_on("GPU C")).has_value());
}

TEST_F(LayersTest, AUserTuningWithoutAWinnerDoesNotHideASystemWinner) {
  make_system([](Database& db) { store(db, tuning_record(key_on("GPU A"), "sys", 2.0), {}); });
  Layers both = layers();
  store(both.user(), tuning_record(key_on("GPU A")), {});  // a compile-only sweep's

  EXPECT_EQ(both.find_tuning(key_on("GPU A"))->layer, Layer::user);
  const std::optional<LayeredTuning> winner = both.find_winner(key_on("GPU A"));
  ASSERT_TRUE(winner.has_value());
  EXPECT_EQ(winner->layer, Layer::system);
  EXPECT_EQ(winner->record.winner, "sys");
}

TEST_F(LayersTest, SystemBinariesAreNotUsedUnlessTrusted) {
  make_system([&](Database& db) { db.store_binary(binary_record("bin-system")); });
  EXPECT_FALSE(layers().find_binary("bin-system").has_value()) << "compiled from source instead";
  EXPECT_TRUE(layers(/*trust_system_binaries=*/true).find_binary("bin-system").has_value());
}

TEST_F(LayersTest, TrustingSystemBinariesIsAskedOfTheEnvironmentByDefault) {
  for (const auto& [value, trusted] : std::vector<std::pair<const char*, bool>>{
           {nullptr, false}, {"", false}, {"0", false}, {"1", true}, {"yes", true}}) {
    if (value)
      setenv("FUSETUNE_TRUST_SYSTEM_BINARIES", value, 1);
    else
      unsetenv("FUSETUNE_TRUST_SYSTEM_BINARIES");
    EXPECT_EQ(Layers::default_trust_system_binaries(), trusted) << (value ? value : "unset");
  }
  unsetenv("FUSETUNE_TRUST_SYSTEM_BINARIES");
}

TEST_F(LayersTest, TrustedBinariesTheUserLacksAreFoundInTheSystemLayer) {
  BinaryRecord shipped = binary_record("bin-shared");
  shipped.log = "system's";
  make_system([&](Database& db) {
    db.store_binary(binary_record("bin-system"));
    db.store_binary(shipped);
  });
  Layers both = layers(/*trust_system_binaries=*/true);
  BinaryRecord mine = binary_record("bin-shared");
  mine.log = "user's";
  both.user().store_binary(mine);

  const std::optional<BinaryRecord> system_only = both.find_binary("bin-system");
  ASSERT_TRUE(system_only.has_value());
  EXPECT_EQ(system_only->cubin, binary_record("bin-system").cubin);
  EXPECT_EQ(both.find_binary("bin-shared")->log, "user's");
  EXPECT_FALSE(both.find_binary("bin-nowhere").has_value());
}

TEST_F(LayersTest, WritesGoToTheUserAndNeverChangeTheSystemFile) {
  make_system([](Database& db) {
    store(db, tuning_record(key_on("GPU A"), "sys", 2.0), {ok_row("sys", 2.0, "bin-a")});
    db.store_binary(binary_record("bin-a"));
  });
  const std::vector<char> before = read_bytes(path("system.db"));
  {
    Layers both = layers(/*trust_system_binaries=*/true);
    ASSERT_NE(both.system(), nullptr);
    EXPECT_EQ(both.tunings().size(), 1u);
    ASSERT_TRUE(both.find_binary("bin-a").has_value());
    // What a load and a tune write: a tuning, its rows, a cubin and a miss.
    const std::int64_t id =
        both.user().begin_tuning(key_on("GPU A"), "spec", {.driver_version = 575});
    both.user().record_candidate(id, ok_row("mine", 1.0, "bin-b"));
    both.user().finish_tuning(id, 3.0);
    both.user().store_binary(binary_record("bin-b"));
    both.user().record_miss(key_on("GPU B"), "spec", "default");
    EXPECT_EQ(both.find_winner(key_on("GPU A"))->record.winner, "mine");
    EXPECT_THROW(both.system()->begin_tuning(key_on("GPU C"), "spec", {.driver_version = 575}),
                 Error);
  }
  EXPECT_EQ(read_bytes(path("system.db")), before) << "the system file was modified";
  // A read-only connection to a write-ahead-log database shares its lock in a -shm file; it must
  // not leave one (or a log) beside a file that is not the user's.
  EXPECT_FALSE(fs::exists(path("system.db-wal")));
  EXPECT_FALSE(fs::exists(path("system.db-shm")));
  std::unique_ptr<Database> system = open("system.db", OpenMode::read_only);
  EXPECT_FALSE(system->find_binary("bin-b").has_value());
  EXPECT_EQ(system->misses().size(), 0u);
  EXPECT_EQ(system->find_tuning(key_on("GPU A"))->winner, "sys");
}

// The system file is opened through an SQLite URI; a name with URI characters is still that file.
TEST_F(LayersTest, ASystemPathWithUriCharactersOpensThatFile) {
  { store(*open("team 100%?#.db"), tuning_record(key_on("GPU A"), "sys", 2.0), {}); }
  Layers both(open("user.db"), Layers::open_system(path("team 100%?#.db")));
  ASSERT_NE(both.system(), nullptr);
  EXPECT_EQ(both.system()->path(), path("team 100%?#.db"));
  EXPECT_EQ(both.find_tuning(key_on("GPU A"))->record.winner, "sys");
}

TEST_F(LayersTest, AnAbsentSystemPathIsNoLayerAndCreatesNothing) {
  EXPECT_EQ(Layers::open_system(std::nullopt), nullptr);
  EXPECT_EQ(Layers::open_system(path("nowhere.db")), nullptr);
  EXPECT_FALSE(fs::exists(path("nowhere.db")));

  Layers user_only(open("user.db"), nullptr);
  store(user_only.user(), tuning_record(key_on("GPU A"), "mine", 1.0), {});
  EXPECT_EQ(user_only.system(), nullptr);
  EXPECT_EQ(user_only.find_tuning(key_on("GPU A"))->layer, Layer::user);
  EXPECT_FALSE(user_only.find_tuning(key_on("GPU B")).has_value());
  EXPECT_EQ(user_only.tunings().size(), 1u);
}

TEST_F(LayersTest, ASystemPathThatIsNotADatabaseIsAnErrorSayingWhatToDo) {
  write_text(path("system.db"), "these are my notes, not a database\n");
  const std::vector<char> before = read_bytes(path("system.db"));
  const std::optional<Error> error = error_of([&] { Layers::open_system(path("system.db")); });
  ASSERT_TRUE(error.has_value());
  const std::string message = error->what();
  EXPECT_EQ(error->code(), StatusCode::database_error);
  EXPECT_NE(message.find("system tuning database"), std::string::npos) << message;
  EXPECT_NE(message.find(path("system.db")), std::string::npos) << message;
  EXPECT_NE(message.find("not an SQLite file"), std::string::npos) << "Database::open's reason";
  EXPECT_NE(message.find("unset $FUSETUNE_SYSTEM_DB"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path("system.db")), before);
}

TEST_F(LayersTest, TuningsMergeBothLayersTaggedWithTheUsersHidingTheSystems) {
  make_system([](Database& db) {
    store(db, tuning_record(key_on("GPU B"), "sys-b", 2.0), {});
    store(db, tuning_record(key_on("GPU C"), "sys-c", 2.0), {});
  });
  Layers both = layers();
  store(both.user(), tuning_record(key_on("GPU A"), "mine-a", 1.0), {});
  store(both.user(), tuning_record(key_on("GPU B"), "mine-b", 1.0), {});

  std::vector<std::string> seen;
  for (const LayeredTuning& t : both.tunings())
    seen.push_back(t.record.winner + "@" + std::string(to_string(t.layer)));
  std::ranges::sort(seen);
  EXPECT_EQ(seen, (std::vector<std::string>{"mine-a@user", "mine-b@user", "sys-c@system"}));
}

TEST_F(LayersTest, TheDefaultSystemPathIsFusetuneSystemDbWhenSet) {
  const char* saved = getenv("FUSETUNE_SYSTEM_DB");
  const std::string restore = saved ? saved : "";
  setenv("FUSETUNE_SYSTEM_DB", "/opt/team/tuning.db", 1);
  EXPECT_EQ(Layers::default_system_path(), "/opt/team/tuning.db");
  setenv("FUSETUNE_SYSTEM_DB", "", 1);
  EXPECT_EQ(Layers::default_system_path(), std::nullopt);
  unsetenv("FUSETUNE_SYSTEM_DB");
  EXPECT_EQ(Layers::default_system_path(), std::nullopt);
  if (saved) setenv("FUSETUNE_SYSTEM_DB", restore.c_str(), 1);
}

}  // namespace
}  // namespace fusetune::cache
