#pragma once
// What the gateway learns from every run that ends (AgentRunnerOptions::onRunEnded): the run metrics
// declared here, beside the runner, and the "agents/runs" health record, so a failed run is a metric
// and a visible health state, not only a log line.
#include <memory>

#include "base/error.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"

namespace talon::gateway {

/// Thread-safe; observe() never blocks (relaxed atomics and one registry update).
class RunObserver {
 public:
  /// Registers the run metrics in `metrics`. Errors: as MetricsRegistry::add (a name already taken).
  static Result<std::unique_ptr<RunObserver>> create(health::MetricsRegistry& metrics,
                                                     health::HealthRegistry& healthRecords);

  /// Counts the run by status (ok, error, aborted) and error kind, observes its duration, and sets the
  /// health record {component "agents", dimension "runs"}: degraded with the failure when a run failed,
  /// ok again after a run succeeded (aborted runs leave it as it is).
  void observe(const TurnOutcome& outcome);

 private:
  RunObserver(health::HealthRegistry& healthRecords) : healthRecords_(healthRecords) {}
  health::HealthRegistry& healthRecords_;
  health::Counter ok_, failed_, aborted_;
  health::MetricFamily* failuresByCode_ = nullptr;
  health::Histogram duration_;
  health::Counter steps_;
  health::Counter inputTokens_, outputTokens_;
};

}  // namespace talon::gateway
