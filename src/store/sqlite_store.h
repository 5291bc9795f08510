#pragma once
// The embedded default Store: SQLite 3 in WAL mode (synchronous=NORMAL: a committed transaction
// survives a process crash such as kill -9), one writer thread batching commits, per-thread readers.
#include <filesystem>

#include "store/store.h"

namespace talon::store {

struct SqliteStoreOptions {
  std::filesystem::path path;  // database file; parent folders are created (0700)
  /// Most batches merged into one transaction.
  std::size_t maxBatchesPerCommit = 256;
};

/// Opens (creating and migrating as needed) the database. Errors: kIo when it cannot be opened,
/// kFailedPrecondition when its schema is newer than this binary knows.
Result<StorePtr> openSqliteStore(const SqliteStoreOptions& options);

}  // namespace talon::store
