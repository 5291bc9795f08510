// The escalation policy alone, in simulated time: the backoff sequence and its cap, an alert after N
// failures and then only after the cooldown, disable after M (no backoff then), a recovery only when the
// incident was alerted, and extra failures counting towards alerts only.
#include "gateway/automation/escalation.h"

#include <gtest/gtest.h>

#include "support/json_text.h"

namespace talon::gateway::automation {
namespace {

using testing::kMinuteMs;

EscalationPolicy policy(int64_t disableAfter = 10, bool alerts = true) {
  EscalationPolicy p;
  p.retryInitialMs = kMinuteMs;
  p.retryMaxMs = 8 * kMinuteMs;
  p.disableAfter = disableAfter;
  p.alertEnabled = alerts;
  p.alertAfter = 2;
  p.alertCooldownMs = 30 * kMinuteMs;
  return p;
}

TEST(EscalationTest, RetryDelayDoublesUpToTheMaximum) {
  EscalationPolicy p = policy();
  EXPECT_EQ(Escalation::retryDelayMs(p, 1), kMinuteMs);
  EXPECT_EQ(Escalation::retryDelayMs(p, 2), 2 * kMinuteMs);
  EXPECT_EQ(Escalation::retryDelayMs(p, 3), 4 * kMinuteMs);
  EXPECT_EQ(Escalation::retryDelayMs(p, 4), 8 * kMinuteMs);
  EXPECT_EQ(Escalation::retryDelayMs(p, 50), 8 * kMinuteMs);
  p.retryMaxMs = 0;  // below initialMs: the initial wait every time
  EXPECT_EQ(Escalation::retryDelayMs(p, 5), kMinuteMs);
}

TEST(EscalationTest, FailuresBackOffAlertOnceThenAfterTheCooldownAndDisable) {
  auto clock = std::make_shared<SimulatedClock>();
  Escalation escalation(clock);
  EscalationState state;
  const EscalationPolicy p = policy(5);

  auto first = escalation.recordFailure(state, p, true);
  EXPECT_EQ(first.actions, std::vector<EscalationAction>{EscalationAction::kBackoff});
  EXPECT_EQ(first.retryDelayMs, kMinuteMs);
  EXPECT_EQ(state.consecutiveErrors, 1);

  clock->advance(kMinuteMs);
  auto second = escalation.recordFailure(state, p, true);
  EXPECT_EQ(second.actions, (std::vector<EscalationAction>{EscalationAction::kBackoff, EscalationAction::kAlert}));
  EXPECT_EQ(second.retryDelayMs, 2 * kMinuteMs);
  EXPECT_EQ(second.alertCount, 2);
  EXPECT_EQ(state.alertedAtMs, clock->nowMs());
  EXPECT_EQ(state.alertsSent, 1);

  clock->advance(2 * kMinuteMs);
  auto third = escalation.recordFailure(state, p, true);  // same incident, inside the cooldown: no alert
  EXPECT_FALSE(third.has(EscalationAction::kAlert));
  EXPECT_EQ(state.alertsSent, 1);

  clock->advance(30 * kMinuteMs);
  auto fourth = escalation.recordFailure(state, p, true);  // the cooldown passed: one more alert
  EXPECT_TRUE(fourth.has(EscalationAction::kAlert));
  EXPECT_EQ(fourth.alertCount, 4);
  EXPECT_EQ(state.alertsSent, 2);

  auto fifth = escalation.recordFailure(state, p, true);
  EXPECT_EQ(fifth.actions, std::vector<EscalationAction>{EscalationAction::kDisable});
  EXPECT_EQ(fifth.retryDelayMs, 0);

  auto afterDisable = escalation.recordFailure(state, p, false);  // a forced run of a disabled automation
  EXPECT_TRUE(afterDisable.actions.empty());
  EXPECT_EQ(state.consecutiveErrors, 6);
}

TEST(EscalationTest, RecoveryOnlyClosesAnAlertedIncident) {
  auto clock = std::make_shared<SimulatedClock>();
  Escalation escalation(clock);
  EscalationState state;
  const EscalationPolicy p = policy();

  escalation.recordFailure(state, p, true);  // one failure: no alert yet
  auto quiet = escalation.recordSuccess(state);
  EXPECT_TRUE(quiet.actions.empty());
  EXPECT_EQ(state, EscalationState{});

  escalation.recordFailure(state, p, true);
  escalation.recordFailure(state, p, true);
  escalation.recordFailure(state, p, true);
  auto recovered = escalation.recordSuccess(state);
  EXPECT_EQ(recovered.actions, std::vector<EscalationAction>{EscalationAction::kRecovery});
  EXPECT_EQ(recovered.failedRuns, 3);
  EXPECT_EQ(state, EscalationState{});

  // A new incident alerts again at once (the cooldown belongs to the closed incident).
  escalation.recordFailure(state, p, true);
  EXPECT_TRUE(escalation.recordFailure(state, p, true).has(EscalationAction::kAlert));
}

TEST(EscalationTest, AlertsOffAndExtraFailures) {
  auto clock = std::make_shared<SimulatedClock>();
  Escalation escalation(clock);
  EscalationState state;

  EscalationPolicy off = policy(0, false);
  for (int i = 0; i < 20; ++i) {
    auto o = escalation.recordFailure(state, off, true);
    EXPECT_EQ(o.actions, std::vector<EscalationAction>{EscalationAction::kBackoff});  // disableAfter 0: never
  }
  EXPECT_EQ(state.alertedAtMs, 0);
  EXPECT_TRUE(escalation.recordSuccess(state).actions.empty());  // never alerted: no recovery

  // Extra failures (skipped runs) reach alertAfter without an error count of 2.
  auto o = escalation.recordFailure(state, policy(), true, 1);
  EXPECT_TRUE(o.has(EscalationAction::kAlert));
  EXPECT_EQ(o.alertCount, 2);
  EXPECT_EQ(state.consecutiveErrors, 1);
  EXPECT_EQ(o.retryDelayMs, kMinuteMs);
}

TEST(EscalationTest, ActionNames) {
  EXPECT_EQ(escalationActionName(EscalationAction::kBackoff), "backoff");
  EXPECT_EQ(escalationActionName(EscalationAction::kDisable), "disable");
  EXPECT_EQ(escalationActionName(EscalationAction::kAlert), "alert");
  EXPECT_EQ(escalationActionName(EscalationAction::kRecovery), "recovery");
}

}  // namespace
}  // namespace talon::gateway::automation
