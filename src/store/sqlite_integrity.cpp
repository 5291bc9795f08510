#include "store/sqlite_integrity.h"

#include <SQLiteCpp/SQLiteCpp.h>

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

}  // namespace talon::store
