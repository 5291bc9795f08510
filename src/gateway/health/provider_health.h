#pragma once
// Per-provider health (issue "per-provider health"): every model call a run makes is recorded per
// provider and model; a rolling window gives the error rate and the p50/p95 latency, exported as
// metrics and as health records {component "provider:<id>", dimension "<model>"} (shown by the `health`
// RPC with every other record). A provider+model that keeps failing is put in cooldown — 30 s, then
// 1 min, then 5 min (cap), 10 min at once for billing or permanent auth failures, the steps of
// OpenClaw's auth-profile cooldowns (docs/concepts/model-failover.md) — and the runner skips it while
// another model of the turn's chain remains.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"

namespace talon::gateway::health {

/// One model call as the runner saw it.
struct ModelCallRecord {
  std::string providerId;
  std::string model;  // the vendor's model id
  bool ok = false;
  /// The failover reason of a failed call (model_failover.h names: "rate_limit", "auth_permanent", ...).
  std::string reason;
  int64_t latencyMs = 0;
};

/// The state of one provider+model.
struct ProviderModelHealth {
  std::string providerId;
  std::string model;
  int64_t calls = 0;   // in the window
  int64_t errors = 0;  // in the window
  double errorRate = 0;
  int64_t p50Ms = 0;
  int64_t p95Ms = 0;
  int consecutiveFailures = 0;
  int64_t cooldownUntilMs = 0;  // wall clock; 0 or past: not in cooldown
  std::string lastReason;       // of the last failed call
};

/// Thread-safe (one mutex; record() and inCooldown() are short).
class ProviderHealth {
 public:
  struct Options {
    std::size_t window = 100;    // calls kept per provider+model
    int failuresToCooldown = 3;  // consecutive failed calls that start a cooldown
  };
  /// Registers the metrics (talon_model_calls_total{provider,model,outcome},
  /// talon_model_request_duration_seconds{provider,model}, talon_model_errors_total{provider,kind}).
  /// Label values come from the config (provider ids, model ids) and the closed set of failover
  /// reasons, so their number is bounded; a call's children are looked up by label values (a model
  /// call is seconds long; the lookup is a short mutex hold). Errors: as MetricsRegistry::add.
  static Result<std::unique_ptr<ProviderHealth>> create(MetricsRegistry& metrics, HealthRegistry& records,
                                                        ClockPtr clock, Options options);

  /// Records one call: the window, the metrics, the health record, the cooldown.
  void record(const ModelCallRecord& call);
  /// True while `providerId`/`model` is in cooldown.
  bool inCooldown(const std::string& providerId, const std::string& model) const;
  /// Every provider+model seen, sorted by (provider, model).
  std::vector<ProviderModelHealth> snapshot() const;

 private:
  struct Entry {
    std::deque<std::pair<bool, int64_t>> window;  // (ok, latencyMs), oldest first
    ProviderModelHealth state;
    int cooldownStep = 0;  // cooldowns served since the last success
  };
  ProviderHealth(HealthRegistry& records, ClockPtr clock, Options options)
      : records_(records), clock_(std::move(clock)), options_(options) {}
  void refreshLocked(Entry& e);

  HealthRegistry& records_;
  ClockPtr clock_;
  Options options_;
  MetricFamily* calls_ = nullptr;
  MetricFamily* duration_ = nullptr;
  MetricFamily* errors_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace talon::gateway::health
