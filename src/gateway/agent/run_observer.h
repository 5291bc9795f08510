#pragma once
// What the gateway learns from every run that ends (AgentRunnerOptions::onRunEnded) and every tool call
// (AgentRunnerOptions::onToolCall): the run and tool metrics declared here, beside the runner, and the
// "agents/runs" health record, so a failed run is a metric and a visible health state, not only a log
// line.
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"

namespace talon::gateway {

/// Thread-safe; observe() never blocks (relaxed atomics and one registry update).
class RunObserver {
 public:
  /// Registers the run and tool metrics in `metrics`; `toolNames` (the registered tools) bound the
  /// `tool` label of talon_tool_calls_total, any other name counting as "unknown". Errors: as
  /// MetricsRegistry::add (a name already taken).
  static Result<std::unique_ptr<RunObserver>> create(health::MetricsRegistry& metrics,
                                                     health::HealthRegistry& healthRecords,
                                                     const std::vector<std::string>& toolNames = {});

  /// Counts the run by status (ok, error, aborted) and error kind, observes its duration, and sets the
  /// health record {component "agents", dimension "runs"}: degraded with the failure when a run failed,
  /// ok again after a run succeeded (aborted runs leave it as it is).
  void observe(const TurnOutcome& outcome);

  /// Counts one tool call in talon_tool_calls_total{tool, outcome}: outcome "ok" or the error kind's
  /// name (tools::toolErrorKindName); `tool` as registered, else "unknown".
  void observeTool(std::string_view tool, const tools::ToolOutcome& outcome);

 private:
  /// talon_tool_calls_total children of one tool: [0] ok, then one per tools::ToolErrorKind.
  static constexpr std::size_t kToolOutcomes = 7;
  using ToolSeries = std::array<health::Counter, kToolOutcomes>;

  RunObserver(health::HealthRegistry& healthRecords) : healthRecords_(healthRecords) {}
  health::HealthRegistry& healthRecords_;
  health::Counter ok_, failed_, aborted_;
  health::MetricFamily* failuresByCode_ = nullptr;
  health::Histogram duration_;
  health::Counter steps_;
  health::Counter inputTokens_, outputTokens_;
  std::unordered_map<std::string, ToolSeries> toolSeries_;  // by registered tool name; immutable after create
  ToolSeries unknownTool_;
};

}  // namespace talon::gateway
