#include "gateway/health/health_registry.h"

#include <utility>

namespace talon::gateway::health {
namespace {

std::string keyOf(std::string_view component, std::string_view dimension) {
  std::string key;
  key.reserve(component.size() + 1 + dimension.size());
  key.append(component);
  key.push_back('\0');  // sorts (component, dimension) pairs as pairs
  key.append(dimension);
  return key;
}

/// Severity for `overall`: failed > degraded > unknown > ok.
int severity(HealthState s) {
  switch (s) {
    case HealthState::kOk:
      return 0;
    case HealthState::kUnknown:
      return 1;
    case HealthState::kDegraded:
      return 2;
    case HealthState::kFailed:
      return 3;
  }
  return 3;
}

}  // namespace

std::string_view healthStateName(HealthState state) {
  switch (state) {
    case HealthState::kOk:
      return "ok";
    case HealthState::kDegraded:
      return "degraded";
    case HealthState::kFailed:
      return "failed";
    case HealthState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<HealthState> parseHealthState(std::string_view name) {
  for (HealthState s : {HealthState::kOk, HealthState::kDegraded, HealthState::kFailed, HealthState::kUnknown}) {
    if (healthStateName(s) == name) return s;
  }
  return std::nullopt;
}

Readiness evaluateReadiness(std::span<const HealthRecord> records) {
  Readiness r;
  for (const HealthRecord& rec : records) {
    if (severity(rec.state) > severity(r.overall)) r.overall = rec.state;
    if (rec.critical && (rec.state == HealthState::kFailed || rec.state == HealthState::kUnknown)) {
      r.ready = false;
      r.blocking.push_back(rec);
    }
  }
  return r;
}

HealthRegistry::HealthRegistry(ClockPtr clock) : clock_(std::move(clock)) {}

HealthRegistry::~HealthRegistry() = default;

bool HealthRegistry::set(const HealthReport& report) {
  HealthChange change;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = records_.try_emplace(keyOf(report.component, report.dimension));
    HealthRecord& rec = it->second;
    if (inserted) {
      rec.component = std::string(report.component);
      rec.dimension = std::string(report.dimension);
    } else {
      if (rec.state == report.state && rec.detail == report.detail && rec.critical == report.critical) return false;
      change.previous = rec.state;
    }
    if (inserted || rec.state != report.state) rec.sinceMs = clock_->nowMs();
    rec.state = report.state;
    rec.detail = std::string(report.detail);
    rec.critical = report.critical;
    change.version = version_.fetch_add(1, std::memory_order_acq_rel) + 1;
    change.record = rec;
  }
  notify(change);
  return true;
}

bool HealthRegistry::remove(std::string_view component, std::string_view dimension) {
  HealthChange change;
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(keyOf(component, dimension));
    if (it == records_.end()) return false;
    change.previous = it->second.state;
    change.record = std::move(it->second);
    change.removed = true;
    records_.erase(it);
    change.version = version_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  notify(change);
  return true;
}

std::optional<HealthRecord> HealthRegistry::get(std::string_view component, std::string_view dimension) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(keyOf(component, dimension));
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

HealthSnapshot HealthRegistry::snapshot() const {
  HealthSnapshot snap;
  std::lock_guard lock(mu_);
  snap.version = version_.load(std::memory_order_acquire);
  snap.records.reserve(records_.size());
  for (const auto& [key, rec] : records_) snap.records.push_back(rec);
  return snap;
}

Readiness HealthRegistry::readiness() const {
  const HealthSnapshot snap = snapshot();
  return evaluateReadiness(snap.records);
}

HealthRegistry::SubscriptionId HealthRegistry::subscribe(Subscriber subscriber) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<SubscriberList>(*subscribers_);
  const SubscriptionId id = nextSubscriptionId_++;
  next->emplace_back(id, std::make_shared<const Subscriber>(std::move(subscriber)));
  subscribers_ = std::move(next);
  return id;
}

bool HealthRegistry::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(mu_);
  auto next = std::make_shared<SubscriberList>();
  next->reserve(subscribers_->size());
  bool found = false;
  for (const auto& entry : *subscribers_) {
    if (entry.first == id) {
      found = true;
    } else {
      next->push_back(entry);
    }
  }
  if (found) subscribers_ = std::move(next);
  return found;
}

void HealthRegistry::notify(const HealthChange& change) const {
  std::shared_ptr<const SubscriberList> list;
  {
    std::lock_guard lock(mu_);
    list = subscribers_;
  }
  for (const auto& [id, subscriber] : *list) (*subscriber)(change);
}

}  // namespace talon::gateway::health
