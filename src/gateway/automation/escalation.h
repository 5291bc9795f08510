#pragma once
// The escalation policy shared by the automations (cron jobs, heartbeats): what happens when a scheduled
// run fails and when it recovers (openclaw-semantics.md §4 "Retry and backoff", "Failure alerts"; Talon's
// `cron.escalation`, docs/cron.md "Escalation").
//
// While a run fails, the next attempt waits min(maxMs, initialMs·2^(n−1)) after the n-th consecutive
// error instead of the normal cadence (backoff); after `alertAfter` failures an alert is due — once per
// incident, again only when `alertCooldownMs` has passed since the last alert while the incident stays
// open; after `disableAfter` consecutive errors the automation is disabled (no backoff then); the first
// success after an alert closes the incident with one recovery notice.
//
// This file decides; it does not act. The owner (CronService, HeartbeatService) keeps the state with its
// automation, turns each action into an audit record, a metric, an event and a health change, and sends
// the alerts. Pure logic on an injected clock; an Escalation is immutable and thread-safe, an
// EscalationState belongs to its owner's lock.
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "config/config_model.h"

namespace talon::gateway::automation {

/// The numbers of one automation's escalation.
struct EscalationPolicy {
  /// The wait after the first error, ms (≥ 1).
  int64_t retryInitialMs = 60'000;
  /// The longest wait, ms (a value below retryInitialMs means retryInitialMs).
  int64_t retryMaxMs = 3'600'000;
  /// Consecutive errors that disable the automation; 0 never disables.
  int64_t disableAfter = 10;
  /// Whether alerts are sent at all (the owner decides from its alert config and route).
  bool alertEnabled = false;
  /// Failures before the first alert of an incident (≥ 1).
  int64_t alertAfter = 2;
  /// Least time between two alerts of one incident, ms (≥ 0).
  int64_t alertCooldownMs = 3'600'000;

  /// The retry and disable numbers of `cron.escalation` (alerts off; the owner sets them).
  static EscalationPolicy fromConfig(const config::CronEscalationConfig& config);
};

/// What the policy remembers of one automation between runs (persisted by the owner).
struct EscalationState {
  /// Failed runs since the last success.
  int64_t consecutiveErrors = 0;
  /// When the last alert of the open incident was sent; 0: no alert in this incident.
  int64_t alertedAtMs = 0;
  /// Alerts sent in the open incident.
  int64_t alertsSent = 0;

  bool operator==(const EscalationState&) const = default;
};

/// One escalation action, in the order the owner reports them.
enum class EscalationAction { kBackoff, kDisable, kAlert, kRecovery };

/// "backoff" | "disable" | "alert" | "recovery" (the `action` label of talon_*_escalations_total).
std::string_view escalationActionName(EscalationAction action);

/// What one run's outcome asks of the owner.
struct EscalationOutcome {
  /// Wait this long (ms) before the next attempt; set with kBackoff.
  int64_t retryDelayMs = 0;
  /// The failures an alert reports (consecutive errors plus the extra failures counted); set with kAlert.
  int64_t alertCount = 0;
  /// The failed runs the incident had; set with kRecovery.
  int64_t failedRuns = 0;
  /// The actions, in order: kDisable or kBackoff, then kAlert (failure); kRecovery (success).
  std::vector<EscalationAction> actions;

  bool has(EscalationAction action) const;
};

class Escalation {
 public:
  /// `clock` dates alerts and measures cooldowns; it must not be null.
  explicit Escalation(ClockPtr clock);

  /// A failed run: counts it in `state` and returns the actions. `enabled`: the automation still runs
  /// (a disabled one neither backs off nor is disabled again). `extraFailures`: failures that count
  /// towards `alertAfter` but not towards backoff or disable (cron's skipped runs with includeSkipped).
  EscalationOutcome recordFailure(EscalationState& state, const EscalationPolicy& policy, bool enabled,
                                  int64_t extraFailures = 0) const;

  /// A successful run: resets `state`; kRecovery when an alert was sent in the incident it closes (the
  /// owner sends the recovery notice only when alerts are enabled, but records the action either way).
  EscalationOutcome recordSuccess(EscalationState& state) const;

  /// The wait before the retry that follows `consecutiveErrors` (≥ 1) errors: min(maxMs,
  /// initialMs·2^(n−1)), in ms.
  static int64_t retryDelayMs(const EscalationPolicy& policy, int64_t consecutiveErrors);

 private:
  ClockPtr clock_;
};

}  // namespace talon::gateway::automation
