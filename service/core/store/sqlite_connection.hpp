// A thin RAII layer over SQLite's C API: one connection, prepared statements, errors as exceptions.
// Used only by the store thread of the SQLite repository.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace offload::core {

/// A failed SQLite call: the extended result code and SQLite's message.
class sqlite_error : public std::runtime_error {
 public:
  sqlite_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  /// The extended result code (`SQLITE_FULL`, `SQLITE_CONSTRAINT_UNIQUE`, …).
  int code() const noexcept { return code_; }
  /// The primary result code.
  int primary() const noexcept { return code_ & 0xff; }
  /// Whether the failure concerns one statement only (a constraint), not the database or the disk.
  bool statement_only() const noexcept;

 private:
  int code_;
};

/// A prepared statement. Bind parameters (1-based), `step` through rows, read columns (0-based).
class sqlite_statement {
 public:
  sqlite_statement(sqlite3* db, std::string_view sql);
  ~sqlite_statement();
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  sqlite_statement& bind(int index, std::int64_t value);
  sqlite_statement& bind(int index, std::string_view text);
  sqlite_statement& bind_null(int index);
  sqlite_statement& bind(int index, const std::optional<std::int64_t>& value);
  sqlite_statement& bind(int index, const std::optional<std::string>& text);

  /// Runs to the next row: true when a row is ready, false when done (the statement is then reset and can
  /// run again; a caller that stops before the end calls `reset`).
  bool step();
  /// Runs a statement that returns no rows.
  void run();
  /// Ready for new bindings (done automatically before the first bind after a completed run).
  void reset() noexcept;

  bool is_null(int column) const noexcept;
  std::int64_t int64(int column) const noexcept;
  std::optional<std::int64_t> optional_int64(int column) const noexcept;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// One open database.
class sqlite_connection {
 public:
  /// Opens (or creates) `path` read-write. Throws `sqlite_error`.
  explicit sqlite_connection(const std::string& path);
  ~sqlite_connection();
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;

  /// Runs one or more statements that return nothing.
  void exec(const char* sql);
  /// A statement prepared once per connection and reused (`sql` must be a string literal).
  sqlite_statement& prepared(const char* sql);
  /// An integer from a one-row, one-column query (a PRAGMA, a count).
  std::int64_t query_int(const char* sql);

  sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, std::unique_ptr<sqlite_statement>> statements_;
};

/// Throws `sqlite_error` for `rc` unless it is SQLITE_OK, SQLITE_ROW or SQLITE_DONE.
void check_sqlite(sqlite3* db, int rc, std::string_view doing);

}  // namespace offload::core
