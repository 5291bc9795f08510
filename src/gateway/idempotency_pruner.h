#pragma once
// Forgets idempotency keys once their TTL has passed (`gateway.idempotency.ttlSeconds`, Talon-only:
// OpenClaw 2026.9.6 keeps its in-memory dedupe entries 5 minutes, dist/server-maintenance-*.mjs
// DEDUPE_TTL_MS, and loses them on restart; Talon keeps them in the store, so a retry after a restart is
// still deduplicated within the TTL). A pass releases, on the store's writer, the keys of runs that
// ended more than the TTL ago (store::IdempotencyRepository::pruneExpired), at most kMaxKeysPerPass at
// a time: one pass when started, then one every kPassIntervalMs; a pass that hit the bound is followed
// by another at once until the backlog is gone. A key is thus forgotten between TTL and TTL +
// kPassIntervalMs after its run ended. A failed pass is logged and retried at the next interval.
#include <cstdint>
#include <memory>
#include <mutex>

#include "base/clock.h"
#include "gateway/executors.h"
#include "store/store.h"

namespace talon::gateway {

class IdempotencyPruner {
 public:
  /// Keys released per pass (one store transaction).
  static constexpr int64_t kMaxKeysPerPass = 500;
  /// Time between passes, ms.
  static constexpr int64_t kPassIntervalMs = 60'000;

  /// `store`, `executors` and `clock` must outlive the pruner; `ttlMs` ≥ 1 (wall ms after a run's end).
  IdempotencyPruner(store::Store& store, Executors executors, ClockPtr clock, int64_t ttlMs);
  ~IdempotencyPruner();
  IdempotencyPruner(const IdempotencyPruner&) = delete;
  IdempotencyPruner& operator=(const IdempotencyPruner&) = delete;

  /// Runs a first pass now (on the writer) and schedules the next ones. Idempotent.
  void start();
  /// Cancels the next pass; a pass already submitted to the store still commits. Idempotent.
  /// Thread-safe.
  void stop();
  /// Keys released since start(). Thread-safe.
  int64_t released() const;
  /// Passes committed (or failed) since start(). Thread-safe.
  int64_t passes() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace talon::gateway
