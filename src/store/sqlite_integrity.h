#pragma once
// SQLite's own consistency check of a database file, for `talon doctor`, and a consistent copy of a live
// database file, for `talon fleet backup`.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"

namespace talon::store {

/// Opens `path` read-only and runs `PRAGMA integrity_check` (https://sqlite.org/pragma.html#pragma_integrity_check):
/// an empty vector when it answers "ok", else its problem lines (at most 100). Errors: kNotFound when
/// the file does not exist; kIo (with the path and SQLite's message) when it cannot be opened or read
/// (e.g. not a database).
Result<std::vector<std::string>> checkSqliteIntegrity(const std::filesystem::path& path);

/// Copies the database at `from` (which may be in use by a running gateway, WAL or not) into a new
/// standalone file `to` with SQLite's online backup API (https://sqlite.org/backup.html) in one step:
/// one read transaction on the source, so the copy is a consistent snapshot. The copy is left in
/// rollback-journal mode (no -wal file to carry along). Waits up to `busyTimeout` for a writer's lock.
/// Blocking. Errors: kIo naming the file and SQLite's message (cannot open, busy, not a database).
Status copySqliteDatabase(const std::filesystem::path& from, const std::filesystem::path& to,
                          std::chrono::milliseconds busyTimeout);

}  // namespace talon::store
