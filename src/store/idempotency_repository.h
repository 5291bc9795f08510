#pragma once
// Idempotency keys: a client's key for a request (chat.send, agent) → the run it started, so that a
// retried request finds the first run instead of starting another (OpenClaw: idempotencyKey).
// A key is claimed by RunRepository::upsert() of a run carrying it (unique across runs); keys are kept
// as long as their run.
#include <optional>
#include <string>

#include "base/error.h"
#include "store/run_repository.h"

namespace talon::store {

class Store;

/// Lookups of idempotency keys. A view over a Store (cheap to copy; the store must outlive it).
class IdempotencyRepository {
 public:
  explicit IdempotencyRepository(Store& store) : store_(&store) {}

  /// The run that claimed `idempotencyKey`; nullopt when none did or the key is empty. Errors:
  /// kFailedPrecondition after Store::close(), kIo for database failures.
  Result<std::optional<RunRecord>> findRun(const std::string& idempotencyKey) const;

 private:
  Store* store_;
};

}  // namespace talon::store
