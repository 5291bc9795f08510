// Throughput of the SQLite store. The gateway's agent turn commits a session upsert, the user message,
// the assistant message and the run record in one batch; here each benchmark thread is one session
// doing turns back to back with write() (which returns after the commit). items_per_second is turns/s.
//
//   talon_bench --benchmark_filter=SqliteStore
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite_store.h"

namespace talon::store {
namespace {

namespace fs = std::filesystem;

// A store in a fresh temp folder, removed afterwards; counts the writer's rounds.
class BenchStore {
 public:
  explicit BenchStore(std::size_t maxBatchesPerCommit) {
    std::string pattern = (fs::temp_directory_path() / "talon-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    options.maxBatchesPerCommit = maxBatchesPerCommit;
    options.onCommitRound = [this](const CommitRound& r) {
      rounds_.fetch_add(1, std::memory_order_relaxed);
      batches_.fetch_add(r.batches, std::memory_order_relaxed);
      commitUs_.fetch_add(static_cast<uint64_t>(r.duration.count()), std::memory_order_relaxed);
    };
    auto opened = openSqliteStore(options);
    if (!opened) throw std::runtime_error(opened.error().toString());
    store_ = std::move(*opened);
    cpuAtStart_ = processCpuMicros();
  }
  ~BenchStore() {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Store& store() { return *store_; }
  double batchesPerRound() const {
    auto rounds = rounds_.load();
    return rounds == 0 ? 0 : static_cast<double>(batches_.load()) / static_cast<double>(rounds);
  }
  /// Process CPU time (all threads, user + system) per committed batch since the store opened, in µs.
  double cpuMicrosPerBatch() const {
    auto batches = batches_.load();
    return batches == 0 ? 0 : static_cast<double>(processCpuMicros() - cpuAtStart_) / static_cast<double>(batches);
  }
  /// Mean time the writer spent applying and committing one round, in µs.
  double microsPerRound() const {
    auto rounds = rounds_.load();
    return rounds == 0 ? 0 : static_cast<double>(commitUs_.load()) / static_cast<double>(rounds);
  }

 private:
  static int64_t processCpuMicros() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
    return micros(usage.ru_utime) + micros(usage.ru_stime);
  }

  int64_t cpuAtStart_ = 0;
  fs::path dir_;
  StorePtr store_;
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> commitUs_{0};
};

const std::string kUserText(200, 'u');
const std::string kAssistantText(800, 'a');

// One agent turn: session upsert + user message + assistant message + finished run.
WriteBatch agentTurn(const std::string& sessionKey, int64_t turn) {
  int64_t now = 1'700'000'000'000 + turn;
  std::string runId = sessionKey + "/run-" + std::to_string(turn);
  WriteBatch b;
  b.reserve(4);
  SessionRecord s;
  s.sessionKey = sessionKey;
  s.agentId = "main";
  s.sessionId = "sid-" + sessionKey;
  s.channel = "webchat";
  s.model = "openai/gpt-4o-mini";
  s.createdAtMs = 1'700'000'000'000;
  s.updatedAtMs = now;
  s.lastRunId = runId;
  TranscriptEntry user;
  user.sessionKey = sessionKey;
  user.seq = 2 * turn - 1;
  user.runId = runId;
  user.role = TranscriptRole::kUser;
  user.content = kUserText;
  user.ts = now;
  TranscriptEntry assistant;
  assistant.sessionKey = sessionKey;
  assistant.seq = 2 * turn;
  assistant.runId = runId;
  assistant.role = TranscriptRole::kAssistant;
  assistant.content = kAssistantText;
  assistant.ts = now;
  RunRecord r;
  r.runId = runId;
  r.sessionKey = sessionKey;
  r.agentId = "main";
  r.idempotencyKey = "idem-" + runId;
  r.status = RunStatus::kOk;
  r.model = s.model;
  r.finalText = kAssistantText;
  r.startedAtMs = now;
  r.endedAtMs = now;
  r.inputTokens = 300;
  r.outputTokens = 200;
  r.steps = 1;
  SessionRepository::upsert(b, std::move(s));
  TranscriptRepository::append(b, std::move(user));
  TranscriptRepository::append(b, std::move(assistant));
  RunRepository::upsert(b, std::move(r));
  return b;
}

BenchStore* gWriteStore = nullptr;  // owned by thread 0 of the running benchmark

// range(0): maxBatchesPerCommit (1 = no group commit).
void BM_SqliteStoreAgentTurnCommit(benchmark::State& state) {
  if (state.thread_index() == 0) gWriteStore = new BenchStore(static_cast<std::size_t>(state.range(0)));
  std::string sessionKey = "agent:main:bench-" + std::to_string(state.thread_index());
  int64_t turn = 0;
  for (auto _ : state) {  // starts once every thread is here (after thread 0's setup)
    if (!gWriteStore->store().write(agentTurn(sessionKey, ++turn))) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["batches_per_commit"] = gWriteStore->batchesPerRound();
    state.counters["us_per_commit"] = gWriteStore->microsPerRound();
    state.counters["cpu_us_per_turn"] = gWriteStore->cpuMicrosPerBatch();
    delete gWriteStore;
    gWriteStore = nullptr;
  }
}
BENCHMARK(BM_SqliteStoreAgentTurnCommit)->Arg(256)->Threads(1)->Threads(32)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_SqliteStoreAgentTurnCommit)->Arg(1)->Threads(32)->UseRealTime()->MinTime(2.0);

BenchStore* gReadStore = nullptr;
constexpr int kReadSessions = 1000;
constexpr int64_t kReadTurns = 500;  // of the first session: 1000 transcript entries

void populateForReads(Store& store) {
  for (int i = 0; i < kReadSessions; ++i) {
    if (!store.write(agentTurn("agent:main:read-" + std::to_string(i), 1))) throw std::runtime_error("populate");
  }
  for (int64_t turn = 2; turn <= kReadTurns; ++turn) {
    if (!store.write(agentTurn("agent:main:read-0", turn))) throw std::runtime_error("populate");
  }
}

// The last 20 entries of a 1,000-entry transcript (a model context load).
void BM_SqliteStoreTranscriptLast20(benchmark::State& state) {
  if (state.thread_index() == 0) {
    gReadStore = new BenchStore(256);
    populateForReads(gReadStore->store());
  }
  for (auto _ : state) {
    auto entries = gReadStore->store().transcripts().tail("agent:main:read-0", 20);
    if (!entries || entries->size() != 20) {
      state.SkipWithError("transcript failed");
      break;
    }
    benchmark::DoNotOptimize(entries);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete gReadStore;
    gReadStore = nullptr;
  }
}
BENCHMARK(BM_SqliteStoreTranscriptLast20)->Threads(1)->Threads(2)->UseRealTime();

// A 50-session page of 1,000 sessions with the total count (sessions.list).
void BM_SqliteStoreListSessionsPage(benchmark::State& state) {
  if (state.thread_index() == 0) {
    gReadStore = new BenchStore(256);
    populateForReads(gReadStore->store());
  }
  SessionQuery query;
  query.limit = 50;
  query.offset = 100;
  for (auto _ : state) {
    auto page = gReadStore->store().sessions().list(query);
    if (!page || page->sessions.size() != 50) {
      state.SkipWithError("sessions().list failed");
      break;
    }
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete gReadStore;
    gReadStore = nullptr;
  }
}
BENCHMARK(BM_SqliteStoreListSessionsPage)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace talon::store
