#pragma once
// The audit log: append-only records, each chained to the one before by its hash (issue 6 "Audit").
// The store assigns seq and prevHash inside the append's transaction, so the chain follows the commit
// order exactly, whichever thread or process appended; the hash itself is computed by a function the
// caller passes (security/audit_chain.h owns the encoding), so this layer knows no hash format.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// prevHash of the first record: 64 '0' characters.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record as stored.
struct AuditRecord {
  int64_t seq = 0;     // 1, 2, 3, ... in commit order, no gaps; assigned by append()
  int64_t timeMs = 0;  // when the sink recorded it, ms since the epoch
  std::string kind;    // "auth.connect", "config.write", ... (security/audit_sink.h)
  std::string actor;
  std::string target;
  std::string outcome;             // "allowed" | "denied" | "failed"
  std::string detailsJson = "{}";  // a JSON object, stored and hashed as this exact text
  std::string prevHash;            // the previous record's hash (kAuditGenesisHash for seq 1); assigned by append()
  std::string hash;                // seal(record); assigned by append()
};

/// Computes a record's hash from every field but `hash` (security/audit_chain.h: auditRecordHash).
using AuditSealFn = std::string (*)(const AuditRecord&);

/// The last record of the log.
struct AuditHead {
  int64_t seq = 0;  // also the number of records (seq has no gaps)
  std::string hash;
};

/// Filters of AuditRepository::list(); empty / 0 fields do not filter.
struct AuditQuery {
  int64_t afterSeq = 0;  // records with seq > afterSeq (paging)
  int64_t sinceMs = 0;   // records with timeMs >= sinceMs
  std::string actor;     // exact actor
  std::string kind;      // exact kind, or a prefix ending before a '.': "auth" matches "auth.connect"
  int64_t limit = 0;     // at most this many (0: all)
};

/// Appends and reads of audit records. A view over a Store (cheap to copy; the store must outlive it).
class AuditRepository {
 public:
  explicit AuditRepository(Store& store) : store_(&store) {}

  /// Adds to `batch` the append of `record` (its seq, prevHash and hash are ignored): inside the
  /// transaction the op reads the current head, sets seq = head.seq + 1 and prevHash = head.hash
  /// (kAuditGenesisHash for the first), then hash = seal(record), and inserts it. When `sealed` is not
  /// null it receives the record as written (read it only after a successful commit). Required: kind,
  /// outcome, timeMs ≥ 0, seal (kInvalidArgument).
  static void append(WriteBatch& batch, AuditRecord record, AuditSealFn seal,
                     std::shared_ptr<AuditRecord> sealed = nullptr);

  /// The last record's seq and hash; nullopt for an empty log. Errors: kFailedPrecondition after
  /// Store::close(), kIo for database failures.
  Result<std::optional<AuditHead>> head() const;
  /// Records matching `query`, seq ascending. Errors: as head().
  Result<std::vector<AuditRecord>> list(const AuditQuery& query) const;

 private:
  Store* store_;
};

}  // namespace talon::store
