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
  if (idempotencyKey.empty()) return std::optional<RunRecord>{};
  return readOneRun(*store_, "finding a run by idempotency key", kFindRun, idempotencyKey);
}

}  // namespace talon::store
