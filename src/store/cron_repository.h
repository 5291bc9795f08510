#pragma once
// Cron jobs and their run history (OpenClaw keeps both in its SQLite store too; openclaw-semantics.md
// §4). A job is stored as OpenClaw's job object (without `state`) in canonical JSON, plus the columns
// the scheduler queries and the job's runtime state; the gateway's automation/cron_service.h owns the
// meaning of both. Tables: cron_jobs, cron_runs (migration step 10).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// A job's runtime state (OpenClaw's `state.*`, plus what escalation needs). Times in ms since the epoch;
/// 0 = never / none.
struct CronJobState {
  int64_t nextRunAtMs = 0;        // when it runs next; 0 = not scheduled (disabled, or a passed one-shot)
  int64_t lastRunAtMs = 0;        // when the last run started
  std::string lastRunStatus;      // "ok" | "error" | "skipped"; empty = never ran
  std::string lastError;          // the last run's error, one line; empty after a success
  int64_t lastDurationMs = 0;     // of the last finished run
  int64_t lastSuccessAtMs = 0;    // when the last successful run finished
  int64_t consecutiveErrors = 0;  // execution failures since the last success
  int64_t consecutiveSkipped = 0;
  int64_t runningSinceMs = 0;      // a run is in progress since then; 0 = none
  std::string autoDisabledReason;  // "consecutive-failures" | "schedule-errors"; empty = not auto-disabled
  int64_t autoDisabledAtMs = 0;
  int64_t scheduleErrors = 0;  // consecutive failures to compute the next run
  int64_t alertedAtMs = 0;     // a failure alert was sent for the open incident then; 0 = no incident
  int64_t alertsSent = 0;      // failure alerts sent in the open incident

  bool operator==(const CronJobState&) const = default;
};

/// One job.
struct CronJobRow {
  std::string id;       // uuid
  std::string name;     // 1–200 chars
  std::string agentId;  // empty = the default agent
  bool enabled = true;
  std::string specJson;  // OpenClaw's job object without `state`/`id`/timestamps, canonical JSON text
  int64_t createdAtMs = 0;
  int64_t updatedAtMs = 0;
  CronJobState state;

  bool operator==(const CronJobRow&) const = default;
};

/// One run of a job.
struct CronRunRow {
  std::string id;  // uuid
  std::string jobId;
  std::string trigger;        // "schedule" | "manual" | "catch-up" | "retry"
  int64_t scheduledAtMs = 0;  // the slot it ran for (manual: when it was asked for)
  int64_t startedAtMs = 0;
  int64_t finishedAtMs = 0;    // 0 while running
  std::string status;          // "running" | "ok" | "error" | "skipped" | "interrupted"
  std::string error;           // one line; empty unless error/skipped/interrupted
  std::string runId;           // the agent run it started; empty for none
  std::string sessionKey;      // the session it ran in; empty for none
  std::string deliveryStatus;  // "delivered" | "not-delivered" | "not-requested" | "unknown"
  std::string summary;         // the run's answer or event text, at most 2,000 chars
  int64_t durationMs = 0;

  bool operator==(const CronRunRow&) const = default;
};

/// Reads and writes of cron jobs and runs. A view over a Store (cheap to copy; the store must outlive
/// it). Reads: any thread; each sees every write whose commit was reported before it began.
class CronRepository {
 public:
  explicit CronRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert `job`. Required: id, name, specJson, which must be JSON text
  /// (kInvalidArgument); an id already used: kAlreadyExists.
  static void insertJob(WriteBatch& batch, CronJobRow job);
  /// Adds to `batch`: replace job `job.id` (every field but id and createdAtMs). Errors: kNotFound;
  /// kInvalidArgument as insertJob().
  static void updateJob(WriteBatch& batch, CronJobRow job);
  /// Adds to `batch`: replace only the state of job `id`. Errors: kNotFound.
  static void updateState(WriteBatch& batch, std::string id, CronJobState state);
  /// Adds to `batch`: delete job `id` and all its runs, in the same transaction. Errors: kNotFound.
  static void removeJob(WriteBatch& batch, std::string id);
  /// Adds to `batch`: insert `run` (normally status "running"). Errors: kInvalidArgument without id,
  /// jobId or trigger, or with a status not listed on CronRunRow::status; kFailedPrecondition when the
  /// job does not exist; kAlreadyExists for a used id.
  static void insertRun(WriteBatch& batch, CronRunRow run);
  /// Adds to `batch`: store the outcome of run `run.id` (finishedAtMs, status, error, runId, sessionKey,
  /// deliveryStatus, summary, durationMs), then delete the job's oldest finished runs beyond
  /// `keepPerJob` (≥ 1), oldest by startedAtMs as listRuns() orders them; runs still "running" are
  /// neither counted nor deleted. Errors: kNotFound when no run `run.id` exists; kInvalidArgument for
  /// keepPerJob < 1 or a status that is not an outcome ("ok", "error", "skipped", "interrupted").
  static void finishRun(WriteBatch& batch, CronRunRow run, int64_t keepPerJob);

  /// The job `id`, or nullopt. Errors: kFailedPrecondition after Store::close(), kIo.
  Result<std::optional<CronJobRow>> getJob(const std::string& id) const;
  /// Every job, oldest created first (ties by id). Errors: as getJob().
  Result<std::vector<CronJobRow>> listJobs() const;

  /// A page of runs, newest started first (ties by id), of one job or (jobId empty) of every job.
  struct RunPage {
    std::vector<CronRunRow> runs;
    int64_t total = 0;  // runs matching, over all pages
  };
  /// Errors: kInvalidArgument for limit < 1 or offset < 0; as getJob().
  Result<RunPage> listRuns(const std::string& jobId, int64_t limit, int64_t offset) const;
  /// The run `id`, or nullopt (what `cron.runs {runId}` answers; `openclaw cron run --wait` polls it).
  /// Errors: as getJob().
  Result<std::optional<CronRunRow>> getRun(const std::string& id) const;
  /// Runs still "running" (what a start marks interrupted after a crash). Errors: as getJob().
  Result<std::vector<CronRunRow>> runningRuns() const;

 private:
  Store* store_;
};

}  // namespace talon::store
