#pragma once
// A Store decorator that makes failed writes visible (issue "No silent failures", fault matrix: "a full
// disk under the state dir — reported, writes refused cleanly, service resumes when space returns").
// It forwards every call to the store it wraps and watches the outcome of each write batch:
//  - health record `store`/`writes` (critical): failed from the first batch that fails with kIo (a full
//    disk: "database or disk is full", a read-only or vanished file), ok again at the next committed
//    batch; the detail is the failure's public text;
//  - talon_store_write_failures_total: every batch that failed with kIo;
//  - one log line when writes start failing and one when they recover (not one per failed batch).
// Batches refused for the caller's own reasons (kInvalidArgument, kAlreadyExists, kNotFound,
// kFailedPrecondition) say nothing about the store and are not counted.
#include <atomic>
#include <memory>

#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "store/store.h"

namespace talon::gateway::health {

class StoreWriteMonitor final : public store::Store {
 public:
  /// Wraps `inner` (not null). Reports nothing until attach().
  explicit StoreWriteMonitor(store::StorePtr inner);

  /// Starts reporting to `registry` (sets `store`/`writes` ok) and `metrics` (registers
  /// talon_store_write_failures_total). Both must outlive this store. Call once, before the gateway
  /// serves; batches committed before it are not reported. Errors: those of MetricsRegistry::add.
  Status attach(HealthRegistry& registry, MetricsRegistry& metrics);

  void submit(store::WriteBatch batch, std::function<void(Status)> onCommitted) override;
  Status write(store::WriteBatch batch) override;
  Status read(std::string_view what, store::FunctionRef<Status(store::ReadConnection&)> read) override;
  std::string location() const override { return inner_->location(); }
  void close() override { inner_->close(); }

 private:
  struct Reporter;
  /// Records the outcome of one batch (any thread; cheap when nothing changes: one atomic load).
  void observe(const Status& outcome);

  store::StorePtr inner_;
  std::shared_ptr<Reporter> reporter_;
};

}  // namespace talon::gateway::health
