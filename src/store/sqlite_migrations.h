#pragma once
// Schema migrations of the SQLite store: numbered, forward-only steps kept in code. PRAGMA user_version
// holds the number of the last step applied; table schema_migrations records when each step ran.
// A released step is never edited: a schema change is a new step appended to the list.
#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"

namespace SQLite {
class Database;
}

namespace talon::store {

/// PRAGMA application_id of a Talon store ("TALN"), so that another application's SQLite file is
/// refused instead of migrated.
inline constexpr int32_t kSqliteApplicationId = 0x54414C4E;

struct SqliteMigration {
  int version;            // user_version once this step is applied: 1, 2, 3, ...
  std::string_view name;  // what the step does, recorded in schema_migrations
  std::string_view sql;   // one or more statements, run in the step's transaction
};

/// Every step, oldest first.
std::span<const SqliteMigration> sqliteMigrations();

/// The version this binary migrates to (the last step's number).
int sqliteSchemaVersion();

/// Brings `db` (open read-write, outside a transaction) up to `targetVersion` (default: the latest,
/// sqliteSchemaVersion(); a lower one only for tests that build an older database): each missing step
/// in its own BEGIN IMMEDIATE transaction that also sets user_version and application_id and records
/// the step in schema_migrations. The version is re-read under the write lock, so two processes
/// opening the same new file do not both migrate it. `nowMs` is recorded as the time applied.
/// Errors: kFailedPrecondition when the database is newer than this binary or has a foreign
/// application_id; kInvalidArgument for a target outside 1..sqliteSchemaVersion(); kIo for database
/// failures.
Status migrateSqliteSchema(SQLite::Database& db, int64_t nowMs, int targetVersion = sqliteSchemaVersion());

}  // namespace talon::store
