// Odd paths given as a tuning database, as a specification: a FIFO, a device, a folder or a loop
// of symbolic links is refused with a message before anything could block on it; an empty file is
// called empty; a database whose tables were changed by someone else is called damaged, not
// reported in SQLite's words; and no command leaves a file beside a path it refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "cache/database.h"
#include "cache/layers.h"
#include "cache/sqlite.h"
#include "cache/transfer.h"
#include "tests/cache/cache_fixtures.h"
#include "tests/expect_error.h"

namespace fusetune::cache {
namespace {

using fixtures::key_on;
using fixtures::ok_row;
using fixtures::store;
using fixtures::tuning_record;
namespace fs = std::filesystem;

// What `call` throws, run in a child process that is killed if it has not finished within five
// seconds: "blocked" then, "no error" if it threw none.
std::string error_or_blocked(const std::function<void()>& call) {
  int channel[2];
  if (pipe(channel) != 0) return "no pipe";
  const pid_t child = fork();
  if (child == 0) {
    close(channel[0]);
    std::string message = "no error";
    try {
      call();
    } catch (const Error& error) {
      message = error.what();
    }
    if (write(channel[1], message.data(), message.size()) < 0) _exit(2);
    _exit(0);
  }
  close(channel[1]);
  int status = 0;
  for (int waited_ms = 0; waitpid(child, &status, WNOHANG) == 0; waited_ms += 10) {
    if (waited_ms >= 5000) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      close(channel[0]);
      return "blocked";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string message;
  char chunk[512];
  for (ssize_t n; (n = read(channel[0], chunk, sizeof chunk)) > 0;) message.append(chunk, n);
  close(channel[0]);
  return message;
}

class OddFileTest : public fixtures::CacheFolderTest {
 protected:
  // The message Database::open(path, mode) throws, "blocked" or "no error".
  static std::string open_error(const std::string& file, OpenMode mode) {
    return error_or_blocked([&] { Database::open(file, mode); });
  }

  std::string fifo(const std::string& name) {
    const std::string file = path(name);
    EXPECT_EQ(mkfifo(file.c_str(), 0600), 0);
    return file;
  }
};

constexpr OpenMode kModes[] = {OpenMode::read_write, OpenMode::read_only, OpenMode::immutable};

TEST_F(OddFileTest, AFifoIsRefusedInEveryModeWithoutBeingOpened) {
  const std::string file = fifo("tuning.db");
  for (OpenMode mode : kModes) {
    const std::string message = open_error(file, mode);
    EXPECT_NE(message.find(file + ": a FIFO, not a regular file"), std::string::npos) << message;
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "nothing was created beside it";
}

TEST_F(OddFileTest, AFifoIsNoSystemDatabaseNorAFileToImportOrMerge) {
  const std::string file = fifo("shared.db");
  for (const std::function<void()>& use : std::vector<std::function<void()>>{
           [&] { Layers::open_system(file); }, [&] { import_file(file, path("tuning.db")); },
           [&] { merge_database_file(file, path("tuning.db")); }}) {
    const std::string message = error_or_blocked(use);
    EXPECT_NE(message.find(file + ": a FIFO, not a regular file"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(path("tuning.db")));
}

TEST_F(OddFileTest, ADeviceIsRefusedAndNothingIsLeftBesideIt) {
  if (geteuid() != 0) GTEST_SKIP() << "making a device node needs root";
  const std::string device = path("null");
  ASSERT_EQ(mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);  // as /dev/null
  for (OpenMode mode : kModes) {
    const std::string message = open_error(device, mode);
    EXPECT_NE(message.find(device + ": a character device, not a regular file"), std::string::npos)
        << message;
  }
  for (const char* suffix : {"-journal", "-wal", "-shm"})
    EXPECT_FALSE(fs::exists(device + suffix)) << suffix;
}

TEST_F(OddFileTest, ALoopOfSymbolicLinksIsNamedWithWhatToDo) {
  fs::create_symlink("b.db", path("a.db"));
  fs::create_symlink("a.db", path("b.db"));
  for (OpenMode mode : kModes) {
    const std::string message = open_error(path("a.db"), mode);
    EXPECT_NE(message.find(path("a.db") + ": a loop of symbolic links"), std::string::npos)
        << message;
    EXPECT_NE(message.find("fix the link"), std::string::npos) << message;
  }
  EXPECT_FALSE(Database::exists(path("missing.db")));
  EXPECT_TRUE(Database::exists(path("a.db"))) << "there is something there to complain about";
}

TEST_F(OddFileTest, ASymbolicLinkToADatabaseIsThatDatabase) {
  store(*open("real.db"), tuning_record(key_on("H100"), "k", 1.0), {ok_row("k", 1.0)});
  fs::create_symlink("real.db", path("link.db"));
  for (OpenMode mode : kModes)
    EXPECT_EQ(Database::open(path("link.db"), mode)->tunings().size(), 1u);
}

TEST_F(OddFileTest, AnEmptyFileIsCalledEmptyWhenItCannotBeSetUp) {
  fixtures::write_text(path("empty.db"), "");
  for (OpenMode mode : {OpenMode::read_only, OpenMode::immutable}) {
    const std::string message = open_error(path("empty.db"), mode);
    EXPECT_NE(message.find("an empty file, not a tuning database yet"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("older"), std::string::npos) << message;
  }
  EXPECT_EQ(fs::file_size(path("empty.db")), 0u);
}

// A database whose table someone dropped, with the schema version of an intact one.
class DamagedSchemaTest : public OddFileTest {
 protected:
  void SetUp() override {
    OddFileTest::SetUp();
    store(*open("tuning.db"), tuning_record(key_on("H100"), "k", 1.0), {ok_row("k", 1.0)});
    sqlite::Connection raw(path("tuning.db"), SQLITE_OPEN_READWRITE);
    raw.execute("DROP TABLE misses");
  }
};

TEST_F(DamagedSchemaTest, ItIsCalledDamagedInEveryModeAndLeftAsItWas) {
  const std::vector<char> before = fixtures::read_bytes(path("tuning.db"));
  for (OpenMode mode : kModes) {
    const std::string message = open_error(path("tuning.db"), mode);
    EXPECT_NE(message.find("the tuning database's tables were changed outside fusetune"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("no such table: misses"), std::string::npos) << message;
    EXPECT_NE(message.find("move it away or restore a backup"), std::string::npos) << message;
    EXPECT_EQ(message.find("INSERT INTO"), std::string::npos) << "no SQL text: " << message;
  }
  EXPECT_EQ(fixtures::read_bytes(path("tuning.db")), before);
}

// SQLite's errors come in words of what happened and what to do, not in SQLite's alone.
TEST_F(OddFileTest, AFullDiskIsSaidPlainlyWithWhatToDo) {
  sqlite::Connection raw(path("small.db"), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  raw.execute("CREATE TABLE t (b BLOB); PRAGMA max_page_count = 4");  // as a disk that is full
  sqlite::Statement insert(raw, "INSERT INTO t VALUES (?1)");
  insert.bind(1, std::vector<char>(64 * 1024, 'x'));
  const std::string message = error_or_blocked([&] { insert.step(); });
  EXPECT_NE(message.find(path("small.db") + ": the disk is full"), std::string::npos) << message;
  EXPECT_NE(message.find("Free some space"), std::string::npos) << message;
}

}  // namespace
}  // namespace fusetune::cache
