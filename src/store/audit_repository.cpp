#include "store/audit_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_AUDIT_COLUMNS "seq, time_ms, kind, actor, target, outcome, details_json, prev_hash, hash"

constexpr const char kHead[] = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
constexpr const char kInsert[] =
    "INSERT INTO audit_events (" TALON_AUDIT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
// ?5 = -1 means no limit (SQLite: a negative LIMIT is none).
constexpr const char kList[] = "SELECT " TALON_AUDIT_COLUMNS
                               " FROM audit_events WHERE seq > ?1 AND time_ms >= ?2 AND (?3 = '' OR actor = ?3) "
                               "AND (?4 = '' OR kind = ?4 OR substr(kind, 1, length(?4) + 1) = ?4 || '.') "
                               "ORDER BY seq LIMIT ?5";

class AppendAuditRecord final : public WriteOp {
 public:
  AppendAuditRecord(AuditRecord record, AuditSealFn seal, std::shared_ptr<AuditRecord> sealed)
      : r_(std::move(record)), seal_(seal), sealed_(std::move(sealed)) {}

  Status validate() const override {
    if (r_.kind.empty()) return fail(ErrorCode::kInvalidArgument, "audit record without kind", "invalid record");
    if (r_.outcome.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("audit record {} without outcome", r_.kind),
                  "invalid record");
    }
    if (r_.timeMs < 0) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("audit record {}: negative time", r_.kind),
                  "invalid record");
    }
    if (seal_ == nullptr) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("audit record {} without a seal function", r_.kind),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    // The record is re-sealed on every apply: a group commit that fell back applies it again, after
    // other batches may have moved the head.
    AuditRecord r = r_;
    {
      SQLite::Statement& head = tx.statement(kHead);
      StatementReset reset(head);
      if (head.executeStep()) {
        r.seq = head.getColumn(0).getInt64() + 1;
        r.prevHash = head.getColumn(1).getString();
      } else {
        r.seq = 1;
        r.prevHash = std::string(kAuditGenesisHash);
      }
    }
    r.hash = seal_(r);
    SQLite::Statement& q = tx.statement(kInsert);
    q.bind(1, r.seq);
    q.bind(2, r.timeMs);
    q.bindNoCopy(3, r.kind);
    q.bindNoCopy(4, r.actor);
    q.bindNoCopy(5, r.target);
    q.bindNoCopy(6, r.outcome);
    q.bindNoCopy(7, r.detailsJson);
    q.bindNoCopy(8, r.prevHash);
    q.bindNoCopy(9, r.hash);
    if (auto st = tx.run(q, [&] { return fmt::format("audit record {} ({})", r.seq, r.kind); }); !st) return st;
    if (sealed_) *sealed_ = std::move(r);
    return {};
  }

 private:
  AuditRecord r_;
  AuditSealFn seal_;
  std::shared_ptr<AuditRecord> sealed_;
};

}  // namespace

void AuditRepository::append(WriteBatch& batch, AuditRecord record, AuditSealFn seal,
                             std::shared_ptr<AuditRecord> sealed) {
  batch.emplace<AppendAuditRecord>(std::move(record), seal, std::move(sealed));
}

Result<std::optional<AuditHead>> AuditRepository::head() const {
  std::optional<AuditHead> out;
  auto st = store_->read("reading the audit head", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kHead);
    StatementReset reset(q);
    if (q.executeStep()) out = AuditHead{q.getColumn(0).getInt64(), q.getColumn(1).getString()};
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<AuditRecord>> AuditRepository::list(const AuditQuery& query) const {
  std::vector<AuditRecord> out;
  auto st = store_->read("listing audit records", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kList);
    StatementReset reset(q);
    q.bind(1, query.afterSeq);
    q.bind(2, query.sinceMs);
    q.bind(3, query.actor);
    q.bind(4, query.kind);
    q.bind(5, query.limit > 0 ? query.limit : int64_t{-1});
    while (q.executeStep()) {
      AuditRecord r;
      r.seq = q.getColumn(0).getInt64();
      r.timeMs = q.getColumn(1).getInt64();
      r.kind = q.getColumn(2).getString();
      r.actor = q.getColumn(3).getString();
      r.target = q.getColumn(4).getString();
      r.outcome = q.getColumn(5).getString();
      r.detailsJson = q.getColumn(6).getString();
      r.prevHash = q.getColumn(7).getString();
      r.hash = q.getColumn(8).getString();
      out.push_back(std::move(r));
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
