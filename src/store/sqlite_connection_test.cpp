#include "store/sqlite_connection.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace talon::store {
namespace {

namespace fs = std::filesystem;

// Bytes SQLite allocates for a read connection that opens a fresh database file and reads its one table. Runs in a
// fresh process (a death test's child), where `configure` decides whether configureSqliteProcess() precedes SQLite's
// initialization; exits with the bytes ÷ 1,024, capped at 255.
[[noreturn]] void exitWithFirstReadKiB(bool configure) {
  if (configure) configureSqliteProcess();
  std::string pattern = (fs::temp_directory_path() / "talon-sqlite-conn-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::_Exit(254);
  const std::string path = pattern + "/t.db";
  int kib = 255;
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)");
  }
  {
    const sqlite3_int64 before = sqlite3_memory_used();
    ReadConnection reader(path, 1000, {});               // its PRAGMA already reads the schema
    constexpr static char kQuery[] = "SELECT x FROM t";  // reads the schema and the table
    SQLite::Statement& query = reader.statement(kQuery);
    while (query.executeStep()) {
    }
    query.reset();
    kib = static_cast<int>(std::min<sqlite3_int64>((sqlite3_memory_used() - before) / 1024, 255));
  }
  fs::remove_all(pattern);
  std::_Exit(kib);
}

// A connection's first read allocated 20 page slots at once (~86 KiB) before configureSqliteProcess();
// with it, the connection allocates the pages it reads. The unconfigured child shows the test can fail.
TEST(SqliteProcessSettings, AConnectionsFirstReadAllocatesOnlyThePagesItReads) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: SQLite not yet initialized
  EXPECT_EXIT(
      exitWithFirstReadKiB(true), [](int status) { return WIFEXITED(status) && WEXITSTATUS(status) < 40; }, "");
  EXPECT_EXIT(
      exitWithFirstReadKiB(false),
      [](int status) { return WIFEXITED(status) && WEXITSTATUS(status) >= 80 && WEXITSTATUS(status) < 254; }, "");
}

}  // namespace
}  // namespace talon::store
