#pragma once
// Durable state: sessions, append-only transcripts, agent runs, idempotency keys — and any later kind
// of record (audit, devices, cron, health) — behind one Store, the seam between the gateway and its
// database (SQLite embedded by default; PostgreSQL later).
//
// Repositories own the records: each is a view over the Store that reads through Store::read() and
// contributes write operations to a WriteBatch. Writes go through submit(): one writer thread applies
// batches in order, several per transaction, and calls back after the commit is durable against a
// process crash (SQLite WAL). One batch may hold operations of several repositories and is applied
// atomically. Reads may be made from any thread; each sees every committed write.
//
// Adding a kind of record (say audit events): store/audit_repository.h (the records and an
// AuditRepository view constructed from a Store&, with static write functions adding WriteOps to a
// batch), store/audit_repository.cpp (the WriteOps, the SQL, the reads through Store::read() using
// store/sqlite_connection.h) and store/audit_schema.h (the table's SQL), then one entry in the
// migration list of sqlite_migrations.cpp, `SqliteMigration{3, "audit_events", kAuditSchema}`, with
// the include of its schema header. Neither Store, WriteBatch nor the writer changes.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "store/audit_repository.h"
#include "store/channel_pairing_repository.h"
#include "store/cron_repository.h"
#include "store/device_repository.h"
#include "store/function_ref.h"
#include "store/idempotency_repository.h"
#include "store/operator_token_repository.h"
#include "store/outbound_repository.h"
#include "store/run_repository.h"
#include "store/session_repository.h"
#include "store/transcript_repository.h"
#include "store/write_batch.h"

namespace talon::store {

/// A borrowed read connection of the backend, handed to a Store::read() callback. Opaque here: the
/// SQLite backend defines it in store/sqlite_connection.h.
class ReadConnection;

class Store {
 public:
  virtual ~Store() = default;

  /// Queues a batch; `onCommitted` runs on the writer thread once it is committed (or failed, and
  /// then nothing of the batch was applied). Batches are applied in submission order, the operations
  /// of a batch in the order added. Errors: those of the batch's operations (WriteOp::validate() and
  /// apply(): kInvalidArgument, kAlreadyExists, kFailedPrecondition, kIo). After close(),
  /// `onCommitted` runs at once on the caller's thread with kFailedPrecondition. An empty batch
  /// commits nothing and succeeds. Thread-safe; `onCommitted` must not block for long (it holds up
  /// every later commit) and must not call write() or close().
  virtual void submit(WriteBatch batch, std::function<void(Status)> onCommitted) = 0;
  /// submit() and wait for the commit. Errors: as submit(); kFailedPrecondition when called from an
  /// onCommitted callback (it would deadlock).
  virtual Status write(WriteBatch batch) = 0;

  /// For repositories: runs `read` on a read connection borrowed for the call (any thread; it sees
  /// every write whose commit was reported before the call began). Backend exceptions thrown by
  /// `read` become errors naming `what` ("reading a session"). Errors: those of `read`;
  /// kFailedPrecondition after close(); kIo for database failures.
  virtual Status read(std::string_view what, FunctionRef<Status(ReadConnection&)> read) = 0;

  /// The repositories of the core records (views; the store must outlive them). A repository added
  /// later is constructed the same way: `AuditRepository(store)`.
  SessionRepository sessions() { return SessionRepository(*this); }
  TranscriptRepository transcripts() { return TranscriptRepository(*this); }
  RunRepository runs() { return RunRepository(*this); }
  IdempotencyRepository idempotency() { return IdempotencyRepository(*this); }
  DeviceRepository devices() { return DeviceRepository(*this); }
  AuditRepository audit() { return AuditRepository(*this); }
  ChannelPairingRepository channelPairing() { return ChannelPairingRepository(*this); }
  OutboundRepository outbound() { return OutboundRepository(*this); }
  OperatorTokenRepository operatorTokens() { return OperatorTokenRepository(*this); }
  CronRepository cron() { return CronRepository(*this); }

  /// Where the data lives, for status output ("/home/u/.talon/state/talon.sqlite").
  virtual std::string location() const = 0;
  /// Finishes queued writes and stops the writer. Idempotent.
  virtual void close() = 0;
};
using StorePtr = std::unique_ptr<Store>;

}  // namespace talon::store
