#include "store/cron_repository.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/sqlite_migrations.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

namespace fs = std::filesystem;

// Every field set to a value distinct from its default, so that a column left out of a write or a read
// shows up as a difference.
CronJobState fullState(int64_t base) {
  CronJobState s;
  s.nextRunAtMs = base + 1;
  s.lastRunAtMs = base + 2;
  s.lastRunStatus = "error";
  s.lastError = "unavailable: provider down";
  s.lastDurationMs = base + 3;
  s.lastSuccessAtMs = base + 4;
  s.consecutiveErrors = 5;
  s.consecutiveSkipped = 6;
  s.runningSinceMs = base + 7;
  s.autoDisabledReason = "consecutive-failures";
  s.autoDisabledAtMs = base + 8;
  s.scheduleErrors = 9;
  s.alertedAtMs = base + 10;
  s.alertsSent = 11;
  return s;
}

CronJobRow job(std::string id, int64_t createdAtMs) {
  CronJobRow j;
  j.id = std::move(id);
  j.name = "Morning brief " + j.id;
  j.agentId = "ops";
  j.enabled = false;
  j.specJson = R"({"schedule":{"expr":"0 7 * * *","kind":"cron","tz":"Europe/Berlin"},"sessionTarget":"isolated"})";
  j.createdAtMs = createdAtMs;
  j.updatedAtMs = createdAtMs + 500;
  j.state = fullState(createdAtMs);
  return j;
}

CronRunRow run(std::string id, std::string jobId, int64_t startedAtMs) {
  CronRunRow r;
  r.id = std::move(id);
  r.jobId = std::move(jobId);
  r.trigger = "schedule";
  r.scheduledAtMs = startedAtMs - 10;
  r.startedAtMs = startedAtMs;
  r.status = "running";
  return r;
}

CronRunRow finished(CronRunRow r, std::string status = "ok") {
  r.status = std::move(status);
  r.finishedAtMs = r.startedAtMs + 250;
  r.durationMs = 250;
  r.error = r.status == "ok" ? "" : "boom";
  r.runId = "agent-run-" + r.id;
  r.sessionKey = "agent:ops:cron:" + r.jobId;
  r.deliveryStatus = "delivered";
  r.summary = "All green.";
  return r;
}

std::vector<std::string> idsOf(const std::vector<CronRunRow>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.id);
  return out;
}

// A write the store does not know, added to a batch after cron writes: fails the batch like a full disk.
class DiskFullOp final : public WriteOp {
 public:
  Status validate() const override { return {}; }
  Status apply(Transaction&) const override {
    return fail(ErrorCode::kIo, "simulated failure: database or disk is full");
  }
};

class CronRepositoryTest : public testing::StoreTest {
 protected:
  CronRepository cron() { return store_->cron(); }

  Status insertJob(CronJobRow j) {
    WriteBatch b;
    CronRepository::insertJob(b, std::move(j));
    return store_->write(std::move(b));
  }
  Status insertRun(CronRunRow r) {
    WriteBatch b;
    CronRepository::insertRun(b, std::move(r));
    return store_->write(std::move(b));
  }
  Status finishRun(CronRunRow r, int64_t keep = 100) {
    WriteBatch b;
    CronRepository::finishRun(b, std::move(r), keep);
    return store_->write(std::move(b));
  }
  // Inserts and finishes a run in one batch.
  Status addFinished(const std::string& id, const std::string& jobId, int64_t startedAtMs, int64_t keep = 100) {
    WriteBatch b;
    CronRepository::insertRun(b, run(id, jobId, startedAtMs));
    CronRepository::finishRun(b, finished(run(id, jobId, startedAtMs)), keep);
    return store_->write(std::move(b));
  }
  std::vector<std::string> runIds(const std::string& jobId) {
    auto page = cron().listRuns(jobId, 1000, 0);
    EXPECT_TRUE(page) << page.error().toString();
    return page ? idsOf(page->runs) : std::vector<std::string>{};
  }
};

TEST_F(CronRepositoryTest, AJobRoundTripsEveryField) {
  CronJobRow in = job("j1", 1000);
  ASSERT_TRUE(insertJob(in));
  auto got = cron().getJob("j1");
  ASSERT_TRUE(got) << got.error().toString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, in);
  // And the defaults (an enabled job, never run) round-trip too.
  CronJobRow fresh;
  fresh.id = "j2";
  fresh.name = "n";
  fresh.specJson = "{}";
  ASSERT_TRUE(insertJob(fresh));
  got = cron().getJob("j2");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, fresh);
  EXPECT_TRUE((*got)->enabled);
  auto missing = cron().getJob("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(CronRepositoryTest, ARunRoundTripsEveryFieldBeforeAndAfterItFinishes) {
  ASSERT_TRUE(insertJob(job("j", 1)));
  CronRunRow started = run("r1", "j", 5000);
  started.trigger = "manual";
  started.runId = "agent-run-early";
  ASSERT_TRUE(insertRun(started));
  auto page = cron().listRuns("j", 10, 0);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->runs.size(), 1u);
  EXPECT_EQ(page->runs[0], started);

  CronRunRow outcome = finished(started, "error");
  outcome.error = "timeout: the run took longer than 600 s";
  outcome.deliveryStatus = "not-delivered";
  ASSERT_TRUE(finishRun(outcome));
  page = cron().listRuns("j", 10, 0);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->runs.size(), 1u);
  EXPECT_EQ(page->runs[0], outcome);

  // finishRun stores only the outcome: trigger, job and the times it started keep their values.
  CronRunRow changed = finished(started, "ok");
  changed.jobId = "other";
  changed.trigger = "retry";
  changed.scheduledAtMs = 1;
  changed.startedAtMs = 2;
  ASSERT_TRUE(finishRun(changed));
  page = cron().listRuns("j", 10, 0);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->runs.size(), 1u);
  CronRunRow expected = finished(started, "ok");
  EXPECT_EQ(page->runs[0], expected);
}

TEST_F(CronRepositoryTest, UpdateJobReplacesEverythingButIdAndCreationTime) {
  ASSERT_TRUE(insertJob(job("j", 1000)));
  CronJobRow next = job("j", 7777);  // another creation time: not stored
  next.name = "renamed";
  next.agentId = "";
  next.enabled = true;
  next.specJson = R"({"schedule":{"everyMs":60000,"kind":"every"}})";
  next.updatedAtMs = 9000;
  next.state = fullState(50000);
  WriteBatch b;
  CronRepository::updateJob(b, next);
  ASSERT_TRUE(store_->write(std::move(b)));
  auto got = cron().getJob("j");
  ASSERT_TRUE(got && got->has_value());
  CronJobRow expected = next;
  expected.createdAtMs = 1000;
  EXPECT_EQ(**got, expected);
}

TEST_F(CronRepositoryTest, UpdateStateTouchesOnlyTheState) {
  CronJobRow in = job("j", 1000);
  ASSERT_TRUE(insertJob(in));
  CronJobState state;  // back to "never ran": every field changes
  state.nextRunAtMs = 123;
  WriteBatch b;
  CronRepository::updateState(b, "j", state);
  ASSERT_TRUE(store_->write(std::move(b)));
  auto got = cron().getJob("j");
  ASSERT_TRUE(got && got->has_value());
  CronJobRow expected = in;
  expected.state = state;
  EXPECT_EQ(**got, expected);
}

TEST_F(CronRepositoryTest, ListJobsIsOldestCreatedFirstWithTiesById) {
  ASSERT_TRUE(insertJob(job("c", 2000)));
  ASSERT_TRUE(insertJob(job("b", 1000)));
  ASSERT_TRUE(insertJob(job("a", 2000)));
  ASSERT_TRUE(insertJob(job("d", 500)));
  auto jobs = cron().listJobs();
  ASSERT_TRUE(jobs) << jobs.error().toString();
  std::vector<std::string> ids;
  for (const auto& j : *jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"d", "b", "a", "c"}));
  EXPECT_EQ((*jobs)[0], job("d", 500));
}

TEST_F(CronRepositoryTest, MalformedJobsDuplicatesAndUnknownIdsAreErrors) {
  for (auto strip : {+[](CronJobRow& j) { j.id.clear(); }, +[](CronJobRow& j) { j.name.clear(); },
                     +[](CronJobRow& j) { j.specJson.clear(); }}) {
    CronJobRow j = job("x", 1);
    strip(j);
    auto s = insertJob(j);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  CronJobRow notJson = job("x", 1);
  notJson.specJson = "{\"schedule\":";
  auto s = insertJob(notJson);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << s.error().toString();

  ASSERT_TRUE(insertJob(job("x", 1)));
  s = insertJob(job("x", 2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);

  WriteBatch update;
  CronRepository::updateJob(update, job("ghost", 1));
  s = store_->write(std::move(update));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  WriteBatch state;
  CronRepository::updateState(state, "ghost", CronJobState{});
  s = store_->write(std::move(state));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  WriteBatch remove;
  CronRepository::removeJob(remove, "ghost");
  s = store_->write(std::move(remove));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  // The existing job is untouched by the failed writes.
  auto got = cron().getJob("x");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, job("x", 1));
}

TEST_F(CronRepositoryTest, MalformedRunsDuplicatesMissingJobsAndUnknownRunsAreErrors) {
  ASSERT_TRUE(insertJob(job("j", 1)));
  for (auto strip : {+[](CronRunRow& r) { r.id.clear(); }, +[](CronRunRow& r) { r.jobId.clear(); },
                     +[](CronRunRow& r) { r.trigger.clear(); }, +[](CronRunRow& r) { r.status = "lost"; }}) {
    CronRunRow r = run("r", "j", 1);
    strip(r);
    auto s = insertRun(r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
  auto s = insertRun(run("r", "no-such-job", 1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(insertRun(run("r", "j", 1)));
  s = insertRun(run("r", "j", 2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);

  s = finishRun(finished(run("ghost", "j", 1)));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  s = finishRun(run("r", "j", 1));  // "running" is not an outcome
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  s = finishRun(finished(run("r", "j", 1)), 0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);

  auto bad = cron().listRuns("j", 0, 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  bad = cron().listRuns("j", 10, -1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  // The run is still the one inserted, running.
  auto running = cron().runningRuns();
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0], run("r", "j", 1));
}

TEST_F(CronRepositoryTest, ListRunsPagesNewestFirstForOneJobAndForAll) {
  ASSERT_TRUE(insertJob(job("a", 1)));
  ASSERT_TRUE(insertJob(job("b", 2)));
  ASSERT_TRUE(addFinished("a1", "a", 100));
  ASSERT_TRUE(addFinished("b1", "b", 150));
  ASSERT_TRUE(addFinished("a2", "a", 200));
  ASSERT_TRUE(addFinished("a3y", "a", 300));
  ASSERT_TRUE(addFinished("a3x", "a", 300));  // same start: ties newest-id first
  ASSERT_TRUE(insertRun(run("b2", "b", 400)));

  auto page = cron().listRuns("a", 2, 0);
  ASSERT_TRUE(page) << page.error().toString();
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(idsOf(page->runs), (std::vector<std::string>{"a3y", "a3x"}));
  page = cron().listRuns("a", 2, 2);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(idsOf(page->runs), (std::vector<std::string>{"a2", "a1"}));
  page = cron().listRuns("a", 2, 4);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 4);
  EXPECT_TRUE(page->runs.empty());

  page = cron().listRuns("", 3, 0);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 6);
  EXPECT_EQ(idsOf(page->runs), (std::vector<std::string>{"b2", "a3y", "a3x"}));
  page = cron().listRuns("", 3, 3);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 6);
  EXPECT_EQ(idsOf(page->runs), (std::vector<std::string>{"a2", "b1", "a1"}));

  page = cron().listRuns("no-such-job", 10, 0);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 0);
  EXPECT_TRUE(page->runs.empty());
}

TEST_F(CronRepositoryTest, FinishRunKeepsExactlyTheNewestFinishedRunsOfItsJobAndNeverARunningOne) {
  ASSERT_TRUE(insertJob(job("a", 1)));
  ASSERT_TRUE(insertJob(job("b", 2)));
  ASSERT_TRUE(insertRun(run("stuck", "a", 10)));  // older than everything, still running
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(addFinished("b" + std::to_string(i), "b", 10 * i));
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(addFinished("a" + std::to_string(i), "a", 100 * i));
  ASSERT_TRUE(insertRun(run("live", "a", 450)));  // running, newer than some finished ones
  EXPECT_EQ(runIds("a"), (std::vector<std::string>{"live", "a4", "a3", "a2", "a1", "stuck"}));

  ASSERT_TRUE(addFinished("a5", "a", 500, 3));
  EXPECT_EQ(runIds("a"), (std::vector<std::string>{"a5", "live", "a4", "a3", "stuck"}));
  // The other job's history is its own.
  EXPECT_EQ(runIds("b"), (std::vector<std::string>{"b5", "b4", "b3", "b2", "b1"}));

  // keepPerJob 1: only the newest finished one stays, beside the running ones.
  ASSERT_TRUE(addFinished("a6", "a", 600, 1));
  EXPECT_EQ(runIds("a"), (std::vector<std::string>{"a6", "live", "stuck"}));

  // Finishing a running run counts it among the finished: the bound holds with it.
  CronRunRow live = finished(run("live", "a", 450), "error");
  ASSERT_TRUE(finishRun(live, 1));
  EXPECT_EQ(runIds("a"), (std::vector<std::string>{"a6", "stuck"}));
  auto running = cron().runningRuns();
  ASSERT_TRUE(running);
  EXPECT_EQ(idsOf(*running), (std::vector<std::string>{"stuck"}));
}

TEST_F(CronRepositoryTest, RemoveJobRemovesItsRunsAndOnlyThem) {
  ASSERT_TRUE(insertJob(job("a", 1)));
  ASSERT_TRUE(insertJob(job("b", 2)));
  ASSERT_TRUE(addFinished("a1", "a", 100));
  ASSERT_TRUE(insertRun(run("a2", "a", 200)));
  ASSERT_TRUE(addFinished("b1", "b", 150));
  WriteBatch b;
  CronRepository::removeJob(b, "a");
  ASSERT_TRUE(store_->write(std::move(b)));
  auto gone = cron().getJob("a");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  auto all = cron().listRuns("", 10, 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 1);
  EXPECT_EQ(idsOf(all->runs), (std::vector<std::string>{"b1"}));
  auto running = cron().runningRuns();
  ASSERT_TRUE(running);
  EXPECT_TRUE(running->empty());
  // The id can be used again, with a history of its own.
  ASSERT_TRUE(insertJob(job("a", 3)));
  EXPECT_TRUE(runIds("a").empty());
}

TEST_F(CronRepositoryTest, RunningRunsAreTheUnfinishedOnesOfEveryJobOldestFirst) {
  ASSERT_TRUE(insertJob(job("a", 1)));
  ASSERT_TRUE(insertJob(job("b", 2)));
  ASSERT_TRUE(insertRun(run("a-late", "a", 300)));
  ASSERT_TRUE(addFinished("a-done", "a", 100));
  ASSERT_TRUE(insertRun(run("b-early", "b", 200)));
  auto running = cron().runningRuns();
  ASSERT_TRUE(running) << running.error().toString();
  ASSERT_EQ(running->size(), 2u);
  EXPECT_EQ((*running)[0], run("b-early", "b", 200));
  EXPECT_EQ((*running)[1], run("a-late", "a", 300));
  // A start marks them interrupted: they leave the list and stay in the history.
  CronRunRow interrupted = run("a-late", "a", 300);
  interrupted.status = "interrupted";
  interrupted.error = "the gateway stopped during the run";
  interrupted.finishedAtMs = 900;
  ASSERT_TRUE(finishRun(interrupted));
  running = cron().runningRuns();
  ASSERT_TRUE(running);
  EXPECT_EQ(idsOf(*running), (std::vector<std::string>{"b-early"}));
  EXPECT_EQ(runIds("a"), (std::vector<std::string>{"a-late", "a-done"}));
}

TEST_F(CronRepositoryTest, ABatchMixingCronWritesWithAFailingOpRollsEverythingBack) {
  ASSERT_TRUE(insertJob(job("j", 1)));
  ASSERT_TRUE(insertRun(run("r", "j", 100)));
  {
    WriteBatch b;
    CronRepository::insertJob(b, job("new", 2));
    CronRepository::updateState(b, "j", CronJobState{});
    CronRepository::finishRun(b, finished(run("r", "j", 100)), 1);
    b.add(std::make_unique<DiskFullOp>());
    auto s = store_->write(std::move(b));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kIo);
  }
  {
    // A cron write that fails rolls back the writes before it too.
    WriteBatch b;
    CronRepository::removeJob(b, "j");
    CronRepository::insertRun(b, run("r2", "missing", 1));
    auto s = store_->write(std::move(b));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  }
  auto jobs = cron().listJobs();
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0], job("j", 1));
  auto running = cron().runningRuns();
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0], run("r", "j", 100));
}

TEST_F(CronRepositoryTest, JobsAndRunsSurviveAReopen) {
  ASSERT_TRUE(insertJob(job("j", 1)));
  ASSERT_TRUE(insertRun(run("r", "j", 100)));
  store_->close();
  store_.reset();
  open();
  auto got = cron().getJob("j");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, job("j", 1));
  auto running = cron().runningRuns();
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0], run("r", "j", 100));
}

// Every read of the repository, and the pruning delete, use an index (no sort of a temporary b-tree).
TEST_F(CronRepositoryTest, EveryReadAndThePruneUseAnIndex) {
  store_->close();
  store_.reset();
  std::mutex mu;
  std::set<std::string> reads;
  SqliteStoreOptions options;
  options.onPrepareRead = [&](std::string_view sql) {
    std::lock_guard lock(mu);
    reads.emplace(sql);
  };
  open(options);
  ASSERT_TRUE(cron().getJob("j"));
  ASSERT_TRUE(cron().listJobs());
  ASSERT_TRUE(cron().listRuns("j", 10, 0));
  ASSERT_TRUE(cron().listRuns("", 10, 0));
  ASSERT_TRUE(cron().runningRuns());
  store_->close();
  std::erase_if(reads, [](const std::string& q) { return !q.starts_with("SELECT"); });
  EXPECT_EQ(reads.size(), 7u);  // get, list jobs; runs of a job and of all (page and count each); running
  // The prune's inner select (the writer's statement is not reported) and the insert's job check.
  reads.emplace(
      "SELECT id FROM cron_runs WHERE job_id = 'j' AND status <> 'running' ORDER BY started_at_ms DESC, id DESC "
      "LIMIT -1 OFFSET 3");
  reads.emplace("SELECT job_id FROM cron_runs WHERE id = 'r'");
  SQLite::Database db(path(), SQLite::OPEN_READWRITE);
  db.exec("ANALYZE");
  for (const std::string& query : reads) {
    SQLite::Statement plan(db, "EXPLAIN QUERY PLAN " + query);
    std::string details;
    while (plan.executeStep()) details += plan.getColumn(3).getString() + "; ";
    EXPECT_NE(details.find("USING"), std::string::npos) << query << " → " << details;
    EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << query << " → " << details;
  }
}

// A database written before the cron tables existed (schema step 9) opens at step 10 with its data.
TEST_F(CronRepositoryTest, ADatabaseAtStepNineMigratesToTenWithItsDataIntact) {
  store_->close();
  store_.reset();
  fs::remove(path());
  fs::remove(fs::path(path().string() + "-wal"));
  fs::remove(fs::path(path().string() + "-shm"));
  {
    SQLite::Database db(path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(migrateSqliteSchema(db, 1, 9));
    ASSERT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 9);
    ASSERT_FALSE(db.tableExists("cron_jobs"));
    db.exec(
        "INSERT INTO sessions (session_key, agent_id, session_id, created_at_ms, updated_at_ms) VALUES "
        "('agent:main:main', 'main', 'sid', 5, 6)");
    db.exec(
        "INSERT INTO operator_tokens (name, role, token_hash, token_prefix, created_at_ms) VALUES "
        "('ci', 'operator', 'abc123', 'talon_op_Ab', 7)");
    db.exec(
        "INSERT INTO outbound_deliveries (id, channel_id, peer_kind, peer_id, text, chunk_limit, parts_total, "
        "state, created_at_ms) VALUES ('d1', 'loopback', 'direct', 'Bob', 'hi', 4000, 1, 'pending', 8)");
  }
  open();
  auto session = store_->sessions().get("agent:main:main");
  ASSERT_TRUE(session && session->has_value());
  EXPECT_EQ((*session)->sessionId, "sid");
  auto tokens = store_->operatorTokens().list();
  ASSERT_TRUE(tokens) << tokens.error().toString();
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].tokenHash, "abc123");
  auto pending = store_->outbound().pending();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].text, "hi");
  auto jobs = cron().listJobs();
  ASSERT_TRUE(jobs) << jobs.error().toString();
  EXPECT_TRUE(jobs->empty());
  ASSERT_TRUE(insertJob(job("j", 1)));
  ASSERT_TRUE(addFinished("r", "j", 100));
  store_->close();
  store_.reset();

  SQLite::Database db(path(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), sqliteSchemaVersion());  // 10 and every later step
  EXPECT_EQ(db.execAndGet("SELECT name FROM schema_migrations WHERE version = 10").getString(), "cron_jobs, cron_runs");
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM cron_runs").getInt(), 1);
}

}  // namespace
}  // namespace talon::store
