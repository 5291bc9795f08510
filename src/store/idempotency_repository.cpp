#include "store/idempotency_repository.h"

#include "store/run_rows.h"
#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

// The literal `<> ''` lets the planner use the partial index runs_by_idempotency_key.
constexpr const char kFindRun[] =
    "SELECT " TALON_RUN_COLUMNS " FROM runs WHERE idempotency_key = ?1 AND idempotency_key <> ''";

}  // namespace

Result<std::optional<RunRecord>> IdempotencyRepository::findRun(const std::string& idempotencyKey) const {
  std::optional<RunRecord> out;
  if (idempotencyKey.empty()) return out;
  auto st = store_->read("finding a run by idempotency key", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kFindRun);
    StatementReset reset(q);
    q.bind(1, idempotencyKey);
    if (!q.executeStep()) return {};
    auto run = readRunRow(q);
    if (!run) return fail(run.error());
    out = std::move(*run);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
