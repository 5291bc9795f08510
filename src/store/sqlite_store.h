#pragma once
// The embedded default Store: SQLite 3 in WAL mode, one writer thread batching commits, pooled readers.
//
// Durability: journal_mode=WAL with synchronous=NORMAL. A transaction whose commit was reported (the
// onCommitted callback, or write() returning) is in the WAL file in the OS page cache, so it survives
// a crash of the process (kill -9, abort); it may be lost to a power failure or kernel crash, which
// roll the database back to an earlier consistent state (never a corrupt one). Source: SQLite docs,
// "PRAGMA synchronous" and "Write-Ahead Logging".
//
// Writes: submit() queues a batch; the writer thread takes up to maxBatchesPerCommit queued batches,
// applies them in one transaction (group commit: one WAL append for many agent turns) and then calls
// each batch's callback. When a batch's records make that combined transaction fail (a duplicate, a
// missing session, ...), the batches are applied again one per transaction, so a bad batch fails alone
// and the others commit. A failure that is no batch's fault (kIo: locked by another process past the
// busy timeout, disk full, I/O error) fails every batch of the round at once.
//
// Reads: any thread. A read borrows a read-only connection from a small pool (opened on demand, at most
// kMaxIdleReaders kept idle), so concurrent reads never share a connection and never wait for the
// writer. Each connection caches its prepared statements. close() closes the idle connections; one in
// use by a read at that moment is closed when the read returns it.
//
// The schema is migrated forward on open (sqlite_migrations.h); see there for the tables. Repositories
// reach the connections through store/sqlite_connection.h.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>

#include "store/store.h"

namespace talon::store {

/// What one round of the writer did: for metrics and tests.
struct CommitRound {
  std::size_t batches = 0;                // taken from the queue in this round
  std::size_t failed = 0;                 // of them, how many were reported as failed
  bool fellBack = false;                  // the combined transaction failed; batches were applied one by one
  std::chrono::microseconds duration{0};  // applying and committing, callbacks excluded
};

struct SqliteStoreOptions {
  std::filesystem::path path;  // database file; missing parent folders are created (0700), the file 0600
  /// Most batches merged into one transaction (≥ 1; 1 disables group commit).
  std::size_t maxBatchesPerCommit = 256;
  /// How long a connection waits for a lock held by another process before failing, in ms.
  int busyTimeoutMs = 5000;
  /// Called on the writer thread after each round, before the batches' callbacks. Must not block.
  std::function<void(const CommitRound&)> onCommitRound;
  /// For tests: called with the SQL of each read statement when a read connection first prepares it
  /// (any reading thread; must be thread-safe and not block), so that a test can check the query plan
  /// of every read the repositories make.
  std::function<void(std::string_view sql)> onPrepareRead;
};

/// Most idle read connections kept open by a store.
inline constexpr std::size_t kMaxIdleReaders = 8;

/// Opens (creating and migrating as needed) the database and starts its writer thread. Errors:
/// kInvalidArgument for bad options, kIo when the file cannot be created or opened (or is not an SQLite
/// database), kFailedPrecondition when its schema is newer than this binary knows or it belongs to
/// another application (PRAGMA application_id).
Result<StorePtr> openSqliteStore(const SqliteStoreOptions& options);

}  // namespace talon::store
