// A thin RAII layer over the SQLite C API: a connection, prepared statements with bound values,
// and an IMMEDIATE transaction guard. Every failure throws fusetune::Error (database_error) with
// SQLite's message and the database's path; SQLITE_CORRUPT and SQLITE_NOTADB say that the file is
// corrupt and was left as it was.
//
// SQL text is always a constant of the program; values travel only through bind().
//
// Thread safety: none of these types may be used by two threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace fusetune::cache::sqlite {

// How long a statement waits for another connection's lock before it fails with SQLITE_BUSY.
inline constexpr int kBusyTimeoutMs = 30'000;

// An open database handle; owns the sqlite3*. Destroy its statements first (declare them after
// the Connection they use): a handle with live statements stays open until they are finalized.
class Connection {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_READONLY, SQLITE_OPEN_READWRITE |
  // SQLITE_OPEN_CREATE, ...) and sets the busy timeout. Throws on failure. `uri_query`, when not
  // empty, is passed as a URI's query ("immutable=1"); messages still name `path`.
  Connection(std::string path, int flags, std::string_view uri_query = {});
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs constant SQL text, possibly several statements (a schema, a PRAGMA), discarding rows.
  void execute(const char* sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

  // Throws the Error for SQLite result code `rc`, raised while `doing` ("preparing ...").
  [[noreturn]] void fail(int rc, std::string_view doing) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A statement prepared once and run many times: bind, step through the rows, reset.
class Statement {
 public:
  // Prepares one statement of constant SQL text. Throws on a syntax error or a second statement.
  Statement(Connection& connection, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds parameter `index` (1-based, as ?1, ?2, ...). Text and blobs are copied.
  void bind(int index, std::int64_t value);
  void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
  void bind(int index, double value);
  void bind(int index, std::string_view text);
  void bind(int index, const std::vector<char>& blob);
  void bind(int index, std::nullopt_t);
  template <class T>
  void bind(int index, const std::optional<T>& value) {
    if (value) {
      bind(index, *value);
    } else {
      bind(index, std::nullopt);
    }
  }

  // Runs the statement to its next row: true when a row is there to read, false when done (the
  // statement is then reset). Throws on failure, after resetting.
  bool step();
  // Makes the statement ready to run again and clears its bindings. A statement left unfinished
  // keeps a read snapshot open, so call this after reading the rows you need.
  void reset() noexcept;

  // Column getters for the current row; `column` is 0-based. NULL reads as 0, "" or no bytes.
  std::int64_t column_int64(int column) const;
  int column_int(int column) const;
  double column_double(int column) const;
  std::optional<double> column_optional_double(int column) const;
  std::string column_text(int column) const;
  std::vector<char> column_blob(int column) const;
  bool column_is_null(int column) const;

 private:
  [[noreturn]] void fail(int rc, std::string_view doing);

  Connection& connection_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (waiting up to the busy timeout for the write lock), COMMIT on
// commit(), ROLLBACK on destruction if not committed. Inside another transaction it is a
// savepoint instead, so that writes which are each atomic can also be grouped into one: commit()
// keeps its changes for the outer transaction to commit, destruction without it undoes them.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
  bool nested_ = false;
  bool open_ = true;
};

}  // namespace fusetune::cache::sqlite
