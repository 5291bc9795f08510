#include "store/sqlite_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

namespace talon::store {

Error sqliteError(int code, std::string_view sqliteMessage, std::string_view context) {
  ErrorCode errorCode = ErrorCode::kIo;
  std::string external = "storage failure";
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    errorCode = ErrorCode::kAlreadyExists;
    external = "the record already exists";
  } else if (code == SQLITE_CONSTRAINT_FOREIGNKEY) {
    errorCode = ErrorCode::kFailedPrecondition;
    external = "the session does not exist";
  } else if ((code & 0xff) == SQLITE_CONSTRAINT || (code & 0xff) == SQLITE_TOOBIG) {
    errorCode = ErrorCode::kInvalidArgument;
    external = "the record was refused";
  }
  return Error(errorCode, fmt::format("{}: {} (sqlite {}: {})", context, sqliteMessage, code, sqlite3_errstr(code)),
               std::move(external));
}

void configureSqliteProcess() {
  static const int rc = sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
  if (rc != SQLITE_OK) {
    static std::once_flag logged;
    std::call_once(logged, [] {
      spdlog::debug("store: SQLite was initialized before Talon's settings; its defaults stay (sqlite {}: {})", rc,
                    sqlite3_errstr(rc));
    });
  }
}

Error sqliteError(const SQLite::Exception& e, std::string_view context) {
  int code = e.getExtendedErrorCode() > 0 ? e.getExtendedErrorCode() : SQLITE_ERROR;
  return sqliteError(code, e.what(), context);
}

SQLite::Statement& StatementCache::get(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return *it->second;
  auto statement = std::make_unique<SQLite::Statement>(db_, sql);
  if (onPrepare_) onPrepare_(sql);
  return *statements_.emplace(sql, std::move(statement)).first->second;
}

Status Transaction::run(SQLite::Statement& statement, FunctionRef<std::string()> context) {
  StatementReset reset(statement);
  int rc = statement.tryExecuteStep();
  if (rc == SQLITE_DONE) return {};
  if (rc == SQLITE_ROW) return fail(ErrorCode::kInternal, context() + ": a write statement returned a row");
  return fail(sqliteError(sqlite3_extended_errcode(handle()), sqlite3_errmsg(handle()), context()));
}

namespace {
// Page cache of each read connection, KiB. SQLite's default is 2,000 KiB per connection: with up to
// kMaxIdleReaders readers the caches grew with the database towards ~16 MiB, and in WAL mode a
// reader's cache is mostly emptied anyway whenever the writer committed since its last read (the
// writer, which keeps the default, commits every turn). The file's pages stay in the OS page cache.
constexpr int kReaderCacheKiB = 128;
}  // namespace

ReadConnection::ReadConnection(const std::string& path, int busyTimeoutMs,
                               std::function<void(std::string_view)> onPrepare)
    : db_((configureSqliteProcess(), path),  // settings first: before this process's first open
          SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, busyTimeoutMs),
      statements_(db_, std::move(onPrepare)) {
  db_.exec("PRAGMA cache_size = -" + std::to_string(kReaderCacheKiB));
}

void ReadConnection::exec(const char* sql) {
  SQLite::Statement& s = statements_.get(sql);
  StatementReset reset(s);
  s.exec();
}

namespace {
// Keyed by address in the statement cache: one object each.
constexpr const char kBegin[] = "BEGIN";
constexpr const char kCommit[] = "COMMIT";
}  // namespace

void ReadConnection::begin() { exec(kBegin); }
void ReadConnection::commit() { exec(kCommit); }

void ReadConnection::endTransaction() {
  if (!sqlite3_get_autocommit(db_.getHandle())) db_.tryExec("ROLLBACK");
}

}  // namespace talon::store
