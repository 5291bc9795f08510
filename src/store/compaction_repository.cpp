#include "store/compaction_repository.h"

#include <fmt/format.h>

#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

constexpr const char kInsert[] =
    "INSERT INTO session_compactions (session_key, id, first_kept_seq, summary, reason, run_id, model, "
    "tokens_before, tokens_after, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char kLatest[] =
    "SELECT session_key, id, first_kept_seq, summary, reason, run_id, model, tokens_before, tokens_after, "
    "created_at_ms FROM session_compactions WHERE session_key = ?1 ORDER BY id DESC LIMIT 1";
constexpr const char kCount[] = "SELECT MAX(id) FROM session_compactions WHERE session_key = ?1";

class AppendCompaction final : public WriteOp {
 public:
  explicit AppendCompaction(CompactionRecord record) : r_(std::move(record)) {}

  Status validate() const override {
    if (r_.sessionKey.empty() || r_.summary.empty() || r_.reason.empty() || r_.id < 1 || r_.firstKeptSeq < 1) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("compaction {}#{}: sessionKey, summary and reason are required, id and "
                              "firstKeptSeq must be ≥ 1",
                              r_.sessionKey, r_.id),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& insert = tx.statement(kInsert);
    insert.bindNoCopy(1, r_.sessionKey);
    insert.bind(2, r_.id);
    insert.bind(3, r_.firstKeptSeq);
    insert.bindNoCopy(4, r_.summary);
    insert.bindNoCopy(5, r_.reason);
    insert.bindNoCopy(6, r_.runId);
    insert.bindNoCopy(7, r_.model);
    insert.bind(8, r_.tokensBefore);
    insert.bind(9, r_.tokensAfter);
    insert.bind(10, r_.createdAtMs);
    return tx.run(insert, [&] { return fmt::format("compaction {}#{}", r_.sessionKey, r_.id); });
  }

 private:
  CompactionRecord r_;
};

}  // namespace

void CompactionRepository::append(WriteBatch& batch, CompactionRecord record) {
  batch.emplace<AppendCompaction>(std::move(record));
}

Result<std::optional<CompactionRecord>> CompactionRepository::latest(const std::string& sessionKey) const {
  std::optional<CompactionRecord> out;
  auto st = store_->read("reading a session's compaction", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kLatest);
    StatementReset reset(q);
    q.bind(1, sessionKey);
    if (q.executeStep()) {
      CompactionRecord r;
      r.sessionKey = q.getColumn(0).getString();
      r.id = q.getColumn(1).getInt64();
      r.firstKeptSeq = q.getColumn(2).getInt64();
      r.summary = q.getColumn(3).getString();
      r.reason = q.getColumn(4).getString();
      r.runId = q.getColumn(5).getString();
      r.model = q.getColumn(6).getString();
      r.tokensBefore = q.getColumn(7).getInt64();
      r.tokensAfter = q.getColumn(8).getInt64();
      r.createdAtMs = q.getColumn(9).getInt64();
      out = std::move(r);
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::map<std::string, int64_t>> CompactionRepository::counts(const std::vector<std::string>& sessionKeys) const {
  std::map<std::string, int64_t> out;
  auto st = store_->read("reading sessions' compaction counts", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kCount);
    for (const auto& key : sessionKeys) {
      StatementReset reset(q);
      q.bind(1, key);
      if (q.executeStep() && !q.getColumn(0).isNull()) out[key] = q.getColumn(0).getInt64();
    }
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
