#include "store/sqlite_integrity.h"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

namespace talon::store {

Result<std::vector<std::string>> checkSqliteIntegrity(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(ErrorCode::kNotFound, "no database at " + path.string());
  try {
    SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "PRAGMA integrity_check(100)");
    std::vector<std::string> problems;
    while (q.executeStep()) {
      std::string line = q.getColumn(0).getString();
      if (line != "ok") problems.push_back(std::move(line));
    }
    return problems;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kIo, "cannot check " + path.string() + ": " + e.what());
  }
}

Status copySqliteDatabase(const std::filesystem::path& from, const std::filesystem::path& to,
                          std::chrono::milliseconds busyTimeout) {
  try {
    SQLite::Database src(from.string(), SQLite::OPEN_READONLY, static_cast<int>(busyTimeout.count()));
    SQLite::Database dst(to.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Backup backup(dst, src);
    if (int rc = backup.executeStep(-1); rc != SQLITE_DONE) {  // BUSY or LOCKED: a writer held it too long
      return fail(ErrorCode::kIo, "cannot copy the database " + from.string() + ": " + sqlite3_errstr(rc));
    }
    dst.exec("PRAGMA journal_mode=DELETE");
    return {};
  } catch (const std::exception& e) {
    return fail(ErrorCode::kIo, "cannot copy the database " + from.string() + " to " + to.string() + ": " + e.what());
  }
}

}  // namespace talon::store
