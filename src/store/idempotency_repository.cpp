#include "store/idempotency_repository.h"

#include "store/run_rows.h"
#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

// The literal `<> ''` lets the planner use the partial index runs_by_idempotency_key.
constexpr const char kFindRun[] =
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE idempotency_key = ?1 AND idempotency_key <> ''";

// Bounded: the rowids of at most ?2 keyed, ended runs, oldest end first (SQLite has no UPDATE … LIMIT
// in its default build).
constexpr const char kReleaseExpired[] =
    "UPDATE runs SET idempotency_key = '' WHERE rowid IN (SELECT rowid FROM runs WHERE idempotency_key <> '' "
    "AND status <> 'running' AND ended_at_ms < ?1 ORDER BY ended_at_ms, rowid LIMIT ?2)";

class ReleaseExpiredKeys final : public WriteOp {
 public:
  ReleaseExpiredKeys(int64_t endedBeforeMs, int64_t maxKeys, std::shared_ptr<int64_t> released)
      : endedBeforeMs_(endedBeforeMs), maxKeys_(maxKeys), released_(std::move(released)) {}

  Status validate() const override {
    if (maxKeys_ < 1) {
      return fail(ErrorCode::kInvalidArgument, "idempotency key pruning with maxKeys < 1", "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kReleaseExpired);
    q.bind(1, endedBeforeMs_);
    q.bind(2, maxKeys_);
    if (auto s = tx.run(q, [] { return std::string("releasing expired idempotency keys"); }); !s) return s;
    if (released_) *released_ = tx.changes();
    return {};
  }

 private:
  int64_t endedBeforeMs_;
  int64_t maxKeys_;
  std::shared_ptr<int64_t> released_;
};

}  // namespace

Result<std::optional<RunRecord>> IdempotencyRepository::findRun(const std::string& idempotencyKey) const {
  if (idempotencyKey.empty()) return std::optional<RunRecord>{};
  return readOneRun(*store_, "finding a run by idempotency key", kFindRun, idempotencyKey);
}

Result<std::optional<RunRecord>> IdempotencyRepository::findRunOrRun(const std::string& idempotencyKey,
                                                                     const std::string& runId) const {
  if (idempotencyKey.empty()) return readOneRun(*store_, "reading a run", kRunByIdSql, runId);
  return readFirstRun(*store_, "finding a run by idempotency key or id",
                      {RunLookup{kFindRun, idempotencyKey}, RunLookup{kRunByIdSql, runId}});
}

void IdempotencyRepository::pruneExpired(WriteBatch& batch, int64_t endedBeforeMs, int64_t maxKeys,
                                         std::shared_ptr<int64_t> released) {
  batch.emplace<ReleaseExpiredKeys>(endedBeforeMs, maxKeys, std::move(released));
}

}  // namespace talon::store
