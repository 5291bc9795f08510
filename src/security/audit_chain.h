#pragma once
// The tamper-evident audit log (issue 6 "Audit"): each record of the store's audit_events carries the
// SHA-256 of a canonical encoding of itself, which includes the previous record's hash, so editing,
// deleting, inserting or reordering a record breaks the chain at that record. A checkpoint (head hash,
// record count, time) written periodically to a separate file makes truncation of the tail detectable
// too. ChainedAuditSink is the durable AuditSink; verifyAuditChain() checks a store against a
// checkpoint and names the first bad record.
//
// Record encoding, version 1 (the exact bytes hashed):
//
//   "talon.audit.v1\n"
//   then, for each field in this order — seq, timeMs, kind, actor, target, outcome, detailsJson,
//   prevHash — the line  <N>:<value>\n  where <value> is the field's bytes (seq and timeMs in decimal
//   ASCII, a '-' before a negative number; the strings as stored, UTF-8, detailsJson being the stored
//   JSON text verbatim) and <N> is the number of bytes of <value> in decimal ASCII.
//
//   hash = lower-case hex of SHA-256(encoding); prevHash of record 1 is 64 '0's.
//
// Example: record 1 {timeMs 5, kind "k", actor "", target "", outcome "allowed", detailsJson "{}"} is
// encoded as "talon.audit.v1\n1:1\n1:5\n1:k\n0:\n0:\n7:allowed\n2:{}\n64:000…000\n".
//
// What the chain does not do: it has no secret key, so someone who can write the database AND the
// checkpoint file can rewrite the whole history consistently. Exporting the log (`talon audit
// export`) or the checkpoint to another system is what anchors it.
#include <atomic>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "security/audit_sink.h"
#include "store/audit_repository.h"

namespace talon::store {
class Store;
}

namespace talon::security {

/// The version-1 encoding of `record` described above (every field but `hash`).
std::string auditRecordEncoding(const store::AuditRecord& record);
/// Lower-case hex SHA-256 of auditRecordEncoding(record). Matches store::AuditSealFn.
std::string auditRecordHash(const store::AuditRecord& record);

/// A record as JSON for `talon audit list --json` and `export`: {seq, time (ISO 8601 UTC), timeMs, kind,
/// actor, target, outcome, details (the parsed object; the hash covers its stored text), prevHash, hash}.
boost::json::object auditRecordToJson(const store::AuditRecord& record);

/// The state of the log at a moment, kept outside the database.
struct AuditCheckpoint {
  int64_t count = 0;     // records in the log (= the head's seq)
  std::string headHash;  // hash of record `count` (kAuditGenesisHash when count is 0)
  int64_t timeMs = 0;    // when it was written
};

/// <stateDir>/audit.checkpoint.
std::filesystem::path auditCheckpointPath(const std::filesystem::path& stateDir);
/// Reads a checkpoint file: JSON {"version":1,"count":N,"headHash":"…","timeMs":T}. nullopt when the
/// file does not exist. Errors: kInvalidArgument for a malformed file (named), kIo when unreadable.
Result<std::optional<AuditCheckpoint>> readAuditCheckpoint(const std::filesystem::path& path);
/// Writes a checkpoint file atomically and durably (temp file, fsync, rename), mode 0600. Errors: kIo.
Status writeAuditCheckpoint(const std::filesystem::path& path, const AuditCheckpoint& checkpoint);

/// What verifyAuditChain() found.
struct AuditVerifyReport {
  bool ok = true;
  int64_t records = 0;   // records read
  std::string headHash;  // hash of the last record read (kAuditGenesisHash for an empty log)
  /// When !ok: the first bad record's seq, a stable problem id and a sentence saying why.
  /// Problems: "missing" (a seq is absent: deleted), "chain-broken" (prevHash is not the previous
  /// record's hash: a record before it was removed, inserted or moved), "hash-mismatch" (the record's
  /// content does not match its hash: edited, or forged), "truncated" (fewer records than the
  /// checkpoint counted), "checkpoint-mismatch" (the record at the checkpoint's count has another hash:
  /// the log was rewritten).
  std::optional<int64_t> badSeq;
  std::string problem;
  std::string message;
  std::optional<AuditCheckpoint> checkpoint;  // the checkpoint compared against, if any
  std::vector<std::string> warnings;          // e.g. no checkpoint to detect truncation with
};

/// Reads every record of `store` in seq order (in pages; memory stays bounded) and checks seq
/// continuity from 1, each prevHash against the previous hash, each hash against the encoding, and the
/// log against `checkpoint` (when given). Stops at the first bad record. Errors (not findings): kIo /
/// kFailedPrecondition from the store.
Result<AuditVerifyReport> verifyAuditChain(store::Store& store, const std::optional<AuditCheckpoint>& checkpoint);

/// The report as JSON for `talon audit verify --json`: {ok, records, headHash, badSeq?, problem?,
/// message?, checkpoint?{count, headHash, timeMs}, warnings[]}.
boost::json::object auditVerifyReportToJson(const AuditVerifyReport& report);

struct ChainedAuditSinkOptions {
  /// Where writeCheckpoint() writes (auditCheckpointPath(stateDir)); empty: no checkpoints.
  std::filesystem::path checkpointPath;
  /// Stamps each record's time (null: the system clock).
  ClockPtr clock;
  /// Also writes each event as a log line (as LogAuditSink does).
  bool logLines = true;
};

/// The durable AuditSink: each record() becomes one append to the store's audit log through its
/// single writer (Store::submit: queued, never waits on the writer nor the network). Thread-safe.
class ChainedAuditSink final : public AuditSink {
 public:
  /// Checks that the log still extends the checkpoint file when there is one (see writeCheckpoint()):
  /// a mismatch is logged as an error and counted, not fatal, so that the gateway still starts and
  /// records; `talon audit verify` names the record. Errors: kInvalidArgument for a malformed
  /// checkpoint file; store errors.
  static Result<std::shared_ptr<ChainedAuditSink>> create(store::Store& store, ChainedAuditSinkOptions options);

  /// Queues the append of `event`, stamped with the clock's time. A failed append is logged (error) and
  /// counted in failures(); the event is then lost from the chain but still in the log lines.
  void record(AuditEvent event) override;

  /// Waits until every event recorded before the call is committed (or failed). Not from a store
  /// callback. Errors: as Store::write().
  Status flush();
  /// Writes the checkpoint file from the committed head, after checking that the log extends the
  /// previous checkpoint (at least as many records, and the record at its count has its hash): a log
  /// that does not is never blessed by a new checkpoint (kFailedPrecondition; the old file stays, so
  /// verify still names the damage). Does nothing without a checkpointPath or when nothing was
  /// committed since the last checkpoint. Thread-safe (serialised); blocks on a store read and an
  /// fsync, so call it on a worker thread. Errors: kFailedPrecondition as above, kIo, store errors.
  Status writeCheckpoint();
  /// Appends whose commit failed since creation.
  int64_t failures() const { return failures_.load(); }

 private:
  ChainedAuditSink(store::Store& store, ChainedAuditSinkOptions options);

  store::Store& store_;
  const ChainedAuditSinkOptions options_;
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> committedSinceCheckpoint_{1};  // 1: write the first checkpoint even when idle
  std::mutex checkpointMu_;                           // serialises writeCheckpoint()
};

}  // namespace talon::security
