#pragma once
// The SQLite backend's Transaction and ReadConnection (opaque in store.h and write_batch.h), for the
// repositories' implementations: prepared statements cached per connection, and the one mapping of
// SQLite result codes to Talon errors. Internal to src/store: includes SQLiteCpp and sqlite3.h.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.h"
#include "store/function_ref.h"

namespace talon::store {

/// The one mapping from SQLite result codes (extended) to Talon errors: a unique or primary key
/// constraint → kAlreadyExists, a foreign key → kFailedPrecondition, another constraint or a value too
/// big → kInvalidArgument, anything else → kIo. `context` names what was being done.
Error sqliteError(int code, std::string_view sqliteMessage, std::string_view context);
/// The same for an exception thrown by SQLiteCpp.
Error sqliteError(const SQLite::Exception& e, std::string_view context);

/// Process-wide SQLite settings, applied once before the first connection opens (sqlite3_config must
/// precede sqlite3_initialize; https://sqlite.org/c3ref/config.html). Today one: no initial bulk
/// allocation of page-cache slots per connection (SQLITE_CONFIG_PAGECACHE with N = 0; by default each
/// connection allocates and writes 20 page slots, ~86 KiB, at its first page read), so a connection's
/// cache memory is what it caches. Thread-safe; a no-op after the first call, and when SQLite was
/// already initialized (logged at debug level).
void configureSqliteProcess();

/// Resets a statement when its user is done with it (also on an exception), so it holds no read
/// transaction open and can be bound afresh.
class StatementReset {
 public:
  explicit StatementReset(SQLite::Statement& statement) : statement_(statement) {}
  ~StatementReset() { statement_.tryReset(); }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  SQLite::Statement& statement_;
};

/// Prepared statements of one connection, prepared on first use and keyed by the address of their SQL
/// text, which must therefore have static storage (a string literal or a constexpr constant).
class StatementCache {
 public:
  /// `onPrepare` (may be empty) is called with the SQL of each statement when first prepared.
  StatementCache(SQLite::Database& db, std::function<void(std::string_view)> onPrepare = {})
      : db_(db), onPrepare_(std::move(onPrepare)) {}
  /// The prepared statement of `sql`. Throws SQLite::Exception when it does not compile.
  SQLite::Statement& get(const char* sql);

 private:
  SQLite::Database& db_;
  std::function<void(std::string_view)> onPrepare_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
};

/// The writer's connection inside an open transaction (BEGIN IMMEDIATE ... COMMIT, run by the store).
/// Used by WriteOp::apply() on the writer thread only.
class Transaction {
 public:
  explicit Transaction(SQLite::Database& db) : db_(db), statements_(db) {}

  /// The cached statement of `sql` (static storage). Throws SQLite::Exception when it does not compile.
  SQLite::Statement& statement(const char* sql) { return statements_.get(sql); }
  /// Steps a statement that returns no row and resets it. `context` is called only on failure, for the
  /// error's message ("transcript entry agent:main:main#3"). Errors: sqliteError()'s mapping.
  Status run(SQLite::Statement& statement, FunctionRef<std::string()> context);
  /// Rows changed by the last statement run.
  int64_t changes() const { return sqlite3_changes64(db_.getHandle()); }
  sqlite3* handle() const { return db_.getHandle(); }

 private:
  SQLite::Database& db_;
  StatementCache statements_;
};

/// One pooled read-only connection. Used by one Store::read() callback at a time.
class ReadConnection {
 public:
  ReadConnection(const std::string& path, int busyTimeoutMs, std::function<void(std::string_view)> onPrepare);

  /// The cached statement of `sql` (static storage). Throws SQLite::Exception.
  SQLite::Statement& statement(const char* sql) { return statements_.get(sql); }
  /// Opens a read transaction, so that several statements read one snapshot; end it with commit().
  /// Throws SQLite::Exception.
  void begin();
  void commit();
  /// Ends a transaction a failed read left open, so that the connection can be reused.
  void endTransaction();

 private:
  void exec(const char* sql);

  SQLite::Database db_;
  StatementCache statements_;
};

}  // namespace talon::store
