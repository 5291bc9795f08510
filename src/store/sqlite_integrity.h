#pragma once
// SQLite's own consistency check of a database file, for `talon doctor`.
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

}  // namespace talon::store
