#include "gateway/health/store_write_monitor.h"

#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

namespace talon::gateway::health {
namespace {

constexpr MetricSpec kStoreMetrics[] = {
    {"talon_store_write_failures_total",
     MetricType::kCounter,
     "Write batches the store could not commit (full disk, read-only or vanished database file).",
     {}},
};

}  // namespace

struct StoreWriteMonitor::Reporter {
  HealthRegistry* registry = nullptr;
  Counter failures;
  std::atomic<bool> attached{false};
  std::atomic<bool> failing{false};
  std::mutex mu;  // orders the flips of `failing` with their health records
};

StoreWriteMonitor::StoreWriteMonitor(store::StorePtr inner)
    : inner_(std::move(inner)), reporter_(std::make_shared<Reporter>()) {}

Status StoreWriteMonitor::attach(HealthRegistry& registry, MetricsRegistry& metrics) {
  auto families = metrics.add(kStoreMetrics);
  if (!families) return fail(families.error());
  auto failures = (*families)[0]->counter();
  if (!failures) return fail(failures.error());
  std::lock_guard lock(reporter_->mu);
  reporter_->registry = &registry;
  reporter_->failures = *failures;
  registry.set({"store", "writes", reporter_->failing ? HealthState::kFailed : HealthState::kOk, "", true});
  reporter_->attached = true;
  return {};
}

void StoreWriteMonitor::observe(const Status& outcome) {
  Reporter& r = *reporter_;
  if (!r.attached.load(std::memory_order_acquire)) return;
  const bool storeFailed = !outcome && outcome.error().code == ErrorCode::kIo;
  if (storeFailed) r.failures.inc();
  if (!outcome && !storeFailed) return;  // the caller's error: says nothing about the store
  if (r.failing.load(std::memory_order_acquire) == storeFailed) return;
  std::lock_guard lock(r.mu);
  if (r.failing.load() == storeFailed) return;
  r.failing = storeFailed;
  if (storeFailed) {
    const Error& e = outcome.error();
    spdlog::error("store: writes are failing ({}); committed data is kept, new writes are refused until this clears",
                  e.toString());
    r.registry->set({"store", "writes", HealthState::kFailed, e.message, true});
  } else {
    spdlog::info("store: writes succeed again");
    r.registry->set({"store", "writes", HealthState::kOk, "", true});
  }
}

void StoreWriteMonitor::submit(store::WriteBatch batch, std::function<void(Status)> onCommitted) {
  inner_->submit(std::move(batch), [this, done = std::move(onCommitted)](Status s) {
    observe(s);
    if (done) done(std::move(s));
  });
}

Status StoreWriteMonitor::write(store::WriteBatch batch) {
  Status s = inner_->write(std::move(batch));
  observe(s);
  return s;
}

Status StoreWriteMonitor::read(std::string_view what, store::FunctionRef<Status(store::ReadConnection&)> read) {
  return inner_->read(what, read);
}

}  // namespace talon::gateway::health
