#include "gateway/automation/escalation.h"

#include <algorithm>
#include <cassert>

namespace talon::gateway::automation {

EscalationPolicy EscalationPolicy::fromConfig(const config::CronEscalationConfig& config) {
  EscalationPolicy p;
  p.retryInitialMs = config.retryInitialMs;
  p.retryMaxMs = config.retryMaxMs;
  p.disableAfter = config.disableAfter;
  return p;
}

std::string_view escalationActionName(EscalationAction action) {
  switch (action) {
    case EscalationAction::kBackoff:
      return "backoff";
    case EscalationAction::kDisable:
      return "disable";
    case EscalationAction::kAlert:
      return "alert";
    case EscalationAction::kRecovery:
      return "recovery";
  }
  return "unknown";
}

bool EscalationOutcome::has(EscalationAction action) const {
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

Escalation::Escalation(ClockPtr clock) : clock_(std::move(clock)) { assert(clock_); }

int64_t Escalation::retryDelayMs(const EscalationPolicy& policy, int64_t consecutiveErrors) {
  int64_t delay = std::max<int64_t>(1, policy.retryInitialMs);
  for (int64_t i = 1; i < consecutiveErrors && delay < policy.retryMaxMs; ++i) delay *= 2;
  return std::min(delay, std::max(policy.retryMaxMs, policy.retryInitialMs));
}

EscalationOutcome Escalation::recordFailure(EscalationState& state, const EscalationPolicy& policy, bool enabled,
                                            int64_t extraFailures) const {
  EscalationOutcome out;
  const int64_t now = clock_->nowMs();
  state.consecutiveErrors += 1;
  if (enabled && policy.disableAfter > 0 && state.consecutiveErrors >= policy.disableAfter) {
    out.actions.push_back(EscalationAction::kDisable);
  } else if (enabled) {
    out.retryDelayMs = retryDelayMs(policy, state.consecutiveErrors);
    out.actions.push_back(EscalationAction::kBackoff);
  }
  const int64_t failures = state.consecutiveErrors + std::max<int64_t>(0, extraFailures);
  const bool cooled = state.alertedAtMs == 0 || now - state.alertedAtMs >= policy.alertCooldownMs;
  if (policy.alertEnabled && failures >= policy.alertAfter && cooled) {
    state.alertedAtMs = now;
    state.alertsSent += 1;
    out.alertCount = failures;
    out.actions.push_back(EscalationAction::kAlert);
  }
  return out;
}

EscalationOutcome Escalation::recordSuccess(EscalationState& state) const {
  EscalationOutcome out;
  if (state.alertedAtMs > 0) {
    out.failedRuns = state.consecutiveErrors;
    out.actions.push_back(EscalationAction::kRecovery);
  }
  state = EscalationState{};
  return out;
}

}  // namespace talon::gateway::automation
