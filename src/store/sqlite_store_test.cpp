#include "store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/compaction_repository.h"
#include "store/sqlite_migrations.h"

namespace talon::store {
namespace {

namespace fs = std::filesystem;

// The records of one batch, added in the order sessions, entries, runs (as the gateway does).
struct Records {
  std::vector<SessionRecord> sessions;
  std::vector<TranscriptEntry> entries;
  std::vector<RunRecord> runs;

  operator WriteBatch() const {  // NOLINT(google-explicit-constructor): test shorthand
    WriteBatch b;
    for (const auto& s : sessions) SessionRepository::upsert(b, s);
    for (const auto& e : entries) TranscriptRepository::append(b, e);
    for (const auto& r : runs) RunRepository::upsert(b, r);
    return b;
  }
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "talon-store-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

SessionRecord makeSession(const std::string& key, int64_t updatedAtMs, const std::string& agentId = "main") {
  SessionRecord s;
  s.sessionKey = key;
  s.agentId = agentId;
  s.sessionId = "sid-" + key;
  s.channel = "webchat";
  s.createdAtMs = 1000;
  s.updatedAtMs = updatedAtMs;
  return s;
}

TranscriptEntry makeEntry(const std::string& key, int64_t seq, const std::string& content = "",
                          TranscriptRole role = TranscriptRole::kUser) {
  TranscriptEntry e;
  e.sessionKey = key;
  e.seq = seq;
  e.role = role;
  e.content = content.empty() ? "message " + std::to_string(seq) : content;
  e.ts = 1'700'000'000'000 + seq;
  return e;
}

RunRecord makeRun(const std::string& runId, const std::string& key, RunStatus status = RunStatus::kOk,
                  const std::string& idempotencyKey = "", int64_t startedAtMs = 0) {
  RunRecord r;
  r.runId = runId;
  r.sessionKey = key;
  r.agentId = "main";
  r.idempotencyKey = idempotencyKey;
  r.status = status;
  r.startedAtMs = startedAtMs;
  return r;
}

Records sessionBatch(const SessionRecord& s) {
  Records b;
  b.sessions.push_back(s);
  return b;
}

StorePtr openOrDie(const fs::path& path, SqliteStoreOptions options = {}) {
  options.path = path;
  auto store = openSqliteStore(options);
  if (!store) throw std::runtime_error("openSqliteStore: " + store.error().toString());
  return std::move(*store);
}

std::vector<int64_t> seqsOf(const std::vector<TranscriptEntry>& entries) {
  std::vector<int64_t> seqs;
  for (const auto& e : entries) seqs.push_back(e.seq);
  return seqs;
}

std::string pragmaText(SQLite::Database& db, const std::string& pragma) {
  SQLite::Statement q(db, "PRAGMA " + pragma);
  std::string out;
  while (q.executeStep()) out += q.getColumn(0).getString() + "\n";
  return out;
}

// ---- round trips

TEST(SqliteStore, RoundTripsEveryRecordType) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");

  SessionRecord s;
  s.sessionKey = "agent:main:main";
  s.agentId = "main";
  s.sessionId = "5f0c9a7e-0000-4000-8000-000000000001";
  s.channel = "telegram";
  s.label = "Fünf 🦅";
  s.model = "openai/gpt-4o";
  s.createdAtMs = 1'700'000'000'001;
  s.updatedAtMs = 1'700'000'000'002;
  s.messageCount = 99;  // ignored: the store counts the entries and sums the runs' tokens
  s.inputTokens = 1;
  s.outputTokens = 2;
  s.lastRunId = "run-1";

  TranscriptEntry user = makeEntry(s.sessionKey, 1, std::string("hello\0world", 11), TranscriptRole::kUser);
  user.runId = "run-1";
  TranscriptEntry assistant = makeEntry(s.sessionKey, 2, "", TranscriptRole::kAssistant);
  assistant.content = "";
  assistant.toolCallsJson = R"([{"id":"call_1","type":"function","function":{"name":"read","arguments":"{}"}}])";
  assistant.runId = "run-1";
  TranscriptEntry tool = makeEntry(s.sessionKey, 3, "file contents", TranscriptRole::kTool);
  tool.toolCallId = "call_1";
  tool.toolName = "read";
  tool.runId = "run-1";

  RunRecord r;
  r.runId = "run-1";
  r.sessionKey = s.sessionKey;
  r.agentId = "main";
  r.idempotencyKey = "idem-1";
  r.status = RunStatus::kError;
  r.model = "openai/gpt-4o";
  r.errorCode = "UPSTREAM";
  r.errorMessage = "429 from provider";
  r.finalText = "partial";
  r.startedAtMs = 10;
  r.endedAtMs = 20;
  r.inputTokens = 1234;
  r.outputTokens = 567;
  r.steps = 2;
  r.providerId = "backup";
  r.providerApi = "openai-completions";
  r.baseUrlOrigin = "https://api.example.com";
  r.answeredModel = "gpt-4o-mini";
  r.modelLatencyMs = 812;
  r.costUsd = 0.00125;
  r.attemptsJson = R"([{"provider":"openai","reason":"model_not_found","action":"fallback"}])";
  r.traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

  Records batch;
  batch.sessions = {s};
  batch.entries = {user, assistant, tool};
  batch.runs = {r};
  ASSERT_TRUE(store->write(batch));

  auto gotSession = store->sessions().get(s.sessionKey);
  ASSERT_TRUE(gotSession);
  ASSERT_TRUE(gotSession->has_value());
  const SessionRecord& gs = **gotSession;
  EXPECT_EQ(gs.sessionKey, s.sessionKey);
  EXPECT_EQ(gs.agentId, s.agentId);
  EXPECT_EQ(gs.sessionId, s.sessionId);
  EXPECT_EQ(gs.channel, s.channel);
  EXPECT_EQ(gs.label, s.label);
  EXPECT_EQ(gs.model, s.model);
  EXPECT_EQ(gs.createdAtMs, s.createdAtMs);
  EXPECT_EQ(gs.updatedAtMs, s.updatedAtMs);
  EXPECT_EQ(gs.messageCount, 3);
  EXPECT_EQ(gs.inputTokens, r.inputTokens);
  EXPECT_EQ(gs.outputTokens, r.outputTokens);
  EXPECT_EQ(gs.lastRunId, s.lastRunId);

  auto entries = store->transcripts().tail(s.sessionKey, 0);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 3u);
  const TranscriptEntry* expected[] = {&user, &assistant, &tool};
  for (std::size_t i = 0; i < 3; ++i) {
    const TranscriptEntry& got = (*entries)[i];
    const TranscriptEntry& want = *expected[i];
    EXPECT_EQ(got.sessionKey, want.sessionKey);
    EXPECT_EQ(got.seq, want.seq);
    EXPECT_EQ(got.runId, want.runId);
    EXPECT_EQ(got.role, want.role);
    EXPECT_EQ(got.content, want.content);
    EXPECT_EQ(got.toolCallsJson, want.toolCallsJson);
    EXPECT_EQ(got.toolCallId, want.toolCallId);
    EXPECT_EQ(got.toolName, want.toolName);
    EXPECT_EQ(got.ts, want.ts);
  }
  EXPECT_EQ((*entries)[0].content.size(), 11u);  // an embedded NUL survives

  auto gotRun = store->runs().get("run-1");
  ASSERT_TRUE(gotRun);
  ASSERT_TRUE(gotRun->has_value());
  const RunRecord& gr = **gotRun;
  EXPECT_EQ(gr.runId, r.runId);
  EXPECT_EQ(gr.sessionKey, r.sessionKey);
  EXPECT_EQ(gr.agentId, r.agentId);
  EXPECT_EQ(gr.idempotencyKey, r.idempotencyKey);
  EXPECT_EQ(gr.status, r.status);
  EXPECT_EQ(gr.model, r.model);
  EXPECT_EQ(gr.errorCode, r.errorCode);
  EXPECT_EQ(gr.errorMessage, r.errorMessage);
  EXPECT_EQ(gr.finalText, r.finalText);
  EXPECT_EQ(gr.startedAtMs, r.startedAtMs);
  EXPECT_EQ(gr.endedAtMs, r.endedAtMs);
  EXPECT_EQ(gr.inputTokens, r.inputTokens);
  EXPECT_EQ(gr.outputTokens, r.outputTokens);
  EXPECT_EQ(gr.steps, r.steps);
  EXPECT_EQ(gr.providerId, r.providerId);
  EXPECT_EQ(gr.providerApi, r.providerApi);
  EXPECT_EQ(gr.baseUrlOrigin, r.baseUrlOrigin);
  EXPECT_EQ(gr.answeredModel, r.answeredModel);
  EXPECT_EQ(gr.modelLatencyMs, r.modelLatencyMs);
  EXPECT_EQ(gr.costUsd, r.costUsd);
  EXPECT_EQ(gr.attemptsJson, r.attemptsJson);
  EXPECT_EQ(gr.traceId, r.traceId);

  auto missingSession = store->sessions().get("agent:main:nope");
  ASSERT_TRUE(missingSession);
  EXPECT_FALSE(missingSession->has_value());
  auto missingRun = store->runs().get("run-nope");
  ASSERT_TRUE(missingRun);
  EXPECT_FALSE(missingRun->has_value());
  EXPECT_EQ(store->location(), (dir.path() / "talon.sqlite").string());
}

TEST(SqliteStore, SessionUpsertKeepsCreatedAtAndTotalsAndReplacesTheRest) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  SessionRecord first = makeSession("k", 100);
  first.createdAtMs = 50;
  first.label = "old";
  ASSERT_TRUE(store->write(sessionBatch(first)));
  SessionRecord second = makeSession("k", 200);
  second.createdAtMs = 99;  // ignored: the first insert's value stays
  second.label = "new";
  second.messageCount = 4;  // ignored: the store's count of transcript entries stays
  second.inputTokens = 5;
  second.lastRunId = "run-9";
  ASSERT_TRUE(store->write(sessionBatch(second)));
  auto got = store->sessions().get("k");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->createdAtMs, 50);
  EXPECT_EQ((*got)->updatedAtMs, 200);
  EXPECT_EQ((*got)->label, "new");
  EXPECT_EQ((*got)->messageCount, 0);
  EXPECT_EQ((*got)->inputTokens, 0);
  EXPECT_EQ((*got)->lastRunId, "run-9");
}

// ---- queries

TEST(SqliteStore, ListSessionsIsNewestFirstWithPagingAndTotalCount) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  for (int i = 0; i < 25; ++i) {
    // updatedAtMs 100 + i, except two ties at 500 ordered by key.
    int64_t updated = (i == 7 || i == 3) ? 500 : 100 + i;
    batch.sessions.push_back(makeSession(fmt::format("s{:02}", i), updated, i % 2 == 0 ? "even" : "odd"));
  }
  ASSERT_TRUE(store->write(batch));

  std::vector<std::string> all;
  for (int64_t offset = 0; offset < 30; offset += 10) {
    SessionQuery q;
    q.limit = 10;
    q.offset = offset;
    auto page = store->sessions().list(q);
    ASSERT_TRUE(page) << page.error().toString();
    EXPECT_EQ(page->totalCount, 25);
    EXPECT_EQ(page->sessions.size(), offset < 20 ? 10u : 5u);
    for (const auto& s : page->sessions) all.push_back(s.sessionKey);
  }
  std::vector<std::string> expected = {"s03", "s07", "s24", "s23", "s22", "s21", "s20", "s19", "s18",
                                       "s17", "s16", "s15", "s14", "s13", "s12", "s11", "s10", "s09",
                                       "s08", "s06", "s05", "s04", "s02", "s01", "s00"};
  EXPECT_EQ(all, expected);

  SessionQuery odd;
  odd.agentId = "odd";
  odd.limit = 3;
  auto oddPage = store->sessions().list(odd);
  ASSERT_TRUE(oddPage);
  EXPECT_EQ(oddPage->totalCount, 12);
  ASSERT_EQ(oddPage->sessions.size(), 3u);
  EXPECT_EQ(oddPage->sessions[0].sessionKey, "s03");
  EXPECT_EQ(oddPage->sessions[1].sessionKey, "s07");
  EXPECT_EQ(oddPage->sessions[2].sessionKey, "s23");

  SessionQuery countOnly;
  countOnly.limit = 0;
  auto counted = store->sessions().list(countOnly);
  ASSERT_TRUE(counted);
  EXPECT_TRUE(counted->sessions.empty());
  EXPECT_EQ(counted->totalCount, 25);

  SessionQuery none;
  none.agentId = "nobody";
  auto empty = store->sessions().list(none);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->totalCount, 0);
  EXPECT_TRUE(empty->sessions.empty());

  SessionQuery negative;
  negative.offset = -1;
  auto refused = store->sessions().list(negative);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST(SqliteStore, TranscriptReturnsTheLastNOldestFirst) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  batch.sessions = {makeSession("a", 1), makeSession("b", 2)};
  for (int64_t seq = 1; seq <= 10; ++seq) batch.entries.push_back(makeEntry("a", seq));
  batch.entries.push_back(makeEntry("b", 1));
  ASSERT_TRUE(store->write(batch));

  auto last3 = store->transcripts().tail("a", 3);
  ASSERT_TRUE(last3);
  EXPECT_EQ(seqsOf(*last3), (std::vector<int64_t>{8, 9, 10}));
  EXPECT_EQ((*last3)[0].content, "message 8");
  auto all = store->transcripts().tail("a", 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(seqsOf(*all), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  auto allNegative = store->transcripts().tail("a", -5);
  ASSERT_TRUE(allNegative);
  EXPECT_EQ(allNegative->size(), 10u);
  auto more = store->transcripts().tail("a", 50);
  ASSERT_TRUE(more);
  EXPECT_EQ(more->size(), 10u);
  auto other = store->transcripts().tail("b", 0);
  ASSERT_TRUE(other);
  EXPECT_EQ(seqsOf(*other), (std::vector<int64_t>{1}));
  auto unknown = store->transcripts().tail("zzz", 5);
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->empty());
}

TEST(SqliteStore, RunsByIdempotencyKeyAndStatus) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  batch.sessions = {makeSession("k", 1)};
  batch.runs = {makeRun("r3", "k", RunStatus::kRunning, "idem-3", 30),
                makeRun("r1", "k", RunStatus::kRunning, "idem-1", 10), makeRun("r2", "k", RunStatus::kOk, "", 20),
                makeRun("r0", "k", RunStatus::kRunning, "", 10)};
  ASSERT_TRUE(store->write(batch));

  auto found = store->idempotency().findRun("idem-1");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->runId, "r1");
  auto notFound = store->idempotency().findRun("idem-9");
  ASSERT_TRUE(notFound);
  EXPECT_FALSE(notFound->has_value());
  auto emptyKey = store->idempotency().findRun("");  // r2 and r0 have no key; they are not "found"
  ASSERT_TRUE(emptyKey);
  EXPECT_FALSE(emptyKey->has_value());

  // The key first, else the run id (a released key stays its run's id), in one read.
  auto keyWins = store->idempotency().findRunOrRun("idem-1", "r3");
  ASSERT_TRUE(keyWins && keyWins->has_value());
  EXPECT_EQ((*keyWins)->runId, "r1");
  auto byId = store->idempotency().findRunOrRun("idem-9", "r2");
  ASSERT_TRUE(byId && byId->has_value());
  EXPECT_EQ((*byId)->runId, "r2");
  auto emptyKeyById = store->idempotency().findRunOrRun("", "r0");
  ASSERT_TRUE(emptyKeyById && emptyKeyById->has_value());
  EXPECT_EQ((*emptyKeyById)->runId, "r0");
  auto neither = store->idempotency().findRunOrRun("idem-9", "r9");
  ASSERT_TRUE(neither);
  EXPECT_FALSE(neither->has_value());

  auto running = store->runs().listWithStatus(RunStatus::kRunning);
  ASSERT_TRUE(running);
  std::vector<std::string> ids;
  for (const auto& r : *running) ids.push_back(r.runId);
  EXPECT_EQ(ids, (std::vector<std::string>{"r0", "r1", "r3"}));  // startedAtMs, then runId

  // The gateway's start-up sweep: mark them aborted.
  Records sweep;
  for (RunRecord r : *running) {
    r.status = RunStatus::kAborted;
    sweep.runs.push_back(r);
  }
  ASSERT_TRUE(store->write(sweep));
  auto stillRunning = store->runs().listWithStatus(RunStatus::kRunning);
  ASSERT_TRUE(stillRunning);
  EXPECT_TRUE(stillRunning->empty());
  auto aborted = store->runs().listWithStatus(RunStatus::kAborted);
  ASSERT_TRUE(aborted);
  EXPECT_EQ(aborted->size(), 3u);
  auto stillFound = store->idempotency().findRun("idem-3");
  ASSERT_TRUE(stillFound && stillFound->has_value());
  EXPECT_EQ((*stillFound)->status, RunStatus::kAborted);
}

TEST(SqliteStore, ARunsLaterRecordsReplaceItsOutcomeAndItsIdentityWhenThatChanges) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  batch.sessions = {makeSession("k", 1)};
  batch.runs = {makeRun("r", "k", RunStatus::kRunning, "idem-a", 10)};
  ASSERT_TRUE(store->write(batch));
  // The end of the run: same identity, new outcome.
  RunRecord end = makeRun("r", "k", RunStatus::kOk, "idem-a", 10);
  end.finalText = "done";
  end.endedAtMs = 20;
  end.inputTokens = 3;
  end.outputTokens = 4;
  end.costUsd = 0.5;
  Records ended;
  ended.runs = {end};
  ASSERT_TRUE(store->write(ended));
  auto got = store->runs().get("r");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->status, RunStatus::kOk);
  EXPECT_EQ((*got)->finalText, "done");
  EXPECT_EQ((*got)->endedAtMs, 20);
  EXPECT_EQ((*got)->startedAtMs, 10);
  ASSERT_TRUE((*got)->costUsd);
  EXPECT_DOUBLE_EQ(*(*got)->costUsd, 0.5);
  auto byKey = store->idempotency().findRun("idem-a");
  ASSERT_TRUE(byKey && byKey->has_value());
  EXPECT_EQ((*byKey)->status, RunStatus::kOk);
  auto session = store->sessions().get("k");
  ASSERT_TRUE(session && *session);
  EXPECT_EQ((*session)->inputTokens, 3);
  EXPECT_EQ((*session)->outputTokens, 4);
  // A record that changes the identity (key and start) replaces those too.
  RunRecord rekeyed = end;
  rekeyed.idempotencyKey = "idem-b";
  rekeyed.startedAtMs = 11;
  rekeyed.costUsd.reset();
  Records again;
  again.runs = {rekeyed};
  ASSERT_TRUE(store->write(again));
  auto old = store->idempotency().findRun("idem-a");
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->has_value());
  auto moved = store->idempotency().findRun("idem-b");
  ASSERT_TRUE(moved && moved->has_value());
  EXPECT_EQ((*moved)->startedAtMs, 11);
  EXPECT_FALSE((*moved)->costUsd);
}

TEST(SqliteStore, ExpiredIdempotencyKeysAreReleasedOldestFirstInBoundedPasses) {
  TempDir dir;
  const fs::path path = dir.path() / "talon.sqlite";
  auto store = openOrDie(path);
  Records batch;
  batch.sessions = {makeSession("k", 1)};
  auto ended = [](RunRecord r, int64_t endedAtMs) {
    r.endedAtMs = endedAtMs;
    return r;
  };
  batch.runs = {ended(makeRun("old-ok", "k", RunStatus::kOk, "idem-a", 10), 100),
                ended(makeRun("old-error", "k", RunStatus::kError, "idem-b", 10), 200),
                ended(makeRun("old-aborted", "k", RunStatus::kAborted, "idem-c", 10), 300),
                makeRun("still-running", "k", RunStatus::kRunning, "idem-d", 10),
                ended(makeRun("recent", "k", RunStatus::kOk, "idem-e", 10), 5000)};
  ASSERT_TRUE(store->write(batch));

  auto found = [&](const std::string& key) {
    auto r = store->idempotency().findRun(key);
    EXPECT_TRUE(r) << key;
    return r && r->has_value();
  };
  // A pass releases at most maxKeys, oldest end first.
  auto released = std::make_shared<int64_t>(-1);
  WriteBatch first;
  IdempotencyRepository::pruneExpired(first, 1000, 2, released);
  ASSERT_TRUE(store->write(std::move(first)));
  EXPECT_EQ(*released, 2);
  EXPECT_FALSE(found("idem-a"));
  EXPECT_FALSE(found("idem-b"));
  EXPECT_TRUE(found("idem-c"));

  // The store is reopened (a restart): released keys stay released, kept keys are still found.
  store->close();
  store = openOrDie(path);
  EXPECT_TRUE(found("idem-c"));
  WriteBatch second;
  IdempotencyRepository::pruneExpired(second, 1000, 2, released);
  ASSERT_TRUE(store->write(std::move(second)));
  EXPECT_EQ(*released, 1);
  EXPECT_FALSE(found("idem-c"));
  EXPECT_TRUE(found("idem-d"));  // a running run keeps its key whatever its age
  EXPECT_TRUE(found("idem-e"));  // ended after the cutoff

  // The runs stay in the ledger; a released key is free for a new run.
  auto run = store->runs().get("old-ok");
  ASSERT_TRUE(run && run->has_value());
  EXPECT_EQ((*run)->status, RunStatus::kOk);
  EXPECT_EQ((*run)->idempotencyKey, "");
  Records reuse;
  reuse.runs = {makeRun("new", "k", RunStatus::kRunning, "idem-a", 6000)};
  ASSERT_TRUE(store->write(reuse));
  auto reused = store->idempotency().findRun("idem-a");
  ASSERT_TRUE(reused && reused->has_value());
  EXPECT_EQ((*reused)->runId, "new");

  WriteBatch invalid;
  IdempotencyRepository::pruneExpired(invalid, 1000, 0);
  auto refused = store->write(std::move(invalid));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST(SqliteStore, CostSinceSumsAnAgentsRecordedCostFromATime) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  batch.sessions = {makeSession("k", 1), makeSession("other", 1, "ops")};
  RunRecord early = makeRun("r1", "k", RunStatus::kOk, "", 100);
  early.costUsd = 1.5;
  RunRecord failed = makeRun("r2", "k", RunStatus::kError, "", 200);
  failed.costUsd = 0.25;  // a failed run's calls were paid too
  RunRecord unpriced = makeRun("r3", "k", RunStatus::kOk, "", 300);
  RunRecord ops = makeRun("r4", "other", RunStatus::kOk, "", 300);
  ops.agentId = "ops";
  ops.costUsd = 9.0;
  batch.runs = {early, failed, unpriced, ops};
  ASSERT_TRUE(store->write(batch));
  EXPECT_DOUBLE_EQ(*store->runs().costSince("main", 0), 1.75);
  EXPECT_DOUBLE_EQ(*store->runs().costSince("main", 200), 0.25);
  EXPECT_DOUBLE_EQ(*store->runs().costSince("main", 301), 0.0);
  EXPECT_DOUBLE_EQ(*store->runs().costSince("ops", 0), 9.0);
  EXPECT_DOUBLE_EQ(*store->runs().costSince("nobody", 0), 0.0);
  // The sum reads the covering index (migration 18), not every run.
  SQLite::Database db((dir.path() / "talon.sqlite").string(), SQLite::OPEN_READONLY);
  SQLite::Statement plan(db,
                         "EXPLAIN QUERY PLAN SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE agent_id = 'main' AND "
                         "started_at_ms >= 200");
  std::string detail;
  while (plan.executeStep()) detail += plan.getColumn(3).getString() + "\n";
  EXPECT_NE(detail.find("USING COVERING INDEX runs_by_agent_started"), std::string::npos) << detail;
}

TEST(SqliteStore, RunLedgerListsRunsNewestFirstWithFiltersAndPagesAndReadsARunsEntries) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records batch;
  batch.sessions = {makeSession("k", 1), makeSession("other", 1, "ops")};
  RunRecord opsRun = makeRun("r-ops", "other", RunStatus::kError, "", 25);
  opsRun.agentId = "ops";
  batch.runs = {makeRun("r1", "k", RunStatus::kOk, "", 10), makeRun("r2", "k", RunStatus::kError, "", 20),
                makeRun("r3", "k", RunStatus::kOk, "", 30), opsRun};
  // r2 wrote a user message, a tool call, its result and an answer; r3 one user message.
  TranscriptEntry user = makeEntry("k", 1, "save it");
  user.runId = "r2";
  TranscriptEntry call = makeEntry("k", 2, "", TranscriptRole::kAssistant);
  call.runId = "r2";
  call.toolCallsJson = R"([{"id":"c1","name":"write","arguments":"{}"}])";
  TranscriptEntry result = makeEntry("k", 3, "saved", TranscriptRole::kTool);
  result.runId = "r2";
  result.toolCallId = "c1";
  result.toolName = "write";
  TranscriptEntry other = makeEntry("k", 4, "later");
  other.runId = "r3";
  batch.entries = {user, call, result, other};
  ASSERT_TRUE(store->write(batch));

  auto ids = [](const Result<std::vector<RunRecord>>& runs) {
    std::vector<std::string> out;
    if (runs) {
      for (const auto& r : *runs) out.push_back(r.runId);
    }
    return out;
  };
  EXPECT_EQ(ids(store->runs().list({})), (std::vector<std::string>{"r3", "r-ops", "r2", "r1"}));
  EXPECT_EQ(ids(store->runs().list({.agentId = "main"})), (std::vector<std::string>{"r3", "r2", "r1"}));
  EXPECT_EQ(ids(store->runs().list({.sessionKey = "other"})), (std::vector<std::string>{"r-ops"}));
  EXPECT_EQ(ids(store->runs().list({.status = RunStatus::kError})), (std::vector<std::string>{"r-ops", "r2"}));
  EXPECT_EQ(ids(store->runs().list({.limit = 2, .offset = 1})), (std::vector<std::string>{"r-ops", "r2"}));
  auto bad = store->runs().list({.limit = 0});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  auto entries = store->transcripts().forRun("k", "r2");
  ASSERT_TRUE(entries);
  EXPECT_EQ(seqsOf(*entries), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ((*entries)[2].toolName, "write");
  auto none = store->transcripts().forRun("k", "no-such-run");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// ---- failures

TEST(SqliteStore, DuplicateSeqFailsTheWholeBatch) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records first;
  first.sessions = {makeSession("k", 1)};
  first.entries = {makeEntry("k", 1)};
  ASSERT_TRUE(store->write(first));

  Records dup;
  SessionRecord relabelled = makeSession("k", 2);
  relabelled.label = "should not land";
  dup.sessions = {relabelled};
  dup.entries = {makeEntry("k", 2), makeEntry("k", 1, "duplicate")};
  dup.runs = {makeRun("r-dup", "k")};
  auto st = store->write(dup);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(st.error().message.find("k#1"), std::string::npos) << st.error().message;

  auto entries = store->transcripts().tail("k", 0);
  ASSERT_TRUE(entries);
  EXPECT_EQ(seqsOf(*entries), (std::vector<int64_t>{1}));
  EXPECT_EQ((*entries)[0].content, "message 1");
  auto session = store->sessions().get("k");
  ASSERT_TRUE(session && session->has_value());
  EXPECT_EQ((*session)->label, "");
  auto run = store->runs().get("r-dup");
  ASSERT_TRUE(run);
  EXPECT_FALSE(run->has_value());
}

TEST(SqliteStore, DuplicateIdempotencyKeyIsRefused) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  Records first;
  first.sessions = {makeSession("k", 1)};
  first.runs = {makeRun("r1", "k", RunStatus::kRunning, "idem"), makeRun("r-a", "k", RunStatus::kOk, ""),
                makeRun("r-b", "k", RunStatus::kOk, "")};
  ASSERT_TRUE(store->write(first));

  Records again;
  again.runs = {makeRun("r2", "k", RunStatus::kRunning, "idem")};
  auto st = store->write(again);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  auto r2 = store->runs().get("r2");
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->has_value());

  // The same run may be upserted again with its own key.
  Records finish;
  finish.runs = {makeRun("r1", "k", RunStatus::kOk, "idem")};
  ASSERT_TRUE(store->write(finish));
  auto found = store->idempotency().findRun("idem");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->runId, "r1");
  EXPECT_EQ((*found)->status, RunStatus::kOk);
  EXPECT_FALSE((*found)->costUsd.has_value());  // no price table: NULL, not 0
}

TEST(SqliteStore, InvalidAndOrphanRecordsAreRefused) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 1))));

  auto expectCode = [&](Records b, ErrorCode code) {
    auto st = store->write(std::move(b));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, code) << st.error().toString();
  };
  Records seqZero;
  seqZero.entries = {makeEntry("k", 0)};
  expectCode(seqZero, ErrorCode::kInvalidArgument);
  Records badRole;
  badRole.entries = {makeEntry("k", 1, "x", static_cast<TranscriptRole>(9))};
  expectCode(badRole, ErrorCode::kInvalidArgument);
  Records badStatus;
  badStatus.runs = {makeRun("r", "k", static_cast<RunStatus>(9))};
  expectCode(badStatus, ErrorCode::kInvalidArgument);
  Records noAgent;
  noAgent.sessions = {makeSession("k2", 1, "")};
  expectCode(noAgent, ErrorCode::kInvalidArgument);
  Records orphanEntry;
  orphanEntry.entries = {makeEntry("no-such-session", 1)};
  expectCode(orphanEntry, ErrorCode::kFailedPrecondition);
  Records orphanRun;
  orphanRun.runs = {makeRun("r", "no-such-session")};
  expectCode(orphanRun, ErrorCode::kFailedPrecondition);

  auto entries = store->transcripts().tail("k", 0);
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
  EXPECT_TRUE(store->write(WriteBatch{}));  // an empty batch commits
}

// Blocks the writer thread inside a callback so that the next batches queue up and are taken in one
// round; returns the function that releases it.
class WriterGate {
 public:
  explicit WriterGate(Store& store) {
    std::promise<void> blocked;
    auto isBlocked = blocked.get_future();
    store.submit(WriteBatch{}, [this, &blocked](Status) {
      blocked.set_value();
      release_.get_future().wait();
    });
    isBlocked.wait();
  }
  void open() { release_.set_value(); }

 private:
  std::promise<void> release_;
};

TEST(SqliteStore, GroupCommitFailsOnlyTheBadBatchAndCommitsTheRest) {
  TempDir dir;
  std::mutex roundsMu;
  std::vector<CommitRound> rounds;
  SqliteStoreOptions options;
  options.onCommitRound = [&](const CommitRound& r) {
    std::lock_guard lock(roundsMu);
    rounds.push_back(r);
  };
  auto store = openOrDie(dir.path() / "talon.sqlite", options);

  WriterGate gate(*store);
  // Batch i appends seq i and records run r<i>; batch 5 repeats seq 3, batch 8 reuses batch 2's
  // idempotency key. Batch 1 creates the session the others refer to.
  constexpr int kBatches = 10;
  std::vector<std::promise<Status>> done(kBatches + 1);
  for (int i = 1; i <= kBatches; ++i) {
    Records b;
    if (i == 1) b.sessions = {makeSession("k", 1)};
    b.entries = {makeEntry("k", i == 5 ? 3 : i)};
    b.runs = {makeRun("r" + std::to_string(i), "k", RunStatus::kOk, i == 8 ? "idem-2" : "idem-" + std::to_string(i))};
    store->submit(std::move(b), [&done, i](Status st) { done[i].set_value(std::move(st)); });
  }
  gate.open();

  std::vector<Status> results(kBatches + 1);
  for (int i = 1; i <= kBatches; ++i) results[i] = done[i].get_future().get();
  for (int i = 1; i <= kBatches; ++i) {
    if (i == 5 || i == 8) {
      ASSERT_FALSE(results[i]) << "batch " << i;
      EXPECT_EQ(results[i].error().code, ErrorCode::kAlreadyExists) << results[i].error().toString();
    } else {
      EXPECT_TRUE(results[i]) << "batch " << i << ": " << results[i].error().toString();
    }
  }
  auto entries = store->transcripts().tail("k", 0);
  ASSERT_TRUE(entries);
  EXPECT_EQ(seqsOf(*entries), (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 9, 10}));  // not 5's, not 8's
  EXPECT_EQ((*entries)[2].content, "message 3");
  auto r5 = store->runs().get("r5");
  ASSERT_TRUE(r5);
  EXPECT_FALSE(r5->has_value());
  auto r8 = store->runs().get("r8");
  ASSERT_TRUE(r8);
  EXPECT_FALSE(r8->has_value());

  std::lock_guard lock(roundsMu);
  ASSERT_EQ(rounds.size(), 2u);  // the gate's empty batch, then all ten together
  EXPECT_EQ(rounds[1].batches, 10u);
  EXPECT_EQ(rounds[1].failed, 2u);
  EXPECT_TRUE(rounds[1].fellBack);
}

TEST(SqliteStore, AFailureThatIsNoBatchsFaultFailsTheRoundWithoutRetries) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  std::mutex roundsMu;
  std::vector<CommitRound> rounds;
  SqliteStoreOptions options;
  options.busyTimeoutMs = 0;  // a locked database fails at once
  options.onCommitRound = [&](const CommitRound& r) {
    std::lock_guard lock(roundsMu);
    rounds.push_back(r);
  };
  auto store = openOrDie(path, options);
  ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 1))));

  SQLite::Database other(path, SQLite::OPEN_READWRITE);  // another process, say
  WriterGate gate(*store);
  other.exec("BEGIN IMMEDIATE");
  std::vector<std::promise<Status>> done(3);
  for (int i = 0; i < 3; ++i) {
    Records b;
    b.entries = {makeEntry("k", i + 1)};
    store->submit(std::move(b), [&done, i](Status st) { done[i].set_value(std::move(st)); });
  }
  gate.open();
  for (auto& d : done) {
    Status st = d.get_future().get();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kIo) << st.error().toString();
  }
  other.exec("ROLLBACK");

  Records after;
  after.entries = {makeEntry("k", 1)};
  EXPECT_TRUE(store->write(after));  // the writer recovers once the lock is gone
  std::lock_guard lock(roundsMu);
  ASSERT_EQ(rounds.size(), 4u);  // session, gate, the locked round, after
  EXPECT_EQ(rounds[2].batches, 3u);
  EXPECT_EQ(rounds[2].failed, 3u);
  EXPECT_FALSE(rounds[2].fellBack);
}

TEST(SqliteStore, GroupCommitRespectsMaxBatchesPerCommit) {
  TempDir dir;
  std::mutex roundsMu;
  std::vector<CommitRound> rounds;
  SqliteStoreOptions options;
  options.maxBatchesPerCommit = 4;
  options.onCommitRound = [&](const CommitRound& r) {
    std::lock_guard lock(roundsMu);
    rounds.push_back(r);
  };
  auto store = openOrDie(dir.path() / "talon.sqlite", options);
  ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 1))));

  WriterGate gate(*store);
  std::vector<std::promise<Status>> done(10);
  for (int i = 0; i < 10; ++i) {
    Records b;
    b.entries = {makeEntry("k", i + 1)};
    store->submit(std::move(b), [&done, i](Status st) { done[i].set_value(std::move(st)); });
  }
  gate.open();
  for (auto& d : done) EXPECT_TRUE(d.get_future().get());

  std::lock_guard lock(roundsMu);
  ASSERT_EQ(rounds.size(), 5u);  // session, gate, then 4 + 4 + 2
  EXPECT_EQ(rounds[2].batches, 4u);
  EXPECT_EQ(rounds[3].batches, 4u);
  EXPECT_EQ(rounds[4].batches, 2u);
  for (const auto& r : rounds) EXPECT_FALSE(r.fellBack);
}

TEST(SqliteStore, CloseDrainsQueuedBatchesAndRefusesLaterWork) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 1))));
    std::atomic<int> ok{0};
    for (int i = 1; i <= 200; ++i) {
      Records b;
      b.entries = {makeEntry("k", i)};
      store->submit(std::move(b), [&ok](Status st) {
        if (st) ++ok;
      });
    }
    store->close();
    EXPECT_EQ(ok.load(), 200);

    std::optional<Status> late;
    store->submit(WriteBatch{}, [&late](Status st) { late = std::move(st); });
    ASSERT_TRUE(late.has_value());  // delivered at once, on this thread
    ASSERT_FALSE(*late);
    EXPECT_EQ(late->error().code, ErrorCode::kFailedPrecondition);
    auto write = store->write(WriteBatch{});
    ASSERT_FALSE(write);
    EXPECT_EQ(write.error().code, ErrorCode::kFailedPrecondition);
    auto read = store->transcripts().tail("k", 1);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, ErrorCode::kFailedPrecondition);
    store->close();  // idempotent
  }
  auto reopened = openOrDie(path);
  auto entries = reopened->transcripts().tail("k", 0);
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), 200u);
}

TEST(SqliteStore, WriteFromACallbackIsRefusedInsteadOfDeadlocking) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  std::promise<Status> inner;
  store->submit(WriteBatch{}, [&](Status) { inner.set_value(store->write(WriteBatch{})); });
  Status st = inner.get_future().get();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
}

// ---- files, schema and migrations

TEST(SqliteStore, ReopenSeesEverything) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  {
    auto store = openOrDie(path);
    for (int i = 0; i < 5; ++i) {
      Records b;
      std::string key = "s" + std::to_string(i);
      b.sessions = {makeSession(key, 100 + i)};
      b.entries = {makeEntry(key, 1), makeEntry(key, 2, "", TranscriptRole::kAssistant)};
      b.runs = {makeRun("run-" + key, key, i == 4 ? RunStatus::kRunning : RunStatus::kOk, "idem-" + key, i)};
      ASSERT_TRUE(store->write(b));
    }
  }  // the destructor closes
  auto store = openOrDie(path);
  SessionQuery q;
  auto page = store->sessions().list(q);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->totalCount, 5);
  ASSERT_EQ(page->sessions.size(), 5u);
  EXPECT_EQ(page->sessions[0].sessionKey, "s4");
  for (int i = 0; i < 5; ++i) {
    std::string key = "s" + std::to_string(i);
    auto entries = store->transcripts().tail(key, 0);
    ASSERT_TRUE(entries);
    EXPECT_EQ(seqsOf(*entries), (std::vector<int64_t>{1, 2}));
    auto run = store->idempotency().findRun("idem-" + key);
    ASSERT_TRUE(run && run->has_value());
    EXPECT_EQ((*run)->runId, "run-" + key);
  }
  auto running = store->runs().listWithStatus(RunStatus::kRunning);
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].runId, "run-s4");
  // Writes continue where they left off.
  Records next;
  next.entries = {makeEntry("s0", 3)};
  EXPECT_TRUE(store->write(next));
}

TEST(SqliteStore, CreatesPrivateFoldersAndFileAndRecordsMigrations) {
  TempDir dir;
  fs::path path = dir.path() / "state" / "nested" / "talon.sqlite";
  auto store = openOrDie(path);
  ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 1))));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir.path() / "state" / "nested").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((path.string() + "-wal").c_str(), &st), 0);  // WAL mode while open
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  store->close();

  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(pragmaText(db, "journal_mode"), "wal\n");
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), sqliteSchemaVersion());
  EXPECT_EQ(db.execAndGet("PRAGMA application_id").getInt(), kSqliteApplicationId);
  SQLite::Statement migrations(db, "SELECT version, name FROM schema_migrations ORDER BY version");
  std::size_t count = 0;
  while (migrations.executeStep()) {
    ASSERT_LT(count, sqliteMigrations().size());
    EXPECT_EQ(migrations.getColumn(0).getInt(), sqliteMigrations()[count].version);
    EXPECT_EQ(migrations.getColumn(1).getString(), sqliteMigrations()[count].name);
    ++count;
  }
  EXPECT_EQ(count, sqliteMigrations().size());
}

// Steps may be numbered with gaps and land out of order: a database at a higher version that lacks a
// lower step (merged later) gets that step applied when it is opened.
TEST(SqliteStore, AStepMissingBelowTheCurrentVersionIsApplied) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  openOrDie(path)->close();
  // Step 15 (session_compactions) lies below the latest step (16, session_routes): the two were written
  // side by side and 16 could have reached a database first.
  auto steps = sqliteMigrations();
  auto step = std::find_if(steps.begin(), steps.end(), [](const SqliteMigration& m) { return m.version == 15; });
  ASSERT_NE(step, steps.end());
  ASSERT_LT(step->version, sqliteSchemaVersion());
  {
    // Undo step 15 as if it had been merged after the newer ones were applied.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("DROP TABLE session_compactions");
    db.exec("DELETE FROM schema_migrations WHERE version = " + std::to_string(step->version));
    ASSERT_EQ(db.execAndGet("PRAGMA user_version").getInt(), sqliteSchemaVersion());
  }
  auto store = openOrDie(path);
  auto latest = CompactionRepository(*store).latest("agent:main:main");  // reads session_compactions
  ASSERT_TRUE(latest) << latest.error().toString();
  store->close();
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM schema_migrations").getInt(),
            static_cast<int>(sqliteMigrations().size()));
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), sqliteSchemaVersion());
}

TEST(SqliteStore, MigrationVersionsIncrease) {
  auto steps = sqliteMigrations();
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.front().version, 1);
  for (std::size_t i = 1; i < steps.size(); ++i) EXPECT_GT(steps[i].version, steps[i - 1].version);
  EXPECT_EQ(sqliteSchemaVersion(), steps.back().version);
}

TEST(SqliteStore, NewerSchemaVersionIsRefused) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  openOrDie(path)->close();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = " + std::to_string(sqliteSchemaVersion() + 1));
  }
  SqliteStoreOptions options;
  options.path = path;
  auto store = openSqliteStore(options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("newer"), std::string::npos) << store.error().message;
}

TEST(SqliteStore, ForeignOrCorruptFilesAreRefused) {
  TempDir dir;
  fs::path foreign = dir.path() / "other.sqlite";
  {
    SQLite::Database db(foreign, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA application_id = 1234; CREATE TABLE t (x)");
  }
  SqliteStoreOptions options;
  options.path = foreign;
  auto refused = openSqliteStore(options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);

  fs::path garbage = dir.path() / "garbage.sqlite";
  std::ofstream(garbage) << std::string(8192, 'x');
  options.path = garbage;
  auto notADatabase = openSqliteStore(options);
  ASSERT_FALSE(notADatabase);
  EXPECT_EQ(notADatabase.error().code, ErrorCode::kIo);

  options.path = dir.path() / "ok.sqlite";
  options.maxBatchesPerCommit = 0;
  auto badOptions = openSqliteStore(options);
  ASSERT_FALSE(badOptions);
  EXPECT_EQ(badOptions.error().code, ErrorCode::kInvalidArgument);
}

TEST(SqliteStore, TranscriptEntriesAreAppendOnlyInTheSchema) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  {
    auto store = openOrDie(path);
    Records b;
    b.sessions = {makeSession("k", 1)};
    b.entries = {makeEntry("k", 1)};
    ASSERT_TRUE(store->write(b));
  }
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  EXPECT_THROW(db.exec("UPDATE transcript_entries SET content = 'edited'"), SQLite::Exception);
  EXPECT_THROW(db.exec("DELETE FROM transcript_entries"), SQLite::Exception);
  EXPECT_EQ(db.execAndGet("SELECT content FROM transcript_entries").getString(), "message 1");
}

TEST(SqliteStore, EveryReadUsesAnIndex) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  std::mutex mu;
  std::set<std::string> reads;  // every statement the repositories' reads prepared
  SqliteStoreOptions options;
  options.onPrepareRead = [&](std::string_view sql) {
    std::lock_guard lock(mu);
    reads.emplace(sql);
  };
  {
    auto store = openOrDie(path, options);
    ASSERT_TRUE(store->sessions().list(SessionQuery{}));
    ASSERT_TRUE(store->sessions().list(SessionQuery{"main", 10, 0}));
    ASSERT_TRUE(store->sessions().get("k"));
    ASSERT_TRUE(store->transcripts().tail("k", 5));
    ASSERT_TRUE(store->runs().get("r"));
    ASSERT_TRUE(store->runs().listWithStatus(RunStatus::kRunning));
    ASSERT_TRUE(store->idempotency().findRun("idem"));
    store->close();
  }
  std::erase_if(reads, [](const std::string& q) { return !q.starts_with("SELECT"); });
  EXPECT_EQ(reads.size(), 9u);  // sessions: 2 lists, 2 counts, get; tail; run get, by status; idempotency
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec("ANALYZE");  // plans as they would be on a database with data, not only an empty one
  for (const std::string& query : reads) {
    SQLite::Statement plan(db, "EXPLAIN QUERY PLAN " + query);
    std::string details;
    while (plan.executeStep()) details += plan.getColumn(3).getString() + "; ";
    EXPECT_NE(details.find("USING"), std::string::npos) << query << " → " << details;
    EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << query << " → " << details;
    EXPECT_EQ(details.find("SCAN transcript_entries"), std::string::npos) << query << " → " << details;
    EXPECT_EQ(details.find("SCAN runs"), std::string::npos) << query << " → " << details;
  }
}

// ---- repositories: enums, totals kept with their rows, one transaction across repositories

TEST(StoreEnums, NamesAreTheStoredStringsAndParseBack) {
  const std::pair<TranscriptRole, std::string_view> roles[] = {{TranscriptRole::kUser, "user"},
                                                               {TranscriptRole::kAssistant, "assistant"},
                                                               {TranscriptRole::kTool, "tool"},
                                                               {TranscriptRole::kSystem, "system"}};
  for (auto [role, name] : roles) {
    EXPECT_EQ(transcriptRoleName(role), name);
    EXPECT_EQ(parseTranscriptRole(name), role);
  }
  const std::pair<RunStatus, std::string_view> statuses[] = {{RunStatus::kRunning, "running"},
                                                             {RunStatus::kOk, "ok"},
                                                             {RunStatus::kError, "error"},
                                                             {RunStatus::kAborted, "aborted"}};
  for (auto [status, name] : statuses) {
    EXPECT_EQ(runStatusName(status), name);
    EXPECT_EQ(parseRunStatus(name), status);
  }
  EXPECT_EQ(parseTranscriptRole("User"), std::nullopt);
  EXPECT_EQ(parseTranscriptRole("toolResult"), std::nullopt);
  EXPECT_EQ(parseTranscriptRole(""), std::nullopt);
  EXPECT_EQ(parseRunStatus("done"), std::nullopt);
  EXPECT_EQ(parseRunStatus("OK"), std::nullopt);
}

// A write of a kind the store does not know, added to a batch beside the repositories' writes: it
// fails the batch like a full disk would, after the writes before it have run in the transaction.
class FailingOp final : public WriteOp {
 public:
  explicit FailingOp(ErrorCode code) : code_(code) {}
  Status validate() const override { return {}; }
  Status apply(Transaction&) const override { return fail(code_, "simulated failure: database or disk is full"); }

 private:
  ErrorCode code_;
};

int64_t countRows(const fs::path& path, const std::string& sessionKey) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT count(*) FROM transcript_entries WHERE session_key = ?");
  q.bind(1, sessionKey);
  return q.executeStep() ? q.getColumn(0).getInt64() : -1;
}

// The hostile-client case of issue 5: 27 turns failed on a full disk, then 12 succeeded; the session
// said 39 messages while 12 rows existed. The count is now kept by the append, in its transaction.
TEST(SqliteStore, MessageCountAndTokensCannotDriftFromTheirRowsAfterFailedBatches) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  auto store = openOrDie(path);
  SessionRecord s = makeSession("k", 1);
  ASSERT_TRUE(store->write(sessionBatch(s)));

  int64_t nextSeq = 1;  // as the agent runner: seqs of a failed turn are not reused
  int turn = 0;
  auto turnBatch = [&](bool failAfterWrites) {
    ++turn;
    WriteBatch b;
    s.updatedAtMs = turn;
    s.messageCount = nextSeq + 1;  // what a caller believes; ignored
    s.inputTokens = 1'000'000;     // ignored
    SessionRepository::upsert(b, s);
    TranscriptRepository::append(b, makeEntry("k", nextSeq++));
    TranscriptRepository::append(b, makeEntry("k", nextSeq++, "answer", TranscriptRole::kAssistant));
    RunRecord run = makeRun("run-" + std::to_string(turn), "k", RunStatus::kOk);
    run.inputTokens = 10;
    run.outputTokens = 3;
    RunRepository::upsert(b, run);
    if (failAfterWrites) b.emplace<FailingOp>(ErrorCode::kIo);
    return b;
  };
  for (int i = 0; i < 27; ++i) {
    auto st = store->write(turnBatch(true));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kIo);
  }
  // A duplicate seq fails its batch after the session upsert and one append ran.
  {
    WriteBatch dup;
    SessionRepository::upsert(dup, s);
    TranscriptRepository::append(dup, makeEntry("k", nextSeq));
    TranscriptRepository::append(dup, makeEntry("k", nextSeq));
    auto st = store->write(std::move(dup));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
    ++nextSeq;
  }
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(store->write(turnBatch(false)));

  auto got = store->sessions().get("k");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->messageCount, 12);
  EXPECT_EQ(countRows(path, "k"), 12);
  EXPECT_EQ((*got)->inputTokens, 6 * 10);
  EXPECT_EQ((*got)->outputTokens, 6 * 3);

  // The same through group commit: good and bad batches merged into rounds, the bad ones failing in
  // the one-by-one fallback. Every count still matches the rows committed.
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 40; ++i) {
    auto done = std::make_shared<std::promise<Status>>();
    results.push_back(done->get_future());
    WriteBatch b = turnBatch(false);
    if (i % 3 == 0) b.emplace<FailingOp>(ErrorCode::kInvalidArgument);  // the batch's own fault
    store->submit(std::move(b), [done](Status st) { done->set_value(std::move(st)); });
  }
  int committed = 0;
  for (auto& f : results) committed += f.get() ? 1 : 0;
  EXPECT_EQ(committed, 40 - 14);
  got = store->sessions().get("k");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->messageCount, countRows(path, "k"));
  EXPECT_EQ((*got)->messageCount, 12 + 2 * committed);
  EXPECT_EQ((*got)->inputTokens, (6 + committed) * 10);

  // Replacing a run moves the totals by the difference, never counting a run twice.
  RunRecord again = makeRun("run-28", "k", RunStatus::kError);
  again.inputTokens = 4;
  again.outputTokens = 1;
  Records replace;
  replace.runs = {again};
  ASSERT_TRUE(store->write(replace));
  got = store->sessions().get("k");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->inputTokens, (6 + committed) * 10 - 10 + 4);
  EXPECT_EQ((*got)->outputTokens, (6 + committed) * 3 - 3 + 1);

  // A run recorded under another session takes its tokens from the old session to the new one.
  Records other;
  other.sessions = {makeSession("k2", 1)};
  again.sessionKey = "k2";
  other.runs = {again};
  ASSERT_TRUE(store->write(other));
  got = store->sessions().get("k");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->inputTokens, (6 + committed) * 10 - 10);
  EXPECT_EQ((*got)->outputTokens, (6 + committed) * 3 - 3);
  auto moved = store->sessions().get("k2");
  ASSERT_TRUE(moved && moved->has_value());
  EXPECT_EQ((*moved)->inputTokens, 4);
  EXPECT_EQ((*moved)->outputTokens, 1);
}

TEST(SqliteStore, OneBatchSpansRepositoriesAtomically) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  WriteBatch b;
  SessionRepository::upsert(b, makeSession("k", 1));
  TranscriptRepository::append(b, makeEntry("k", 1));
  RunRepository::upsert(b, makeRun("r1", "k", RunStatus::kRunning, "idem-1"));
  b.emplace<FailingOp>(ErrorCode::kIo);
  ASSERT_FALSE(store->write(std::move(b)));
  auto session = store->sessions().get("k");
  ASSERT_TRUE(session);
  EXPECT_FALSE(session->has_value());
  auto run = store->runs().get("r1");
  ASSERT_TRUE(run);
  EXPECT_FALSE(run->has_value());
  auto byKey = store->idempotency().findRun("idem-1");
  ASSERT_TRUE(byKey);
  EXPECT_FALSE(byKey->has_value());
  auto entries = store->transcripts().tail("k", 0);
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
}

// A database written by the previous schema (step 1 only, with a count that had drifted) opens, keeps
// its data, and has its totals recomputed from its rows by step 2.
TEST(SqliteStore, ADatabaseOfSchemaStepOneOpensKeepsItsDataAndIsRepaired) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_TRUE(migrateSqliteSchema(db, 1, 1));
    ASSERT_EQ(db.execAndGet("PRAGMA user_version").getInt(), 1);
    // Rows as the previous binary wrote them: the caller's counts, strings for role and status.
    db.exec(
        "INSERT INTO sessions (session_key, agent_id, session_id, created_at_ms, updated_at_ms, message_count, "
        "input_tokens, output_tokens, last_run_id) VALUES "
        "('agent:main:main', 'main', 'sid', 5, 6, 39, 999, 999, 'run-2'), "
        "('agent:main:idle', 'main', 'sid2', 5, 5, 7, 0, 0, '')");
    for (int seq = 1; seq <= 12; ++seq) {
      db.exec(
          fmt::format("INSERT INTO transcript_entries (session_key, seq, run_id, role, content, ts) VALUES "
                      "('agent:main:main', {}, 'run-{}', '{}', 'm{}', {})",
                      seq, seq <= 6 ? 1 : 2, seq % 2 ? "user" : "assistant", seq, 100 + seq));
    }
    db.exec(
        "INSERT INTO runs (run_id, session_key, agent_id, idempotency_key, status, started_at_ms, input_tokens, "
        "output_tokens) VALUES "
        "('run-1', 'agent:main:main', 'main', 'idem-1', 'ok', 1, 100, 20), "
        "('run-2', 'agent:main:main', 'main', '', 'running', 2, 50, 5)");
  }

  auto store = openOrDie(path);
  auto session = store->sessions().get("agent:main:main");
  ASSERT_TRUE(session && session->has_value());
  EXPECT_EQ((*session)->sessionId, "sid");
  EXPECT_EQ((*session)->createdAtMs, 5);
  EXPECT_EQ((*session)->messageCount, 12);  // was 39
  EXPECT_EQ((*session)->inputTokens, 150);
  EXPECT_EQ((*session)->outputTokens, 25);
  auto idle = store->sessions().get("agent:main:idle");
  ASSERT_TRUE(idle && idle->has_value());
  EXPECT_EQ((*idle)->messageCount, 0);  // was 7, with no rows

  auto entries = store->transcripts().tail("agent:main:main", 0);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 12u);
  EXPECT_EQ((*entries)[0].role, TranscriptRole::kUser);
  EXPECT_EQ((*entries)[1].role, TranscriptRole::kAssistant);
  EXPECT_EQ((*entries)[11].content, "m12");
  auto running = store->runs().listWithStatus(RunStatus::kRunning);
  ASSERT_TRUE(running);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].runId, "run-2");
  auto byKey = store->idempotency().findRun("idem-1");
  ASSERT_TRUE(byKey && byKey->has_value());
  EXPECT_EQ((*byKey)->status, RunStatus::kOk);

  // New writes continue from the repaired totals, and store the same strings as before.
  Records next;
  next.entries = {makeEntry("agent:main:main", 13, "", TranscriptRole::kTool)};
  ASSERT_TRUE(store->write(next));
  session = store->sessions().get("agent:main:main");
  ASSERT_TRUE(session && session->has_value());
  EXPECT_EQ((*session)->messageCount, 13);
  store->close();

  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), sqliteSchemaVersion());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM schema_migrations").getInt(),
            static_cast<int>(sqliteMigrations().size()));
  EXPECT_EQ(db.execAndGet("SELECT typeof(role) || ':' || role FROM transcript_entries WHERE seq = 13").getString(),
            "text:tool");
}

TEST(SqliteStore, AStoredRoleOrStatusThisBinaryDoesNotKnowIsAReadError) {
  TempDir dir;
  fs::path path = dir.path() / "talon.sqlite";
  openOrDie(path)->close();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO sessions (session_key, agent_id, created_at_ms, updated_at_ms) VALUES ('k', 'main', 1, 1)");
    db.exec("INSERT INTO transcript_entries (session_key, seq, role, ts) VALUES ('k', 1, 'developer', 1)");
    db.exec("INSERT INTO runs (run_id, session_key, status) VALUES ('r', 'k', 'paused')");
  }
  auto store = openOrDie(path);
  auto entries = store->transcripts().tail("k", 0);
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code, ErrorCode::kIo);
  EXPECT_NE(entries.error().message.find("developer"), std::string::npos) << entries.error().message;
  auto run = store->runs().get("r");
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kIo);
  // The connection that failed mid-read is reusable.
  auto session = store->sessions().get("k");
  ASSERT_TRUE(session && session->has_value());
}

// ---- threads

TEST(SqliteStore, ConcurrentReadersSeeAGrowingPrefixWhileWriting) {
  TempDir dir;
  auto store = openOrDie(dir.path() / "talon.sqlite");
  ASSERT_TRUE(store->write(sessionBatch(makeSession("k", 0))));
  constexpr int64_t kWrites = 400;
  constexpr int kReaders = 4;
  std::atomic<bool> writing{true};
  std::atomic<int> readErrors{0};
  std::atomic<int> orderErrors{0};
  std::atomic<int64_t> reads{0};

  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&] {
      int64_t lastSeen = 0;
      int64_t lastCount = 0;
      auto check = [&] {
        auto entries = store->transcripts().tail("k", 0);
        auto session = store->sessions().get("k");
        auto page = store->sessions().list(SessionQuery{});
        if (!entries || !session || !session->has_value() || !page) {
          ++readErrors;
          return;
        }
        for (std::size_t i = 0; i < entries->size(); ++i) {
          if ((*entries)[i].seq != static_cast<int64_t>(i) + 1) ++orderErrors;  // a gap-free prefix
        }
        auto n = static_cast<int64_t>(entries->size());
        if (n < lastSeen || (*session)->messageCount < lastCount) ++orderErrors;  // never goes back
        lastSeen = n;
        lastCount = (*session)->messageCount;
        ++reads;
      };
      while (writing.load()) check();
      check();
      if (lastSeen != kWrites || lastCount != kWrites) ++orderErrors;  // the last read saw every write
    });
  }
  for (int64_t seq = 1; seq <= kWrites; ++seq) {
    Records b;
    SessionRecord s = makeSession("k", seq);
    s.messageCount = seq;
    b.sessions = {s};
    b.entries = {makeEntry("k", seq)};
    auto st = store->write(std::move(b));
    ASSERT_TRUE(st) << st.error().toString();
    // Read-your-writes from the writing thread.
    auto last = store->transcripts().tail("k", 1);
    ASSERT_TRUE(last);
    ASSERT_EQ(last->size(), 1u);
    ASSERT_EQ((*last)[0].seq, seq);
  }
  writing = false;
  for (auto& t : readers) t.join();
  EXPECT_EQ(readErrors.load(), 0);
  EXPECT_EQ(orderErrors.load(), 0);
  EXPECT_GE(reads.load(), kReaders);
}

TEST(SqliteStore, ManyWritingThreadsAllLand) {
  TempDir dir;
  std::atomic<std::size_t> biggestRound{0};
  SqliteStoreOptions options;
  options.onCommitRound = [&](const CommitRound& r) {
    std::size_t seen = biggestRound.load();
    while (r.batches > seen && !biggestRound.compare_exchange_weak(seen, r.batches)) {
    }
  };
  auto store = openOrDie(dir.path() / "talon.sqlite", options);
  constexpr int kThreads = 16;
  constexpr int kTurns = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string key = "agent:main:s" + std::to_string(t);
      for (int turn = 1; turn <= kTurns; ++turn) {
        Records b;
        SessionRecord s = makeSession(key, turn);
        s.messageCount = 2 * turn;
        b.sessions = {s};
        b.entries = {makeEntry(key, 2 * turn - 1), makeEntry(key, 2 * turn, "answer", TranscriptRole::kAssistant)};
        b.runs = {makeRun(key + "/" + std::to_string(turn), key)};
        if (!store->write(std::move(b))) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    auto entries = store->transcripts().tail("agent:main:s" + std::to_string(t), 0);
    ASSERT_TRUE(entries);
    EXPECT_EQ(entries->size(), 2u * kTurns);
  }
  auto page = store->sessions().list(SessionQuery{});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->totalCount, kThreads);
  EXPECT_GE(biggestRound.load(), 1u);
}

// ---- crash safety

struct CommitRecord {
  int32_t writer;
  int32_t pad;
  int64_t seq;
};
static_assert(sizeof(CommitRecord) <= PIPE_BUF, "pipe writes of a record must be atomic");

std::string crashPayload(int writer, int64_t seq) {
  return fmt::format("writer {} seq {} ", writer, seq) + std::string(700, static_cast<char>('a' + seq % 26));
}

// In the forked child: `writers` threads each append turns to their own session with write() and
// report every commit on `fd`, until killed. Never returns.
[[noreturn]] void runCrashChild(const fs::path& path, int fd, int writers) {
  SqliteStoreOptions options;
  options.path = path;
  auto opened = openSqliteStore(options);
  if (!opened) ::_exit(3);
  StorePtr store = std::move(*opened);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&store, fd, w] {
      std::string key = "crash:" + std::to_string(w);
      auto existing = store->transcripts().tail(key, 1);  // continue after an earlier round's crash
      if (!existing) ::_exit(4);
      int64_t seq = existing->empty() ? 0 : existing->back().seq;
      for (int i = 0; i < 1'000'000; ++i) {
        ++seq;
        Records b;
        SessionRecord s = makeSession(key, seq);
        s.messageCount = seq;
        b.sessions = {s};
        b.entries = {makeEntry(key, seq, crashPayload(w, seq))};
        b.runs = {makeRun(key + "/" + std::to_string(seq), key)};
        if (!store->write(std::move(b))) ::_exit(5);
        CommitRecord record{w, 0, seq};
        if (::write(fd, &record, sizeof record) != static_cast<ssize_t>(sizeof record)) ::_exit(6);
      }
    });
  }
  for (auto& t : threads) t.join();
  ::_exit(7);  // the parent kills us long before this
}

TEST(SqliteStoreCrash, EveryCommittedBatchSurvivesKill9) {
  TempDir dir;
  fs::path path = dir.path() / "state" / "talon.sqlite";
  constexpr int kWriters = 4;
  constexpr int kRounds = 3;
  constexpr std::size_t kRecordsBeforeKill = 400;
  std::map<int, int64_t> committed;  // writer → highest seq whose write() returned

  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      runCrashChild(path, fds[1], kWriters);
    }
    ::close(fds[1]);

    std::string buffer;
    std::size_t records = 0;
    bool killed = false;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF: the child is gone
      buffer.append(chunk, static_cast<std::size_t>(n));
      while (buffer.size() >= sizeof(CommitRecord)) {
        CommitRecord record;
        std::memcpy(&record, buffer.data(), sizeof record);
        buffer.erase(0, sizeof record);
        int64_t& highest = committed[record.writer];
        EXPECT_EQ(record.seq, highest + 1) << "writer " << record.writer;
        highest = std::max(highest, record.seq);
        ++records;
      }
      if (!killed && records >= kRecordsBeforeKill) {
        ASSERT_EQ(::kill(pid, SIGKILL), 0);  // mid-stream: the writers are still going
        killed = true;
      }
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(killed) << "the child stopped early: exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_TRUE(buffer.empty());  // records are written whole

    {
      SQLite::Database db(path, SQLite::OPEN_READWRITE);  // read-write: recovers the WAL
      EXPECT_EQ(pragmaText(db, "integrity_check"), "ok\n");
      EXPECT_EQ(pragmaText(db, "foreign_key_check"), "");
    }
    auto store = openOrDie(path);
    for (int w = 0; w < kWriters; ++w) {
      std::string key = "crash:" + std::to_string(w);
      auto entries = store->transcripts().tail(key, 0);
      ASSERT_TRUE(entries);
      ASSERT_GE(static_cast<int64_t>(entries->size()), committed[w]) << key << " lost committed turns";
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const TranscriptEntry& e = (*entries)[i];
        ASSERT_EQ(e.seq, static_cast<int64_t>(i) + 1) << key;
        ASSERT_EQ(e.content, crashPayload(w, e.seq)) << key;
      }
      auto session = store->sessions().get(key);
      ASSERT_TRUE(session && session->has_value());
      EXPECT_EQ((*session)->messageCount, static_cast<int64_t>(entries->size()));
      for (int64_t seq = 1; seq <= committed[w]; ++seq) {
        auto run = store->runs().get(key + "/" + std::to_string(seq));
        ASSERT_TRUE(run && run->has_value()) << key << " run " << seq;
      }
      // What landed beyond the last reported commit is the child's next turn(s), reported or not.
      committed[w] = static_cast<int64_t>(entries->size());
    }
  }
}

}  // namespace
}  // namespace talon::store
