#include "cache/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <utility>

#include "fusetune/status.h"

namespace fusetune::cache::sqlite {
namespace {

// What went wrong, for result code `rc` while `doing`, and what to do; `detail` is SQLite's own
// message, kept in parentheses for whoever reports a problem.
std::string error_message(const std::string& path, int rc, std::string_view doing,
                          std::string_view detail) {
  // Reading a database in write-ahead-log mode needs its -shm file, which SQLite must create.
  if (rc == SQLITE_READONLY_DIRECTORY) {
    return fmt::format(
        "{}: cannot read the database while {}: its write-ahead log needs a \"-shm\" file beside "
        "it, which this user may not create in its folder ({}). Run as a user who may write the "
        "folder, or copy the database to a folder of your own",
        path, doing, detail);
  }
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return fmt::format(
          "{}: the tuning database is corrupt ({} while {}). fusetune left it as it was; move it "
          "away or restore a backup, then run again",
          path, detail, doing);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fmt::format(
          "{}: the database stayed locked by another process for {} s while {} ({}); try again "
          "when the other fusetune has finished",
          path, kBusyTimeoutMs / 1000, doing, detail);
    case SQLITE_READONLY:
      return fmt::format("{}: cannot write while {} ({}); open it in read-write mode", path, doing,
                         detail);
    case SQLITE_FULL:
      return fmt::format(
          "{}: the disk is full ({} while {}); nothing of this write was kept. Free some space, "
          "or pass --db with a path on another disk",
          path, detail, doing);
    case SQLITE_IOERR:
    case SQLITE_NOLFS:
      return fmt::format(
          "{}: the file system failed while {} ({}): a disk that is full, failing or gone, or "
          "a network file system. Check it, or pass --db with a path on a local disk",
          path, doing, detail);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return fmt::format(
          "{}: cannot open the file while {} ({}); check that its folder exists and that this "
          "user may read it (and write it, to tune), or pass --db with another path",
          path, doing, detail);
    case SQLITE_PROTOCOL:
      return fmt::format(
          "{}: the file system's locks failed while {} ({}); put the database on a local file "
          "system",
          path, doing, detail);
    case SQLITE_NOMEM:
      return fmt::format("{}: out of memory while {}; free memory and run again", path, doing);
    case SQLITE_SCHEMA:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
      return fmt::format(
          "{}: the database's tables do not hold what fusetune wrote ({} while {}): they were "
          "changed outside fusetune. fusetune left it as it was; move it away or restore a "
          "backup, then run again",
          path, detail, doing);
    default:
      return fmt::format(
          "{}: SQLite failed while {}: {} (result code {}). This is unexpected; please report it "
          "with this message, and meanwhile pass --db with another path",
          path, doing, detail, rc);
  }
}

// A statement's text as messages name it: its start, enough to tell which it is.
std::string sql_head(std::string_view sql) {
  constexpr std::size_t kShown = 48;
  return fmt::format("\"{}{}\"", sql.substr(0, kShown), sql.size() > kShown ? "..." : "");
}

}  // namespace

Connection::Connection(std::string path, int flags, std::string_view uri_query)
    : path_(std::move(path)) {
  std::string name = path_;
  if (!uri_query.empty()) {
    name = "file:";
    for (char c : path_) {
      // The characters a URI's path may not hold as they are (sqlite.org/uri.html).
      if (c == '%' || c == '?' || c == '#')
        name.append(fmt::format("%{:02x}", c));
      else
        name.push_back(c);
    }
    name.append("?").append(uri_query);
    flags |= SQLITE_OPEN_URI;
  }
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(StatusCode::database_error, error_message(path_, rc, "opening", detail));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

Connection::Connection(Connection&& other) noexcept
    : path_(std::move(other.path_)), db_(std::exchange(other.db_, nullptr)) {}

void Connection::execute(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, "running " + sql_head(sql));
}

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }

void Connection::fail(int rc, std::string_view doing) const {
  throw Error(StatusCode::database_error, error_message(path_, rc, doing, sqlite3_errmsg(db_)));
}

Statement::Statement(Connection& connection, const char* sql) : connection_(connection) {
  const char* tail = nullptr;
  int rc =
      sqlite3_prepare_v3(connection_.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, &tail);
  // Our SQL is constant and tested: a table or column it cannot find was changed by someone else.
  if ((rc & 0xff) == SQLITE_ERROR) {
    throw Error(StatusCode::database_error,
                fmt::format("{}: the tuning database's tables were changed outside fusetune ({}). "
                            "fusetune left it as it was; move it away or restore a backup, then "
                            "run again",
                            connection_.path(), sqlite3_errmsg(connection_.handle())));
  }
  if (rc != SQLITE_OK) connection_.fail(rc, "preparing " + sql_head(sql));
  if (stmt_ == nullptr || std::string_view(tail).find_first_not_of(" \t\n;") != std::string::npos) {
    sqlite3_finalize(stmt_);
    throw Error(StatusCode::internal,
                fmt::format("expected exactly one SQL statement in \"{}\" (a fusetune bug)", sql));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc, "binding an integer");
}

void Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) fail(rc, "binding a number");
}

void Statement::bind(int index, std::string_view text) {
  // A null pointer would bind NULL, not the empty string.
  const char* data = text.data() != nullptr ? text.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) fail(rc, "binding text");
}

void Statement::bind(int index, const std::vector<char>& blob) {
  // A null pointer would bind NULL, not an empty blob.
  int rc = blob.empty()
               ? sqlite3_bind_zeroblob(stmt_, index, 0)
               : sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(rc, "binding a blob");
}

void Statement::bind(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(rc, "binding NULL");
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  fail(rc, "running " + sql_head(sqlite3_sql(stmt_)));
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::fail(int rc, std::string_view doing) {
  // Build the message before the reset, which may replace SQLite's error text.
  std::string message =
      error_message(connection_.path(), rc, doing, sqlite3_errmsg(connection_.handle()));
  reset();
  throw Error(StatusCode::database_error, message);
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

int Statement::column_int(int column) const {
  return static_cast<int>(sqlite3_column_int64(stmt_, column));
}

double Statement::column_double(int column) const { return sqlite3_column_double(stmt_, column); }

std::optional<double> Statement::column_optional_double(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_double(column);
}

std::string Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, sqlite3_column_bytes(stmt_, column));
}

std::vector<char> Statement::column_blob(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return {};
  return std::vector<char>(data, data + sqlite3_column_bytes(stmt_, column));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Connection& connection)
    : connection_(connection), nested_(sqlite3_get_autocommit(connection.handle()) == 0) {
  connection_.execute(nested_ ? "SAVEPOINT fusetune_nested" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!open_) return;
  const char* undo = nested_ ? "ROLLBACK TO fusetune_nested; RELEASE fusetune_nested" : "ROLLBACK";
  sqlite3_exec(connection_.handle(), undo, nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  connection_.execute(nested_ ? "RELEASE fusetune_nested" : "COMMIT");
  open_ = false;
}

}  // namespace fusetune::cache::sqlite
