#pragma once
// The cron scheduler (openclaw-semantics.md §4 "Runtime", "Run history", "Retry and backoff", "Failure
// alerts"; docs/cron.md): runs the stored jobs (store/cron_repository.h) at their times, records every run,
// and escalates failing jobs so that no failure goes unnoticed.
//
// Scheduling: one timer (Executors::after) armed for the earliest `state.nextRunAtMs` of the enabled jobs,
// re-armed after every change and every run; there is no polling. A due job runs: `agentTurn` submits a
// turn to the AgentRunner (sessionTarget "isolated": a fresh session `agent:<agent>:cron:<jobId>:run:<runId>`
// per run; "session:<key>": that session — an `agent:` key as given, any other key scoped to the job's
// agent); `systemEvent` (sessionTarget "main") submits its text as a turn in the agent's main session
// `agent:<agent>:main`. When the agent has a heartbeat (heartbeat_service.h), a systemEvent is queued for
// its next heartbeat, and wakeMode "now" runs that heartbeat at once, as OpenClaw does; the run is
// recorded ok once the event is queued (summary "queued for the next heartbeat" / "woke the heartbeat").
// Without a heartbeat, wakeMode "now" runs the text as that turn and "next-heartbeat" fails the run (there
// is no heartbeat to wait for). One run at a time per
// job: a slot that comes due while the job runs is recorded as a "skipped" run. Each run is a CronRunRow
// (inserted "running" at start, finished with its outcome); history is bounded to `runHistoryPerJob` runs
// per job (default 200).
//
// Delivery (after a successful run): `announce` sends the answer through the outbox to delivery.channel /
// to / accountId; `webhook` POSTs {jobId, jobName, runId, status, summary, …} to delivery.to (signed by the
// WebhookSender, with `Authorization: Bearer <cron.webhookToken>` when set). A delivery failure is recorded
// on the run (deliveryStatus "not-delivered") and does not count as a job error (as OpenClaw).
//
// Escalation (cron.escalation, or the job's own `escalation` over it; cron.failureAlert, the job's
// failureAlert; the decisions are gateway/automation/escalation.h's): while a job fails, its next
// attempt waits min(maxMs, initialMs·2^(errors-1)) instead of its cadence; after `after` consecutive errors
// (skipped runs too with includeSkipped) an alert goes to the alert route (failureAlert fields, else
// delivery.failureDestination, else the announce target) — once per incident, again only after cooldownMs
// while the incident stays open; the first success after an alert sends one recovery notice and closes
// the incident; after `disableAfter` consecutive errors the job is disabled with state.autoDisabled reason
// "consecutive-failures". Each action is an audit record (kind "cron.escalation"), a count in
// talon_cron_escalations_total{action = backoff | alert | recovery | disable}, a `cron` event (action
// "updated", with `escalation`) and a health record change: component "cron:<jobId>", dimension "runs",
// ok (healthy) | degraded (failing, backing off) | failed (auto-disabled).
//
// Start: runs left "running" by a crash are finished as "interrupted" (an error of their job); then each
// enabled job whose nextRunAtMs passed while the gateway was down follows the catch-up policy: with
// cron.skipMissedJobs its next slot after now is taken (nothing runs; one-shot `at` jobs still run once),
// otherwise it runs once (trigger "catch-up") — never once per missed slot.
//
// Thread rules: every public member may be called from any thread; members that read or write the store
// (create, start, the job operations) block on it and belong on Executors::blocking or the start-up
// thread. Timer work and run completions hop to `executors.blocking`. The dependencies outlive the service;
// stop() before destroying it.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/automation/cron_job.h"
#include "gateway/automation/cron_preflight.h"
#include "gateway/automation/escalation.h"
#include "gateway/automation/heartbeat_service.h"
#include "gateway/automation/webhook_sender.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "security/audit_sink.h"
#include "store/cron_repository.h"
#include "store/store.h"

namespace talon::gateway::channels {
class OutboundDispatcher;
}

namespace talon::gateway::health {
class AlertRouter;
}

namespace talon::gateway::automation {

/// The scheduler's metrics (registered by CronService::create). `job` is the job id.
inline constexpr health::MetricSpec kCronServiceMetrics[] = {
    {"talon_cron_runs_total",
     health::MetricType::kCounter,
     "Cron job runs finished, by outcome (ok, error, skipped, interrupted).",
     {"outcome"}},
    {"talon_cron_job_consecutive_errors",
     health::MetricType::kGauge,
     "Consecutive failed runs of a cron job (0 after a success).",
     {"job"}},
    {"talon_cron_job_last_success_timestamp_seconds",
     health::MetricType::kGauge,
     "When a cron job last succeeded, seconds since the epoch (0: never).",
     {"job"}},
    {"talon_cron_escalations_total",
     health::MetricType::kCounter,
     "Cron escalation actions, by action (backoff, alert, recovery, disable).",
     {"action"}},
};

/// What the service uses. References and pointers must outlive the service.
struct CronServiceDeps {
  ClockPtr clock;
  /// Needs io, blocking and after.
  Executors executors;
  store::Store* store = nullptr;
  AgentRunner* runner = nullptr;
  /// The outbox, for announce delivery and channel alerts; null: those fail (recorded, never silent).
  channels::OutboundDispatcher* outbound = nullptr;
  /// For webhook delivery and webhook alerts; null: those fail (recorded).
  WebhookSender* webhooks = nullptr;
  health::HealthRegistry* health = nullptr;
  health::MetricsRegistry* metrics = nullptr;
  EventBus* bus = nullptr;
  security::AuditSink* audit = nullptr;
  config::CronConfig config;
  /// The agent a job without agentId runs as (the sole/default agent).
  std::string defaultAgentId;
  /// Finished runs kept per job (≥ 1).
  int64_t runHistoryPerJob = 200;
  /// The heartbeats: a systemEvent job of an agent with a heartbeat queues its text for that heartbeat
  /// (and with wakeMode "now" wakes it); null: system events run as turns (see the file comment).
  HeartbeatService* heartbeat = nullptr;
  /// gateway.alerts (health/alert_router.h): a failing job is raised as the incident "cron:<jobId>"
  /// (warning after `failureAlert.after` consecutive failures, critical when auto-disabled) and resolved
  /// by its next success; a job with `failureAlert: false` is left out. Null: not wired.
  health::AlertRouter* alerts = nullptr;
  /// The local-endpoint preflight of isolated agentTurn runs (cron_preflight.h): when every model of the
  /// agent's chain is an unreachable local endpoint, the run is recorded "skipped" with the preflight's
  /// reason and no model call; a skipped run does not count as an error (no backoff, no disable). Null:
  /// none.
  std::shared_ptr<CronPreflight> preflight{};
};

/// Who asked for a job operation (for audit records): "operator:<clientId>", "cli:<user>", "system".
struct CronActor {
  std::string actor = "system";
};

/// cron.run's answer (OpenClaw: {ok:true, enqueued:true, runId} or {ok:true, ran:false, reason}).
struct CronRunRequestResult {
  bool enqueued = false;
  std::string runId;   // when enqueued
  std::string reason;  // when not: "not-due" | "already-running" | "disabled" | "stopped"
};

/// cron.status's answer.
struct CronStatus {
  bool enabled = false;  // the scheduler runs
  int64_t jobs = 0;
  int64_t nextWakeAtMs = 0;  // 0: nothing scheduled
  std::string storePath;
};

class CronService {
 public:
  /// Registers kCronServiceMetrics and loads the stored jobs. Errors: kInvalidArgument when a required
  /// dependency is missing; the store's read errors; MetricsRegistry::add's.
  static Result<std::unique_ptr<CronService>> create(CronServiceDeps deps);
  ~CronService();
  CronService(const CronService&) = delete;
  CronService& operator=(const CronService&) = delete;

  /// Marks interrupted runs, applies the catch-up policy and arms the timer (see the file comment).
  /// Blocks on the store. Errors: the store's. Calling it twice does nothing the second time.
  Status start();
  /// Cancels the timer; runs in progress finish and are recorded, nothing new starts. Idempotent.
  void stop();
  /// True between start() and stop().
  bool started() const;

  /// cron.add: validates `params` (parseCronJobSpec), stores the job, schedules it. Errors: as
  /// parseCronJobSpec; kNotFound for an unknown agentId; the store's.
  Result<json::object> add(const json::object& params, const CronActor& actor);
  /// cron.update: applies `patch` (applyCronJobPatch) and re-validates. Enabling a job clears its
  /// autoDisabled state and its error count. Errors: kNotFound; as add().
  Result<json::object> update(const std::string& id, const json::object& patch, const CronActor& actor);
  /// cron.remove (the job and its runs). Errors: kNotFound; the store's.
  Status remove(const std::string& id, const CronActor& actor);
  /// cron.get: the job as cronJobToJson, or nullopt.
  std::optional<json::object> get(const std::string& id) const;
  /// cron.list: every job, oldest created first.
  std::vector<json::object> list() const;
  /// A copy of the stored row of job `id` (tests and status output), or nullopt.
  std::optional<store::CronJobRow> row(const std::string& id) const;
  /// cron.run: `mode` "force" (run now, even when disabled), "due" (only when nextRunAtMs has passed),
  /// "if-enabled" (now, unless disabled). A manual run keeps the schedule. Errors: kNotFound; the store's.
  Result<CronRunRequestResult> run(const std::string& id, const std::string& mode, const CronActor& actor);
  /// cron.runs: a page of runs of one job (jobId) or of all (empty), newest first. Errors: the store's.
  /// The run `runId` (any job), or nullopt. Any thread (a store read). Errors: the store's.
  Result<std::optional<store::CronRunRow>> findRun(const std::string& runId) const;
  Result<store::CronRepository::RunPage> runs(const std::string& jobId, int64_t limit, int64_t offset) const;
  /// The name of job `id` (empty when unknown).
  std::string jobName(const std::string& id) const;
  /// cron.status.
  CronStatus status() const;
  /// Runs of jobs in progress now.
  std::size_t activeRuns() const;

  struct Impl;

 private:
  explicit CronService(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

/// The wait before the retry that follows `consecutiveErrors` (≥ 1) errors: min(maxMs,
/// initialMs·2^(n-1)), in ms. Pure.
int64_t cronRetryDelayMs(const config::CronEscalationConfig& escalation, int64_t consecutiveErrors);

}  // namespace talon::gateway::automation
