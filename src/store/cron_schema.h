#pragma once
// The tables of store/cron_repository.h (migration step 10, "cron_jobs, cron_runs").
#include <string_view>

namespace talon::store {

// cron_jobs: one row per job. spec_json is OpenClaw's job object without `state`, `id` and the
// timestamps (the cron service's canonical JSON); the state.* columns are the job's runtime state.
// cron_runs: the bounded run history. A run refers to its job (CronRepository::removeJob deletes the
// runs first, in the same transaction); finished runs beyond the per-job bound are pruned by
// CronRepository::finishRun. Indexes serve the repository's reads: a job's runs newest first, every
// run newest first, the runs still running, and the jobs in creation order.
constexpr std::string_view kCronSchema = R"sql(
CREATE TABLE cron_jobs (
  id                   TEXT PRIMARY KEY NOT NULL,
  name                 TEXT NOT NULL CHECK (name <> ''),
  agent_id             TEXT NOT NULL DEFAULT '',
  enabled              INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  spec_json            TEXT NOT NULL CHECK (json_valid(spec_json)),
  created_at_ms        INTEGER NOT NULL,
  updated_at_ms        INTEGER NOT NULL,
  next_run_at_ms       INTEGER NOT NULL DEFAULT 0,
  last_run_at_ms       INTEGER NOT NULL DEFAULT 0,
  last_run_status      TEXT NOT NULL DEFAULT '',
  last_error           TEXT NOT NULL DEFAULT '',
  last_duration_ms     INTEGER NOT NULL DEFAULT 0,
  last_success_at_ms   INTEGER NOT NULL DEFAULT 0,
  consecutive_errors   INTEGER NOT NULL DEFAULT 0,
  consecutive_skipped  INTEGER NOT NULL DEFAULT 0,
  running_since_ms     INTEGER NOT NULL DEFAULT 0,
  auto_disabled_reason TEXT NOT NULL DEFAULT '',
  auto_disabled_at_ms  INTEGER NOT NULL DEFAULT 0,
  schedule_errors      INTEGER NOT NULL DEFAULT 0,
  alerted_at_ms        INTEGER NOT NULL DEFAULT 0,
  alerts_sent          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cron_jobs_by_created ON cron_jobs (created_at_ms, id);

CREATE TABLE cron_runs (
  id              TEXT PRIMARY KEY NOT NULL,
  job_id          TEXT NOT NULL REFERENCES cron_jobs (id),
  trigger         TEXT NOT NULL CHECK (trigger <> ''),
  scheduled_at_ms INTEGER NOT NULL DEFAULT 0,
  started_at_ms   INTEGER NOT NULL,
  finished_at_ms  INTEGER NOT NULL DEFAULT 0,
  status          TEXT NOT NULL CHECK (status IN ('running', 'ok', 'error', 'skipped', 'interrupted')),
  error           TEXT NOT NULL DEFAULT '',
  run_id          TEXT NOT NULL DEFAULT '',
  session_key     TEXT NOT NULL DEFAULT '',
  delivery_status TEXT NOT NULL DEFAULT '',
  summary         TEXT NOT NULL DEFAULT '',
  duration_ms     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cron_runs_by_job_started ON cron_runs (job_id, started_at_ms DESC, id DESC);
CREATE INDEX cron_runs_by_started ON cron_runs (started_at_ms DESC, id DESC);
CREATE INDEX cron_runs_running ON cron_runs (started_at_ms, id) WHERE status = 'running';
)sql";

}  // namespace talon::store
