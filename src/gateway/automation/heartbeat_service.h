#pragma once
// Heartbeats (OpenClaw docs/gateway/heartbeat.md; docs/heartbeat.md): periodic agent turns in an agent's
// main session so the model can surface anything that needs attention, without spamming anyone.
//
// Each agent with a heartbeat (config::effectiveHeartbeats, OpenClaw's implicit one included) has one timer
// (Executors::after) armed for its next tick, `every` after the previous one; nothing polls. The schedule
// and the escalation state are persisted per agent (store/heartbeat_monitor_repository.h, OpenClaw's
// persisted monitor schedule) and resumed by start() while the agent's heartbeat config is unchanged. A
// tick:
//   1. is skipped ("quiet-hours") outside `activeHours` in its time zone (start inclusive, end exclusive,
//      a window across midnight when end < start, start == end never inside; OpenClaw isWithinActiveHours),
//      and ("in-flight") while the previous heartbeat of the agent still runs;
//   2. reads HEARTBEAT.md from the agent's workspace: a file that is effectively empty (blank lines,
//      Markdown headings, HTML comments, fence markers, empty list items; OpenClaw
//      isHeartbeatContentEffectivelyEmpty) skips the run ("empty-heartbeat-file") unless system events are
//      queued; a missing file runs anyway (the model decides). The checklist is appended to the prompt.
//      (OpenClaw 2026.9 keeps this checklist as "monitor scratch" in its database and imports HEARTBEAT.md
//      there with `doctor --fix`; Talon reads the workspace file.)
//   3. runs a turn through the AgentRunner: the prompt (heartbeat.prompt or OpenClaw's default), after the
//      queued system events ("System: <text>" lines), in the agent's main session `agent:<id>:main` (or
//      heartbeat.session, or a fresh `agent:<id>:heartbeat:<runId>` with isolatedSession), channel
//      "heartbeat", with heartbeat.timeoutSeconds (else agents.defaults.timeoutSeconds, else
//      min(every, 600 s));
//      The turn uses heartbeat.model when set (resolved per agent: HeartbeatServiceDeps::models; strict, no
//      fallbacks) and, with lightContext, no workspace bootstrap files (TurnRequest::lightContext).
//      Before the turn the destination is resolved (heartbeat_target.h: "owner" by default, "last", a
//      channel, "none") from commands.ownerAllowFrom, the channels' allowFrom and the session's last
//      route (store::SessionRouteRepository); when there is none the tick is skipped without a model call
//      (reason "no-route", "no-target" or "unknown-account", as in OpenClaw) — but "no-route" skips only a
//      scheduled tick without queued system events: a wake, or queued events, run the turn and keep its
//      answer internal (event status "skipped", reason "no-route", after the turn);
//   4. suppresses an acknowledgement — NO_REPLY, or HEARTBEAT_OK at the start or end with at most 300
//      characters left (OpenClaw stripHeartbeatToken, mode "heartbeat") — as status "ok-token" ("ok-empty"
//      for an empty answer), and delivers anything else to the destination through the outbox (status
//      "sent"): "none" keeps it internal (status "skipped", reason "target-none"), directPolicy "block"
//      keeps it from a direct peer (reason "dm-blocked").
//
// A failed turn escalates as a cron job does (escalation.h with cron.escalation): the next attempt waits
// the backoff instead of `every`; after cron.failureAlert.after failures an alert goes to the
// cron.failureAlert destination, else to the heartbeat's destination as the failed tick resolved it (once
// per incident, again after cooldownMs; alerts are on when cron.failureAlert is set and enabled, or the
// heartbeat has a destination); the first success after an alert sends a recovery notice; after
// disableAfter failures the agent's heartbeat is disabled until set-heartbeats enables it again or its
// heartbeat config changes (the disable survives a restart). A delivery failure is recorded (event status "failed",
// reason "delivery-failed", outcome metric, log) but is not a failed run, as with cron.
//
// Every outcome is a `heartbeat` event (OpenClaw's payload: {ts, status: sent | ok-token | ok-empty |
// skipped | failed, reason?, preview?, channel?, to?, accountId?, durationMs, indicatorType?} plus
// agentId and runId), a count in talon_heartbeat_runs_total{outcome = status}, the gauge
// talon_heartbeat_consecutive_errors{agent} and the health record "heartbeat:<agentId>" / "runs" (ok,
// degraded while failing, failed when disabled); each escalation action is an audit record
// ("heartbeat.escalation"), a count in talon_heartbeat_escalations_total{action} and an event.
//
// Thread rules: every public member may be called from any thread. Timer work, workspace reads and run
// completions hop to `executors.blocking`. The dependencies outlive the service; stop() before destroying.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "config/heartbeat_config.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/automation/heartbeat_target.h"
#include "gateway/automation/webhook_sender.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "security/audit_sink.h"

namespace talon::gateway::channels {
class OutboundDispatcher;
}

namespace talon::gateway::health {
class AlertRouter;
}

namespace talon::gateway::automation {

/// The heartbeat's metrics (registered by HeartbeatService::create).
inline constexpr health::MetricSpec kHeartbeatServiceMetrics[] = {
    {"talon_heartbeat_runs_total",
     health::MetricType::kCounter,
     "Heartbeat ticks, by outcome (sent, ok-token, ok-empty, skipped, failed).",
     {"outcome"}},
    {"talon_heartbeat_consecutive_errors",
     health::MetricType::kGauge,
     "Consecutive failed heartbeat turns of an agent (0 after a success).",
     {"agent"}},
    {"talon_heartbeat_escalations_total",
     health::MetricType::kCounter,
     "Heartbeat escalation actions, by action (backoff, alert, recovery, disable).",
     {"action"}},
};

/// OpenClaw's default heartbeat prompt (dist heartbeat-*.mjs HEARTBEAT_PROMPT).
inline constexpr std::string_view kDefaultHeartbeatPrompt =
    "Follow the heartbeat monitor scratch context when provided. Recurring tasks are automations; create or "
    "change their schedules with the automations tool, not heartbeat scratch. Do not infer or repeat old tasks "
    "from prior chats. If nothing needs attention, reply NO_REPLY.";

/// The `message` of a `heartbeat` event skipped or kept internal for want of a route (OpenClaw
/// heartbeat-events NO_ROUTE_MESSAGE).
inline constexpr std::string_view kHeartbeatNoRouteMessage =
    "Heartbeat has no delivery route yet. Message your bot once, or set agents.defaults.heartbeat.target.";

/// OpenClaw's fixed acknowledgement budget: a HEARTBEAT_OK answer with at most this many characters left
/// is suppressed.
inline constexpr std::size_t kHeartbeatAckMaxChars = 300;

/// True when a HEARTBEAT.md's `content` holds nothing to act on (OpenClaw isHeartbeatContentEffectivelyEmpty:
/// only blank lines, `#` headings, HTML comments, ``` fence markers, empty list items `- `, `- [ ]`).
bool isHeartbeatContentEffectivelyEmpty(std::string_view content);

/// What a heartbeat answer comes to (OpenClaw stripHeartbeatToken with mode "heartbeat", and the
/// NO_REPLY silent reply).
struct HeartbeatReply {
  /// Nothing to deliver: an empty answer, NO_REPLY, or HEARTBEAT_OK at an edge with ≤ maxAckChars left.
  bool suppress = false;
  /// The token was found at an edge.
  bool acknowledged = false;
  /// What to deliver (the answer without the token) when not suppressed.
  std::string text;
};
HeartbeatReply interpretHeartbeatReply(std::string_view answer, std::size_t maxAckChars = kHeartbeatAckMaxChars);

/// Whether `nowMs` lies in `hours` (see the file comment). Errors: kInvalidArgument for an unknown zone.
Result<bool> withinActiveHours(const config::HeartbeatActiveHoursConfig& hours, int64_t nowMs);

/// What the service uses. Pointers must outlive the service.
struct HeartbeatServiceDeps {
  ClockPtr clock;
  /// Needs blocking and after.
  Executors executors;
  AgentRunner* runner = nullptr;
  /// For channel delivery and channel alerts; null: those fail (recorded, never silent).
  channels::OutboundDispatcher* outbound = nullptr;
  /// For webhook alerts (cron.failureAlert mode "webhook"); null: those fail (recorded).
  WebhookSender* webhooks = nullptr;
  health::HealthRegistry* health = nullptr;
  health::MetricsRegistry* metrics = nullptr;
  EventBus* bus = nullptr;
  security::AuditSink* audit = nullptr;
  /// The heartbeats to run (config::effectiveHeartbeats); agents the runner does not know are refused.
  std::vector<config::EffectiveHeartbeat> heartbeats;
  /// Backoff and disable numbers (cron.escalation).
  config::CronEscalationConfig escalation;
  /// Alert threshold, cooldown and destination (cron.failureAlert).
  config::CronFailureAlertConfig failureAlert;
  /// agents.defaults.timeoutSeconds (0: unset).
  int64_t defaultTimeoutSeconds = 0;
  /// cron.webhookToken: webhook alerts carry `Authorization: Bearer <token>` and are signed with it, as
  /// cron's; empty: neither.
  std::string webhookToken;
  /// commands.ownerAllowFrom (the "owner" target's first choice).
  std::vector<std::string> ownerAllowFrom = {};
  /// The configured channels (the "owner" target's channel order and allowFrom; accounts); replaced by
  /// HeartbeatService::setChannels on a live channels reload.
  config::ChannelsConfig channels = {};
  /// Where the sessions' last routes are read (targets "owner", "last", a channel without `to`) and each
  /// agent's schedule and escalation state are saved (store/heartbeat_monitor_repository.h); null: no
  /// route is known and nothing is saved (a restart starts every schedule afresh).
  store::Store* store = nullptr;
  /// cron.skipMissedJobs: a tick missed while the gateway was down is skipped (true) or run once at start.
  bool skipMissedTicks = false;
  /// Each agent's heartbeat model (config::resolveHeartbeatModel), by agent id; an agent without an entry
  /// runs its heartbeat with its own model.
  std::map<std::string, config::HeartbeatModel> models = {};
  /// gateway.alerts (health/alert_router.h): a failing heartbeat is raised as the incident
  /// "heartbeat:<agentId>" (warning after escalation.alert.after consecutive failures, critical when
  /// auto-disabled) and resolved by its next success. Null: not wired.
  health::AlertRouter* alerts = nullptr;
};

/// One agent's heartbeat as status and set-heartbeats report it.
struct HeartbeatAgentStatus {
  std::string agentId;
  bool enabled = false;  // runs on its cadence (not disabled by set-heartbeats or escalation)
  int64_t everyMs = 0;
  int64_t nextDueAtMs = 0;  // 0: nothing scheduled
  int64_t consecutiveErrors = 0;
  std::string disabledReason;  // "" | "set-heartbeats" | "consecutive-failures"
  std::size_t queuedSystemEvents = 0;
};

class HeartbeatService {
 public:
  /// Registers kHeartbeatServiceMetrics and checks each heartbeat's agent and time zone. Errors:
  /// kInvalidArgument for a missing dependency, an unknown agent or an unknown activeHours.timezone
  /// (naming the config path); MetricsRegistry::add's.
  static Result<std::unique_ptr<HeartbeatService>> create(HeartbeatServiceDeps deps);
  ~HeartbeatService();
  HeartbeatService(const HeartbeatService&) = delete;
  HeartbeatService& operator=(const HeartbeatService&) = delete;

  /// Arms each agent's first tick `every` from now. Calling it twice does nothing the second time.
  void start();
  /// Cancels the timers; a turn in progress finishes and is recorded. Idempotent.
  void stop();

  /// Runs the heartbeat of `agentId` (empty: every agent) now, outside its cadence (OpenClaw wakeMode
  /// "now"); active hours do not apply, a running heartbeat is not doubled. `reason` is recorded.
  /// Errors: kNotFound for an agent without a heartbeat; kFailedPrecondition when not started.
  Status wake(const std::string& agentId, const std::string& reason);
  /// Queues a system event for the next heartbeat of `agentId` (OpenClaw wakeMode "next-heartbeat").
  /// Errors: kNotFound for an agent without a heartbeat.
  Status enqueueSystemEvent(const std::string& agentId, std::string text);
  /// True when `agentId` has a heartbeat.
  bool has(const std::string& agentId) const;

  /// Takes the channels of a live config reload (channels.* is hot): later ticks resolve the "owner"
  /// target and accounts against them.
  void setChannels(config::ChannelsConfig channels);
  /// set-heartbeats: turns every heartbeat on or off. Enabling clears an escalation's disable and its
  /// error count. `actor` is audited.
  void setEnabled(bool enabled, const std::string& actor);
  /// last-heartbeat: the last `heartbeat` event's payload, or nullopt before the first.
  std::optional<json::object> lastEvent() const;
  /// Each agent's heartbeat, in config order.
  std::vector<HeartbeatAgentStatus> status() const;

  struct Impl;

 private:
  explicit HeartbeatService(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace talon::gateway::automation
