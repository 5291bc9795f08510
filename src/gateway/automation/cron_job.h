#pragma once
// A cron job's definition as OpenClaw's protocol carries it (dist src-*.mjs CronAddParamsSchema,
// CronJobSchema, CronUpdateParamsSchema; openclaw-semantics.md §4 "Job schema"), read strictly into the
// few values the scheduler acts on, and the wire objects cron.list / cron.get / cron.runs answer with.
//
// Talon implements schedules `at`, `every` and `cron`; payloads `systemEvent` (sessionTarget "main") and
// `agentTurn` (sessionTarget "isolated" or "session:<key>"); delivery `none`, `announce` and `webhook`;
// per-job `failureAlert`; and Talon's own per-job `escalation` {retryBackoff{initialMs, maxMs}, disableAfter}
// (an optional field OpenClaw's clients never send). What OpenClaw defines beyond that (payloads `command` and
// `script`, schedules `on-exit` and `stream`, `trigger`, `pacing`, `declarationKey`, `owner`, sessionTarget "current",
// wakeMode "next-heartbeat" on an agentTurn job, `completionDestination`, an agentTurn's `model`,
// `fallbacks`, `thinking`, `toolsAllow`, `lightContext`, `allowUnsafeExternalContent`) is refused with
// notSupportedYet (kUnsupported), never stored and ignored. Pure functions; thread-safe.
#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "config/config_model.h"
#include "gateway/automation/cron_schedule.h"
#include "gateway/routing/inbound_message.h"
#include "store/cron_repository.h"

namespace talon::gateway::automation {

/// Where a run's output or an alert goes (OpenClaw's `delivery` / `failureDestination` / `failureAlert`
/// route fields). An announce route without `channel` (or with "last") and `to` means OpenClaw's "the
/// last route the agent used": Talon does not track that yet, so such a delivery is recorded as
/// not delivered, with that reason, at each run.
struct CronRoute {
  /// "none" | "announce" | "webhook".
  std::string mode = "none";
  /// announce: the channel provider ("telegram", "loopback", …).
  std::string channel;
  /// announce: the peer ("user:<id>", "group:<id>", "channel:<id>" or a bare id = direct);
  /// webhook: the http(s) URL.
  std::string to;
  std::string accountId;
  std::string threadId;
};

/// A job's own `failureAlert`: absent (inherit cron.failureAlert), `false` (off), or fields that override
/// the global policy.
struct CronJobAlert {
  enum class Setting { kInherit, kOff, kOverride };
  Setting setting = Setting::kInherit;
  std::optional<int64_t> after;
  std::optional<int64_t> cooldownMs;
  std::optional<bool> includeSkipped;
  std::optional<std::string> mode;
  std::optional<std::string> channel;
  std::optional<std::string> to;
  std::optional<std::string> accountId;
};

/// A job's own `escalation` (Talon-only; docs/cron.md "Per-job escalation"): each field set overrides
/// the same field of `cron.escalation`; an unset field inherits it.
struct CronJobEscalation {
  /// `retryBackoff.initialMs`: the wait after the first error, ms (≥ 1000).
  std::optional<int64_t> retryInitialMs;
  /// `retryBackoff.maxMs`: the longest wait, ms (≥ initialMs once merged with cron.escalation).
  std::optional<int64_t> retryMaxMs;
  /// `disableAfter`: consecutive errors that disable the job; 0 never disables.
  std::optional<int64_t> disableAfter;

  /// `global` with this job's fields over it. Errors: kInvalidArgument when the merged maxMs is below the
  /// merged initialMs ("at /escalation/retryBackoff/maxMs: …").
  Result<config::CronEscalationConfig> over(const config::CronEscalationConfig& global) const;
  bool empty() const { return !retryInitialMs && !retryMaxMs && !disableAfter; }
};

/// The definition the scheduler acts on.
struct CronJobSpec {
  std::string name;     // 1–200 characters
  std::string agentId;  // empty: the default agent
  bool enabled = true;
  /// One-shot jobs are removed after a successful run (default true for `at`, as OpenClaw).
  bool deleteAfterRun = false;
  CronSchedule schedule;
  /// "main" | "isolated" | "session:<key>".
  std::string sessionTarget;
  /// "systemEvent" | "agentTurn".
  std::string payloadKind;
  /// "now" | "next-heartbeat" (systemEvent jobs only: the event waits for the agent's next heartbeat).
  std::string wakeMode = "now";
  /// systemEvent `text` / agentTurn `message`.
  std::string payloadText;
  /// agentTurn `timeoutSeconds` in ms; 0: the runner's default.
  int64_t timeoutMs = 0;
  CronRoute delivery;
  /// `delivery.bestEffort`: a delivery failure is not an alert route of its own.
  bool bestEffort = false;
  std::optional<CronRoute> failureDestination;
  CronJobAlert failureAlert;
  /// `escalation` (Talon-only): overrides of cron.escalation for this job.
  CronJobEscalation escalation;
  /// The normalized job object as stored and shown (OpenClaw's CronJobSchema without id, timestamps and
  /// state): `at` resolved to an absolute instant, deleteAfterRun made explicit for `at`.
  json::object json;
};

/// Reads a job definition (cron.add's params, or a stored definition) strictly. `nowMs` resolves a
/// relative `at` ("20m"). Errors: kInvalidArgument naming the field ("at /payload/message: must be a
/// non-empty string", "unexpected property 'x'", OpenClaw's rule texts such as "main cron jobs require
/// payload.kind=\"systemEvent\""); kUnsupported (notSupportedYet) for the OpenClaw features listed at the top
/// of this file.
Result<CronJobSpec> parseCronJobSpec(const json::object& params, int64_t nowMs);

/// Applies cron.update's `patch` (CronUpdateParamsSchema.patch) to a stored definition and returns the
/// merged definition (to be read again with parseCronJobSpec): top-level fields replace; `payload` of the
/// same kind merges field by field (null removes), of another kind replaces; `delivery` merges (null
/// removes a field); `failureAlert` false / null / an object merged over the job's. Errors:
/// kInvalidArgument for a malformed patch; kUnsupported for `state` and the features above.
Result<json::object> applyCronJobPatch(const json::object& current, const json::object& patch);

/// The job as OpenClaw's CronJobSchema: the definition plus id, createdAtMs, updatedAtMs, enabled,
/// `state{nextRunAtMs, runningAtMs, lastRunAtMs, lastRunStatus, lastError, lastDurationMs,
/// consecutiveErrors, consecutiveSkipped, autoDisabled{reason, atMs, consecutiveErrors},
/// lastFailureAlertAtMs}` (absent fields omitted) and the top-level mirrors nextRunAtMs, lastRunAtMs,
/// lastRunStatus, lastRunError.
json::object cronJobToJson(const store::CronJobRow& row);

/// One run as OpenClaw's CronRunLogEntrySchema: {ts, jobId, action:"finished", status, completionStatus,
/// error?, summary?, deliveryStatus, delivered?, sessionKey?, runId?, runAtMs, durationMs, jobName?}.
/// An "interrupted" run is status "error" with its error; a run still going is status omitted and
/// completionStatus "unknown".
json::object cronRunToJson(const store::CronRunRow& run, const std::string& jobName);

}  // namespace talon::gateway::automation
