#pragma once
// Schema migrations of the SQLite store: numbered, forward-only steps kept in code. Table
// schema_migrations records which steps ran and when; PRAGMA user_version holds the highest applied.
// A released step is never edited: a schema change is a new step with a higher number. Numbers increase
// along the list but may leave gaps (a number reserved by work not merged yet): a step is applied when
// schema_migrations does not record it, so a step merged later with a lower number than one already
// applied is still applied (steps are independent tables or columns).
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
/// sqliteSchemaVersion(); a lower one only for tests that build an older database): each step up to it
/// that schema_migrations does not record, in list order, in its own BEGIN IMMEDIATE transaction that
/// also raises user_version, sets application_id and records the step. What is applied is re-read under
/// the write lock, so two processes opening the same new file do not both migrate it. `nowMs` is recorded as the time
/// applied. Errors: kFailedPrecondition when the database is newer than this binary or has a foreign application_id;
/// kInvalidArgument for a target outside 1..sqliteSchemaVersion(); kIo for database failures.
Status migrateSqliteSchema(SQLite::Database& db, int64_t nowMs, int targetVersion = sqliteSchemaVersion());

}  // namespace talon::store
