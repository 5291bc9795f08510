#include "gateway/health/provider_health.h"

#include <fmt/format.h>

#include <algorithm>

namespace talon::gateway::health {
namespace {

constexpr double kCallDurationBuckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

constexpr MetricSpec kProviderMetrics[] = {
    {"talon_model_calls_total",
     MetricType::kCounter,
     "Model calls made by agent runs, by provider, model and outcome (ok or the failover reason).",
     {"provider", "model", "outcome"}},
    {"talon_model_request_duration_seconds",
     MetricType::kHistogram,
     "Time from sending a model request to its end, ok or failed, by provider and model.",
     {"provider", "model"},
     kCallDurationBuckets},
    {"talon_model_errors_total",
     MetricType::kCounter,
     "Failed model requests, by provider and kind (the failover reason: rate_limit, server_error, timeout, ...); "
     "cancelled calls are not errors.",
     {"provider", "kind"}},
};

/// OpenClaw's cooldown steps: 30 s, 1 min, 5 min (cap).
constexpr int64_t kCooldownStepsMs[] = {30'000, 60'000, 300'000};
/// Billing or permanent auth failures: 10 min at once.
constexpr int64_t kDisableMs = 600'000;

/// The nearest-rank `p` quantile of `sorted` (ascending); 0 when empty.
int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

Result<std::unique_ptr<ProviderHealth>> ProviderHealth::create(MetricsRegistry& metrics, HealthRegistry& records,
                                                               ClockPtr clock, Options options) {
  if (options.window == 0 || options.failuresToCooldown < 1) {
    return fail(ErrorCode::kInvalidArgument, "provider health: window and failuresToCooldown must be positive");
  }
  auto families = metrics.add(kProviderMetrics);
  if (!families) return fail(families.error());
  std::unique_ptr<ProviderHealth> h(new ProviderHealth(records, std::move(clock), options));
  h->calls_ = (*families)[0];
  h->duration_ = (*families)[1];
  h->errors_ = (*families)[2];
  return h;
}

void ProviderHealth::record(const ModelCallRecord& call) {
  if (auto c = calls_->counter({call.providerId, call.model, call.ok ? "ok" : call.reason})) c->inc();
  if (auto d = duration_->histogram({call.providerId, call.model})) {
    d->observe(static_cast<double>(call.latencyMs) / 1000.0);
  }
  if (!call.ok && call.reason != "cancelled") {
    if (auto e = errors_->counter({call.providerId, call.reason.empty() ? "unknown" : call.reason})) e->inc();
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[{call.providerId, call.model}];
  e.state.providerId = call.providerId;
  e.state.model = call.model;
  e.window.emplace_back(call.ok, call.latencyMs);
  while (e.window.size() > options_.window) e.window.pop_front();
  const int64_t now = clock_->nowMs();
  if (call.ok) {
    e.state.consecutiveFailures = 0;
    e.state.cooldownUntilMs = 0;
    e.cooldownStep = 0;
  } else {
    e.state.lastReason = call.reason;
    ++e.state.consecutiveFailures;
    if (call.reason == "billing" || call.reason == "auth_permanent") {
      e.state.cooldownUntilMs = now + kDisableMs;
    } else if (call.reason != "cancelled" && call.reason != "context_overflow" && call.reason != "format" &&
               e.state.consecutiveFailures >= options_.failuresToCooldown && e.state.cooldownUntilMs <= now) {
      const int step = std::min<int>(e.cooldownStep, static_cast<int>(std::size(kCooldownStepsMs)) - 1);
      e.state.cooldownUntilMs = now + kCooldownStepsMs[step];
      ++e.cooldownStep;
      e.state.consecutiveFailures = 0;  // the next cooldown needs as many failures again
    }
  }
  refreshLocked(e);
}

void ProviderHealth::refreshLocked(Entry& e) {
  std::vector<int64_t> latencies;
  latencies.reserve(e.window.size());
  int64_t errors = 0;
  for (const auto& [ok, ms] : e.window) {
    latencies.push_back(ms);
    if (!ok) ++errors;
  }
  std::sort(latencies.begin(), latencies.end());
  auto& s = e.state;
  s.calls = static_cast<int64_t>(e.window.size());
  s.errors = errors;
  s.errorRate = s.calls > 0 ? static_cast<double>(errors) / static_cast<double>(s.calls) : 0;
  s.p50Ms = percentile(latencies, 0.5);
  s.p95Ms = percentile(latencies, 0.95);
  const int64_t now = clock_->nowMs();
  HealthState state = HealthState::kOk;
  std::string detail = fmt::format("error rate {:.0f}% over the last {} calls; p50 {} ms, p95 {} ms", s.errorRate * 100,
                                   s.calls, s.p50Ms, s.p95Ms);
  if (s.cooldownUntilMs > now) {
    state = HealthState::kFailed;
    detail += fmt::format("; in cooldown for {} s after {}", (s.cooldownUntilMs - now + 999) / 1000, s.lastReason);
  } else if (s.errors > 0 && s.errorRate >= 0.5) {
    state = HealthState::kDegraded;
    detail += "; last failure: " + s.lastReason;
  }
  records_.set({"provider:" + s.providerId, s.model, state, detail, false});
}

bool ProviderHealth::inCooldown(const std::string& providerId, const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find({providerId, model});
  return it != entries_.end() && it->second.state.cooldownUntilMs > clock_->nowMs();
}

std::vector<ProviderModelHealth> ProviderHealth::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<ProviderModelHealth> out;
  for (const auto& [key, e] : entries_) out.push_back(e.state);
  return out;
}

}  // namespace talon::gateway::health
