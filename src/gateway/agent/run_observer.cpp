#include "gateway/agent/run_observer.h"

#include <iterator>

namespace talon::gateway {
namespace {

constexpr double kRunDurationBuckets[] = {0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

/// The runner's metrics (Prometheus names and base units).
constexpr health::MetricSpec kRunMetrics[] = {
    {"talon_runs_total",
     health::MetricType::kCounter,
     "Agent runs that ended, by outcome (ok, error, aborted).",
     {"outcome"}},
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
    {"talon_tool_calls_total",
     health::MetricType::kCounter,
     "Tool calls of agent runs, by tool (\"unknown\" for a name no tool has) and outcome (ok or the error kind).",
     {"tool", "outcome"}},
};

constexpr tools::ToolErrorKind kToolErrorKinds[] = {
    tools::ToolErrorKind::kInvalidArguments, tools::ToolErrorKind::kNotFound,  tools::ToolErrorKind::kDenied,
    tools::ToolErrorKind::kFailed,           tools::ToolErrorKind::kCancelled, tools::ToolErrorKind::kTimeout,
};

}  // namespace

Result<std::unique_ptr<RunObserver>> RunObserver::create(health::MetricsRegistry& metrics,
                                                         health::HealthRegistry& healthRecords,
                                                         const std::vector<std::string>& toolNames) {
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
  auto toolSeries = [&](std::string_view tool) -> Result<ToolSeries> {
    ToolSeries series;
    auto ok = f[5]->counter({tool, "ok"});
    if (!ok) return fail(ok.error());
    series[0] = *ok;
    for (std::size_t i = 0; i < std::size(kToolErrorKinds); ++i) {
      auto c = f[5]->counter({tool, tools::toolErrorKindName(kToolErrorKinds[i])});
      if (!c) return fail(c.error());
      series[i + 1] = *c;
    }
    return series;
  };
  for (const auto& name : toolNames) {
    auto series = toolSeries(name);
    if (!series) return fail(series.error());
    o->toolSeries_.emplace(name, *series);
  }
  auto unknown = toolSeries("unknown");
  if (!unknown) return fail(unknown.error());
  o->unknownTool_ = *unknown;
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

void RunObserver::observeTool(std::string_view tool, const tools::ToolOutcome& outcome) {
  auto it = toolSeries_.find(std::string(tool));
  const ToolSeries& series = it == toolSeries_.end() ? unknownTool_ : it->second;
  std::size_t index = 0;
  if (outcome.error) {
    index = 4;  // "failed", for a kind added to ToolErrorKind but not to kToolErrorKinds
    for (std::size_t i = 0; i < std::size(kToolErrorKinds); ++i) {
      if (kToolErrorKinds[i] == *outcome.error) index = i + 1;
    }
  }
  series[index].inc();
}

}  // namespace talon::gateway
