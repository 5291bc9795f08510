#include "gateway/agent/run_observer.h"

namespace talon::gateway {
namespace {

constexpr double kRunDurationBuckets[] = {0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

/// The runner's metrics (Prometheus names and base units).
constexpr health::MetricSpec kRunMetrics[] = {
    {"talon_agent_runs_total", health::MetricType::kCounter, "Agent runs that ended, by status.", {"status"}},
    {"talon_agent_run_failures_total",
     health::MetricType::kCounter,
     "Agent runs that failed, by protocol error code.",
     {"code"}},
    {"talon_agent_run_duration_seconds",
     health::MetricType::kHistogram,
     "Wall time of an agent run from intake to its end.",
     {},
     kRunDurationBuckets},
    {"talon_agent_model_calls_total", health::MetricType::kCounter, "Model calls made by agent runs.", {}},
    {"talon_agent_tokens_total",
     health::MetricType::kCounter,
     "Tokens used by agent runs, by direction.",
     {"direction"}},
};

}  // namespace

Result<std::unique_ptr<RunObserver>> RunObserver::create(health::MetricsRegistry& metrics,
                                                         health::HealthRegistry& healthRecords) {
  auto families = metrics.add(kRunMetrics);
  if (!families) return fail(families.error());
  std::unique_ptr<RunObserver> o(new RunObserver(healthRecords));
  auto& f = *families;
  o->ok_ = *f[0]->counter({"ok"});
  o->failed_ = *f[0]->counter({"error"});
  o->aborted_ = *f[0]->counter({"aborted"});
  o->failuresByCode_ = f[1];
  o->duration_ = *f[2]->histogram();
  o->steps_ = *f[3]->counter();
  o->inputTokens_ = *f[4]->counter({"input"});
  o->outputTokens_ = *f[4]->counter({"output"});
  healthRecords.set({"agents", "runs", health::HealthState::kOk, "no run has failed", false});
  return o;
}

void RunObserver::observe(const TurnOutcome& outcome) {
  duration_.observe(static_cast<double>(outcome.durationMs) / 1000.0);
  steps_.inc(static_cast<uint64_t>(std::max(outcome.steps, 0)));
  inputTokens_.inc(static_cast<uint64_t>(std::max<int64_t>(outcome.usage.inputTokens, 0)));
  outputTokens_.inc(static_cast<uint64_t>(std::max<int64_t>(outcome.usage.outputTokens, 0)));
  if (outcome.aborted) {
    aborted_.inc();
    return;
  }
  if (!outcome.error) {
    ok_.inc();
    healthRecords_.set({"agents", "runs", health::HealthState::kOk, "the last run succeeded", false});
    return;
  }
  failed_.inc();
  if (auto byCode = failuresByCode_->counter({protocolErrorCode(outcome.error->code)})) byCode->inc();
  std::string detail =
      "run " + outcome.runId + " of agent " + outcome.agentId + " failed: " + outcome.error->publicMessage();
  healthRecords_.set({"agents", "runs", health::HealthState::kDegraded, detail, false});
}

}  // namespace talon::gateway
