#pragma once
// Idempotency keys: a client's key for a request (chat.send, agent) → the run it started, so that a
// retried request finds the first run instead of starting another (OpenClaw: idempotencyKey).
// A key is claimed by RunRepository::upsert() of a run carrying it (unique across runs). It is kept
// until pruneExpired() clears it from its ended run (the gateway does that once the key's TTL,
// `gateway.idempotency.ttlSeconds`, has passed); the run itself stays in the ledger.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "store/run_repository.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// Lookups of idempotency keys. A view over a Store (cheap to copy; the store must outlive it).
class IdempotencyRepository {
 public:
  explicit IdempotencyRepository(Store& store) : store_(&store) {}

  /// The run that claimed `idempotencyKey`; nullopt when none did or the key is empty. Errors:
  /// kFailedPrecondition after Store::close(), kIo for database failures.
  Result<std::optional<RunRecord>> findRun(const std::string& idempotencyKey) const;
  /// findRun(idempotencyKey), else the run whose id is `runId` (RunRepository::get), in one read: a
  /// key that chat.send and agent also use as the run id stays that run's id after pruneExpired()
  /// released it. Errors: as findRun().
  Result<std::optional<RunRecord>> findRunOrRun(const std::string& idempotencyKey, const std::string& runId) const;

  /// Adds to `batch` the release of the idempotency keys of runs that ended (any status but running)
  /// before `endedBeforeMs` (epoch ms): at most `maxKeys` (≥ 1) of them, oldest end first, so one pass
  /// does bounded work. A released key is free for a new run; the run record keeps everything else.
  /// A run still running keeps its key whatever its age. When `released` is set, the number of keys
  /// released is stored there on the writer thread before the batch's onCommitted runs (and left
  /// unchanged when the batch fails). Errors (of the batch): kInvalidArgument for maxKeys < 1; kIo.
  static void pruneExpired(WriteBatch& batch, int64_t endedBeforeMs, int64_t maxKeys,
                           std::shared_ptr<int64_t> released = nullptr);

 private:
  Store* store_;
};

}  // namespace talon::store
