// SQLite C API wrappers.
#include "core/store/sqlite_connection.hpp"

#include <sqlite3.h>

namespace offload::core {

bool sqlite_error::statement_only() const noexcept {
  return primary() == SQLITE_CONSTRAINT || primary() == SQLITE_TOOBIG || primary() == SQLITE_MISMATCH ||
         primary() == SQLITE_RANGE;
}

void check_sqlite(sqlite3* db, int rc, std::string_view doing) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  const int extended = db ? sqlite3_extended_errcode(db) : rc;
  std::string what{doing};
  what += ": ";
  what += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw sqlite_error{extended != 0 ? extended : rc, what};
}

sqlite_statement::sqlite_statement(sqlite3* db, std::string_view sql) : db_(db) {
  check_sqlite(db_,
               sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                  &stmt_, nullptr),
               "prepare");
}

sqlite_statement::~sqlite_statement() {
  sqlite3_finalize(stmt_);
}

sqlite_statement& sqlite_statement::bind(int index, std::int64_t value) {
  check_sqlite(db_, sqlite3_bind_int64(stmt_, index, value), "bind");
  return *this;
}

sqlite_statement& sqlite_statement::bind(int index, std::string_view text) {
  check_sqlite(db_,
               sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               "bind");
  return *this;
}

sqlite_statement& sqlite_statement::bind_null(int index) {
  check_sqlite(db_, sqlite3_bind_null(stmt_, index), "bind");
  return *this;
}

sqlite_statement& sqlite_statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

sqlite_statement& sqlite_statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view{*text}) : bind_null(index);
}

bool sqlite_statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt_);
    return false;
  }
  // The statement must be reset before it can run again, whatever happened.
  const int extended = sqlite3_extended_errcode(db_);
  std::string what = std::string{"step: "} + sqlite3_errmsg(db_);
  reset();
  throw sqlite_error{extended != 0 ? extended : rc, what};
}

void sqlite_statement::run() {
  while (step()) {
  }
}

void sqlite_statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool sqlite_statement::is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t sqlite_statement::int64(int column) const noexcept {
  return sqlite3_column_int64(stmt_, column);
}

std::optional<std::int64_t> sqlite_statement::optional_int64(int column) const noexcept {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::string sqlite_statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data ? std::string{data, static_cast<std::size_t>(size)} : std::string{};
}

std::optional<std::string> sqlite_statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

sqlite_connection::sqlite_connection(const std::string& path) {
  // No memory statistics (nothing here reads them): with them on, every allocation SQLite makes takes a
  // process-wide mutex. A global setting, only accepted before SQLite initialises: the first connection of
  // the process makes it (a later call would be refused, harmlessly).
  static const bool no_memory_statistics [[maybe_unused]] =
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  // NOMUTEX: one thread owns the connection. SQLite opens its files with O_CLOEXEC.
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw sqlite_error{rc, what};
  }
  sqlite3_extended_result_codes(db_, 1);
}

sqlite_connection::~sqlite_connection() {
  statements_.clear();
  sqlite3_close_v2(db_);
}

void sqlite_connection::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = std::string{"exec: "} + (message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    throw sqlite_error{sqlite3_extended_errcode(db_), what};
  }
}

sqlite_statement& sqlite_connection::prepared(const char* sql) {
  auto& slot = statements_[sql];
  if (!slot) slot = std::make_unique<sqlite_statement>(db_, sql);
  return *slot;
}

std::int64_t sqlite_connection::query_int(const char* sql) {
  sqlite_statement statement{db_, sql};
  const std::int64_t value = statement.step() ? statement.int64(0) : 0;
  statement.reset();
  return value;
}

}  // namespace offload::core
