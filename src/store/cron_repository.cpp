#include "store/cron_repository.h"

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <utility>

#include "store/sqlite_connection.h"
#include "store/store.h"

namespace talon::store {
namespace {

#define TALON_CRON_JOB_COLUMNS                                                                             \
  "id, name, agent_id, enabled, spec_json, created_at_ms, updated_at_ms, next_run_at_ms, last_run_at_ms, " \
  "last_run_status, last_error, last_duration_ms, last_success_at_ms, consecutive_errors, "                \
  "consecutive_skipped, running_since_ms, auto_disabled_reason, auto_disabled_at_ms, schedule_errors, "    \
  "alerted_at_ms, alerts_sent"
#define TALON_CRON_RUN_COLUMNS                                                                                \
  "id, job_id, trigger, scheduled_at_ms, started_at_ms, finished_at_ms, status, error, run_id, session_key, " \
  "delivery_status, summary, duration_ms"
// The state columns, as `SET` assignments from parameters ?8..?21 (the same numbering in every write).
#define TALON_CRON_STATE_SET                                                                                \
  "next_run_at_ms = ?8, last_run_at_ms = ?9, last_run_status = ?10, last_error = ?11, "                     \
  "last_duration_ms = ?12, last_success_at_ms = ?13, consecutive_errors = ?14, consecutive_skipped = ?15, " \
  "running_since_ms = ?16, auto_disabled_reason = ?17, auto_disabled_at_ms = ?18, schedule_errors = ?19, "  \
  "alerted_at_ms = ?20, alerts_sent = ?21"

constexpr const char kInsertJob[] = "INSERT INTO cron_jobs (" TALON_CRON_JOB_COLUMNS
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                                    "?16, ?17, ?18, ?19, ?20, ?21)";
constexpr const char kUpdateJob[] =
    "UPDATE cron_jobs SET name = ?2, agent_id = ?3, enabled = ?4, spec_json = ?5, updated_at_ms = ?7, "
    "" TALON_CRON_STATE_SET " WHERE id = ?1";
constexpr const char kUpdateState[] = "UPDATE cron_jobs SET " TALON_CRON_STATE_SET " WHERE id = ?1";
constexpr const char kDeleteJobRuns[] = "DELETE FROM cron_runs WHERE job_id = ?1";
constexpr const char kDeleteJob[] = "DELETE FROM cron_jobs WHERE id = ?1";
constexpr const char kJobExists[] = "SELECT 1 FROM cron_jobs WHERE id = ?1";
constexpr const char kGetJob[] = "SELECT " TALON_CRON_JOB_COLUMNS " FROM cron_jobs WHERE id = ?1";
constexpr const char kListJobs[] = "SELECT " TALON_CRON_JOB_COLUMNS " FROM cron_jobs ORDER BY created_at_ms, id";

constexpr const char kInsertRun[] = "INSERT INTO cron_runs (" TALON_CRON_RUN_COLUMNS
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
constexpr const char kJobOfRun[] = "SELECT job_id FROM cron_runs WHERE id = ?1";
constexpr const char kFinishRun[] =
    "UPDATE cron_runs SET finished_at_ms = ?2, status = ?3, error = ?4, run_id = ?5, session_key = ?6, "
    "delivery_status = ?7, summary = ?8, duration_ms = ?9 WHERE id = ?1";
// The finished runs of job ?1 past the newest ?2 (in listRuns() order); running runs are never pruned.
constexpr const char kPruneRuns[] =
    "DELETE FROM cron_runs WHERE id IN (SELECT id FROM cron_runs WHERE job_id = ?1 AND status <> 'running' "
    "ORDER BY started_at_ms DESC, id DESC LIMIT -1 OFFSET ?2)";
constexpr const char kListRunsOfJob[] = "SELECT " TALON_CRON_RUN_COLUMNS
                                        " FROM cron_runs WHERE job_id = ?3 ORDER BY started_at_ms DESC, id DESC "
                                        "LIMIT ?1 OFFSET ?2";
constexpr const char kListRuns[] =
    "SELECT " TALON_CRON_RUN_COLUMNS " FROM cron_runs ORDER BY started_at_ms DESC, id DESC LIMIT ?1 OFFSET ?2";
constexpr const char kCountRunsOfJob[] = "SELECT count(*) FROM cron_runs WHERE job_id = ?1";
constexpr const char kCountRuns[] = "SELECT count(*) FROM cron_runs";
constexpr const char kGetRun[] = "SELECT " TALON_CRON_RUN_COLUMNS " FROM cron_runs WHERE id = ?1";
constexpr const char kRunningRuns[] =
    "SELECT " TALON_CRON_RUN_COLUMNS " FROM cron_runs WHERE status = 'running' ORDER BY started_at_ms, id";

#undef TALON_CRON_STATE_SET
#undef TALON_CRON_RUN_COLUMNS
#undef TALON_CRON_JOB_COLUMNS

constexpr std::array<std::string_view, 5> kRunStatuses = {"running", "ok", "error", "skipped", "interrupted"};

bool isRunStatus(std::string_view status) {
  for (std::string_view s : kRunStatuses) {
    if (s == status) return true;
  }
  return false;
}

CronJobRow readJob(const SQLite::Statement& q) {
  CronJobRow j;
  j.id = q.getColumn(0).getString();
  j.name = q.getColumn(1).getString();
  j.agentId = q.getColumn(2).getString();
  j.enabled = q.getColumn(3).getInt64() != 0;
  j.specJson = q.getColumn(4).getString();
  j.createdAtMs = q.getColumn(5).getInt64();
  j.updatedAtMs = q.getColumn(6).getInt64();
  CronJobState& s = j.state;
  s.nextRunAtMs = q.getColumn(7).getInt64();
  s.lastRunAtMs = q.getColumn(8).getInt64();
  s.lastRunStatus = q.getColumn(9).getString();
  s.lastError = q.getColumn(10).getString();
  s.lastDurationMs = q.getColumn(11).getInt64();
  s.lastSuccessAtMs = q.getColumn(12).getInt64();
  s.consecutiveErrors = q.getColumn(13).getInt64();
  s.consecutiveSkipped = q.getColumn(14).getInt64();
  s.runningSinceMs = q.getColumn(15).getInt64();
  s.autoDisabledReason = q.getColumn(16).getString();
  s.autoDisabledAtMs = q.getColumn(17).getInt64();
  s.scheduleErrors = q.getColumn(18).getInt64();
  s.alertedAtMs = q.getColumn(19).getInt64();
  s.alertsSent = q.getColumn(20).getInt64();
  return j;
}

CronRunRow readRun(const SQLite::Statement& q) {
  CronRunRow r;
  r.id = q.getColumn(0).getString();
  r.jobId = q.getColumn(1).getString();
  r.trigger = q.getColumn(2).getString();
  r.scheduledAtMs = q.getColumn(3).getInt64();
  r.startedAtMs = q.getColumn(4).getInt64();
  r.finishedAtMs = q.getColumn(5).getInt64();
  r.status = q.getColumn(6).getString();
  r.error = q.getColumn(7).getString();
  r.runId = q.getColumn(8).getString();
  r.sessionKey = q.getColumn(9).getString();
  r.deliveryStatus = q.getColumn(10).getString();
  r.summary = q.getColumn(11).getString();
  r.durationMs = q.getColumn(12).getInt64();
  return r;
}

// Binds the state to parameters ?8..?21 (TALON_CRON_STATE_SET).
void bindState(SQLite::Statement& q, const CronJobState& s) {
  q.bind(8, s.nextRunAtMs);
  q.bind(9, s.lastRunAtMs);
  q.bind(10, s.lastRunStatus);
  q.bind(11, s.lastError);
  q.bind(12, s.lastDurationMs);
  q.bind(13, s.lastSuccessAtMs);
  q.bind(14, s.consecutiveErrors);
  q.bind(15, s.consecutiveSkipped);
  q.bind(16, s.runningSinceMs);
  q.bind(17, s.autoDisabledReason);
  q.bind(18, s.autoDisabledAtMs);
  q.bind(19, s.scheduleErrors);
  q.bind(20, s.alertedAtMs);
  q.bind(21, s.alertsSent);
}

// Binds the job's own fields to ?1..?7 (id, name, agent, enabled, spec, created, updated).
void bindJob(SQLite::Statement& q, const CronJobRow& j) {
  q.bind(1, j.id);
  q.bind(2, j.name);
  q.bind(3, j.agentId);
  q.bind(4, j.enabled ? 1 : 0);
  q.bind(5, j.specJson);
  q.bind(6, j.createdAtMs);
  q.bind(7, j.updatedAtMs);
  bindState(q, j.state);
}

Status validateJob(const CronJobRow& j) {
  if (j.id.empty() || j.name.empty() || j.specJson.empty()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("cron job \"{}\" without id, name or spec", j.id),
                "invalid record");
  }
  return {};
}

Status jobNotFound(const std::string& id) {
  return fail(ErrorCode::kNotFound, "no cron job " + id, "the cron job does not exist");
}

class InsertJob final : public WriteOp {
 public:
  explicit InsertJob(CronJobRow job) : job_(std::move(job)) {}

  Status validate() const override { return validateJob(job_); }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kInsertJob);
    bindJob(q, job_);
    return tx.run(q, [&] { return "cron job " + job_.id; });
  }

 private:
  CronJobRow job_;
};

class UpdateJob final : public WriteOp {
 public:
  explicit UpdateJob(CronJobRow job) : job_(std::move(job)) {}

  Status validate() const override { return validateJob(job_); }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpdateJob);
    bindJob(q, job_);  // ?6 (createdAtMs) is bound but not assigned
    if (auto s = tx.run(q, [&] { return "cron job " + job_.id; }); !s) return s;
    if (tx.changes() == 0) return jobNotFound(job_.id);
    return {};
  }

 private:
  CronJobRow job_;
};

class UpdateState final : public WriteOp {
 public:
  UpdateState(std::string id, CronJobState state) : id_(std::move(id)), state_(std::move(state)) {}

  Status validate() const override {
    if (id_.empty()) return fail(ErrorCode::kInvalidArgument, "cron job state without a job id", "invalid record");
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& q = tx.statement(kUpdateState);
    q.bind(1, id_);
    bindState(q, state_);
    if (auto s = tx.run(q, [&] { return "state of cron job " + id_; }); !s) return s;
    if (tx.changes() == 0) return jobNotFound(id_);
    return {};
  }

 private:
  std::string id_;
  CronJobState state_;
};

class RemoveJob final : public WriteOp {
 public:
  explicit RemoveJob(std::string id) : id_(std::move(id)) {}

  Status validate() const override {
    if (id_.empty()) return fail(ErrorCode::kInvalidArgument, "cron job removal without a job id", "invalid record");
    return {};
  }

  Status apply(Transaction& tx) const override {
    SQLite::Statement& runs = tx.statement(kDeleteJobRuns);
    runs.bind(1, id_);
    if (auto s = tx.run(runs, [&] { return "runs of cron job " + id_; }); !s) return s;
    SQLite::Statement& job = tx.statement(kDeleteJob);
    job.bind(1, id_);
    if (auto s = tx.run(job, [&] { return "cron job " + id_; }); !s) return s;
    if (tx.changes() == 0) return jobNotFound(id_);  // the batch rolls back: nothing was deleted
    return {};
  }

 private:
  std::string id_;
};

class InsertRun final : public WriteOp {
 public:
  explicit InsertRun(CronRunRow run) : run_(std::move(run)) {}

  Status validate() const override {
    if (run_.id.empty() || run_.jobId.empty() || run_.trigger.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("cron run \"{}\" without id, job or trigger", run_.id),
                  "invalid record");
    }
    if (!isRunStatus(run_.status)) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("cron run {}: unknown status \"{}\"", run_.id, run_.status),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    {
      SQLite::Statement& exists = tx.statement(kJobExists);
      StatementReset reset(exists);
      exists.bind(1, run_.jobId);
      if (!exists.executeStep()) {
        return fail(ErrorCode::kFailedPrecondition, fmt::format("cron run {}: no cron job {}", run_.id, run_.jobId),
                    "the cron job does not exist");
      }
    }
    SQLite::Statement& q = tx.statement(kInsertRun);
    const CronRunRow& r = run_;
    q.bind(1, r.id);
    q.bind(2, r.jobId);
    q.bind(3, r.trigger);
    q.bind(4, r.scheduledAtMs);
    q.bind(5, r.startedAtMs);
    q.bind(6, r.finishedAtMs);
    q.bind(7, r.status);
    q.bind(8, r.error);
    q.bind(9, r.runId);
    q.bind(10, r.sessionKey);
    q.bind(11, r.deliveryStatus);
    q.bind(12, r.summary);
    q.bind(13, r.durationMs);
    return tx.run(q, [&] { return "cron run " + r.id; });
  }

 private:
  CronRunRow run_;
};

class FinishRun final : public WriteOp {
 public:
  FinishRun(CronRunRow run, int64_t keepPerJob) : run_(std::move(run)), keepPerJob_(keepPerJob) {}

  Status validate() const override {
    if (run_.id.empty())
      return fail(ErrorCode::kInvalidArgument, "cron run outcome without a run id", "invalid record");
    if (!isRunStatus(run_.status) || run_.status == "running") {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("cron run {}: \"{}\" is not an outcome", run_.id, run_.status), "invalid record");
    }
    if (keepPerJob_ < 1) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("cron run {}: keeping {} runs per job (at least 1)", run_.id, keepPerJob_),
                  "invalid record");
    }
    return {};
  }

  Status apply(Transaction& tx) const override {
    const CronRunRow& r = run_;
    std::string jobId;
    {
      SQLite::Statement& find = tx.statement(kJobOfRun);
      StatementReset reset(find);
      find.bind(1, r.id);
      if (!find.executeStep()) {
        return fail(ErrorCode::kNotFound, "no cron run " + r.id, "the cron run does not exist");
      }
      jobId = find.getColumn(0).getString();
    }
    SQLite::Statement& q = tx.statement(kFinishRun);
    q.bind(1, r.id);
    q.bind(2, r.finishedAtMs);
    q.bind(3, r.status);
    q.bind(4, r.error);
    q.bind(5, r.runId);
    q.bind(6, r.sessionKey);
    q.bind(7, r.deliveryStatus);
    q.bind(8, r.summary);
    q.bind(9, r.durationMs);
    if (auto s = tx.run(q, [&] { return "cron run " + r.id; }); !s) return s;
    SQLite::Statement& prune = tx.statement(kPruneRuns);
    prune.bind(1, jobId);
    prune.bind(2, keepPerJob_);
    return tx.run(prune, [&] { return "pruning the runs of cron job " + jobId; });
  }

 private:
  CronRunRow run_;
  int64_t keepPerJob_;
};

}  // namespace

void CronRepository::insertJob(WriteBatch& batch, CronJobRow job) { batch.emplace<InsertJob>(std::move(job)); }

void CronRepository::updateJob(WriteBatch& batch, CronJobRow job) { batch.emplace<UpdateJob>(std::move(job)); }

void CronRepository::updateState(WriteBatch& batch, std::string id, CronJobState state) {
  batch.emplace<UpdateState>(std::move(id), std::move(state));
}

void CronRepository::removeJob(WriteBatch& batch, std::string id) { batch.emplace<RemoveJob>(std::move(id)); }

void CronRepository::insertRun(WriteBatch& batch, CronRunRow run) { batch.emplace<InsertRun>(std::move(run)); }

void CronRepository::finishRun(WriteBatch& batch, CronRunRow run, int64_t keepPerJob) {
  batch.emplace<FinishRun>(std::move(run), keepPerJob);
}

Result<std::optional<CronJobRow>> CronRepository::getJob(const std::string& id) const {
  std::optional<CronJobRow> out;
  auto st = store_->read("reading a cron job", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGetJob);
    StatementReset reset(q);
    q.bind(1, id);
    if (q.executeStep()) out = readJob(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::vector<CronJobRow>> CronRepository::listJobs() const {
  std::vector<CronJobRow> out;
  auto st = store_->read("listing cron jobs", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kListJobs);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readJob(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<CronRepository::RunPage> CronRepository::listRuns(const std::string& jobId, int64_t limit,
                                                         int64_t offset) const {
  if (limit < 1 || offset < 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("listing cron runs: limit {} must be ≥ 1 and offset {} ≥ 0", limit, offset),
                "limit must be at least 1 and offset not negative");
  }
  RunPage page;
  const bool ofJob = !jobId.empty();
  auto st = store_->read("listing cron runs", [&](ReadConnection& c) -> Status {
    c.begin();  // count and page from one snapshot
    {
      SQLite::Statement& count = c.statement(ofJob ? kCountRunsOfJob : kCountRuns);
      StatementReset reset(count);
      if (ofJob) count.bind(1, jobId);
      if (count.executeStep()) page.total = count.getColumn(0).getInt64();
    }
    {
      SQLite::Statement& list = c.statement(ofJob ? kListRunsOfJob : kListRuns);
      StatementReset reset(list);
      list.bind(1, limit);
      list.bind(2, offset);
      if (ofJob) list.bind(3, jobId);
      while (list.executeStep()) page.runs.push_back(readRun(list));
    }
    c.commit();
    return {};
  });
  if (!st) return fail(st.error());
  return page;
}

Result<std::vector<CronRunRow>> CronRepository::runningRuns() const {
  std::vector<CronRunRow> out;
  auto st = store_->read("listing running cron runs", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kRunningRuns);
    StatementReset reset(q);
    while (q.executeStep()) out.push_back(readRun(q));
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

Result<std::optional<CronRunRow>> CronRepository::getRun(const std::string& id) const {
  std::optional<CronRunRow> out;
  auto st = store_->read("reading a cron run", [&](ReadConnection& c) -> Status {
    SQLite::Statement& q = c.statement(kGetRun);
    StatementReset reset(q);
    q.bind(1, id);
    if (q.executeStep()) out = readRun(q);
    return {};
  });
  if (!st) return fail(st.error());
  return out;
}

}  // namespace talon::store
