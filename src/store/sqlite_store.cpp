#include "store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "base/clock.h"
#include "store/sqlite_migrations.h"
#include "store/sqlite_statements.h"

namespace talon::store {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 4> kRoles = {"user", "assistant", "tool", "system"};
constexpr std::array<std::string_view, 4> kStatuses = {"running", "ok", "error", "aborted"};
constexpr int64_t kJournalSizeLimitBytes = 64ll << 20;  // WAL file size kept after a checkpoint

std::string errnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Creates `dir` and its missing parents with mode 0700; existing folders are left as they are.
Status createPrivateDirectories(const fs::path& dir) {
  if (dir.empty()) return {};
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (fs::path parent = dir.parent_path(); !parent.empty() && parent != dir) {
    if (auto st = createPrivateDirectories(parent); !st) return st;
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    int err = errno;
    if (err == EEXIST && fs::is_directory(dir, ec)) return {};
    return fail(ErrorCode::kIo, fmt::format("creating folder {}: {}", dir.string(), errnoText(err)), "storage failure");
  }
  ::chmod(dir.c_str(), 0700);  // exactly 0700, whatever the umask
  return {};
}

// Creates the database file with mode 0600 when it does not exist (SQLite gives its -wal and -shm files
// the same mode). An existing file keeps its mode.
Status createPrivateFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::fchmod(fd, 0600);
    ::close(fd);
    return {};
  }
  int err = errno;
  if (err == EEXIST) return {};
  return fail(ErrorCode::kIo, fmt::format("creating {}: {}", path.string(), errnoText(err)), "storage failure");
}

// The one mapping from SQLite result codes (extended) to Talon errors.
Error sqliteError(int code, std::string_view sqliteMessage, std::string_view context) {
  ErrorCode errorCode = ErrorCode::kIo;
  std::string external = "storage failure";
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    errorCode = ErrorCode::kAlreadyExists;
    external = "the record already exists";
  } else if (code == SQLITE_CONSTRAINT_FOREIGNKEY) {
    errorCode = ErrorCode::kFailedPrecondition;
    external = "the session does not exist";
  } else if ((code & 0xff) == SQLITE_CONSTRAINT || (code & 0xff) == SQLITE_TOOBIG) {
    errorCode = ErrorCode::kInvalidArgument;
    external = "the record was refused";
  }
  return Error(errorCode, fmt::format("{}: {} (sqlite {}: {})", context, sqliteMessage, code, sqlite3_errstr(code)),
               std::move(external));
}

Error sqliteError(const SQLite::Exception& e, std::string_view context) {
  int code = e.getExtendedErrorCode() > 0 ? e.getExtendedErrorCode() : SQLITE_ERROR;
  return sqliteError(code, e.what(), context);
}

Error closedError(const std::string& location) {
  return Error(ErrorCode::kFailedPrecondition, fmt::format("store {} is closed", location), "storage is closed");
}

// Resets a statement when its user is done with it (also on an exception), so it holds no read
// transaction open and can be bound afresh.
class StatementReset {
 public:
  explicit StatementReset(SQLite::Statement& statement) : statement_(statement) {}
  ~StatementReset() { statement_.tryReset(); }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  SQLite::Statement& statement_;
};

// Runs a statement that returns no row and resets it. `context` (a callable returning a string) is
// evaluated only on failure.
template <class Context>
Status runWrite(SQLite::Statement& statement, sqlite3* handle, Context&& context) {
  StatementReset reset(statement);
  int rc = statement.tryExecuteStep();
  if (rc == SQLITE_DONE) return {};
  if (rc == SQLITE_ROW) return fail(ErrorCode::kInternal, context() + ": a write statement returned a row");
  return fail(sqliteError(sqlite3_extended_errcode(handle), sqlite3_errmsg(handle), context()));
}

bool isOneOf(std::string_view value, const auto& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Status validateBatch(const WriteBatch& batch) {
  auto invalid = [](std::string message) {
    return fail(ErrorCode::kInvalidArgument, std::move(message), "invalid record");
  };
  for (const SessionRecord& s : batch.sessions) {
    if (s.sessionKey.empty()) return invalid("session record without sessionKey");
    if (s.agentId.empty()) return invalid(fmt::format("session {} without agentId", s.sessionKey));
  }
  for (const TranscriptEntry& e : batch.entries) {
    if (e.sessionKey.empty()) return invalid("transcript entry without sessionKey");
    if (e.seq < 1) return invalid(fmt::format("transcript entry {}#{}: seq must be ≥ 1", e.sessionKey, e.seq));
    if (!isOneOf(e.role, kRoles)) {
      return invalid(fmt::format("transcript entry {}#{}: unknown role '{}'", e.sessionKey, e.seq, e.role));
    }
  }
  for (const RunRecord& r : batch.runs) {
    if (r.runId.empty()) return invalid("run record without runId");
    if (r.sessionKey.empty()) return invalid(fmt::format("run {} without sessionKey", r.runId));
    if (!isOneOf(r.status, kStatuses)) return invalid(fmt::format("run {}: unknown status '{}'", r.runId, r.status));
  }
  return {};
}

SessionRecord readSession(const SQLite::Statement& q) {
  SessionRecord s;
  s.sessionKey = q.getColumn(0).getString();
  s.agentId = q.getColumn(1).getString();
  s.sessionId = q.getColumn(2).getString();
  s.channel = q.getColumn(3).getString();
  s.label = q.getColumn(4).getString();
  s.model = q.getColumn(5).getString();
  s.createdAtMs = q.getColumn(6).getInt64();
  s.updatedAtMs = q.getColumn(7).getInt64();
  s.messageCount = q.getColumn(8).getInt64();
  s.inputTokens = q.getColumn(9).getInt64();
  s.outputTokens = q.getColumn(10).getInt64();
  s.lastRunId = q.getColumn(11).getString();
  return s;
}

TranscriptEntry readEntry(const SQLite::Statement& q) {
  TranscriptEntry e;
  e.sessionKey = q.getColumn(0).getString();
  e.seq = q.getColumn(1).getInt64();
  e.runId = q.getColumn(2).getString();
  e.role = q.getColumn(3).getString();
  e.content = q.getColumn(4).getString();
  e.toolCallsJson = q.getColumn(5).getString();
  e.toolCallId = q.getColumn(6).getString();
  e.toolName = q.getColumn(7).getString();
  e.ts = q.getColumn(8).getInt64();
  return e;
}

RunRecord readRun(const SQLite::Statement& q) {
  RunRecord r;
  r.runId = q.getColumn(0).getString();
  r.sessionKey = q.getColumn(1).getString();
  r.agentId = q.getColumn(2).getString();
  r.idempotencyKey = q.getColumn(3).getString();
  r.status = q.getColumn(4).getString();
  r.model = q.getColumn(5).getString();
  r.errorCode = q.getColumn(6).getString();
  r.errorMessage = q.getColumn(7).getString();
  r.finalText = q.getColumn(8).getString();
  r.startedAtMs = q.getColumn(9).getInt64();
  r.endedAtMs = q.getColumn(10).getInt64();
  r.inputTokens = q.getColumn(11).getInt64();
  r.outputTokens = q.getColumn(12).getInt64();
  r.steps = q.getColumn(13).getInt64();
  return r;
}

// The writer thread's connection and its prepared statements (finalized before the connection closes:
// members are destroyed in reverse order).
struct WriterConnection {
  std::unique_ptr<SQLite::Database> db;
  std::optional<SQLite::Statement> begin;
  std::optional<SQLite::Statement> commit;
  std::optional<SQLite::Statement> rollback;
  std::optional<SQLite::Statement> upsertSession;
  std::optional<SQLite::Statement> insertEntry;
  std::optional<SQLite::Statement> upsertRun;

  sqlite3* handle() const { return db->getHandle(); }
};

Result<std::unique_ptr<WriterConnection>> openWriter(const fs::path& path, int busyTimeoutMs) {
  try {
    auto w = std::make_unique<WriterConnection>();
    w->db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, busyTimeoutMs);
    {
      SQLite::Statement journal(*w->db, "PRAGMA journal_mode = WAL");
      std::string mode = journal.executeStep() ? journal.getColumn(0).getString() : "";
      if (mode != "wal") {
        return fail(ErrorCode::kIo, fmt::format("{}: cannot use WAL mode (journal_mode is '{}')", path.string(), mode),
                    "storage failure");
      }
    }
    w->db->exec(fmt::format("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = {}",
                            kJournalSizeLimitBytes));
    if (auto st = migrateSqliteSchema(*w->db, SystemClock::instance()->nowMs()); !st) return fail(st.error());
    w->begin.emplace(*w->db, "BEGIN IMMEDIATE");
    w->commit.emplace(*w->db, "COMMIT");
    w->rollback.emplace(*w->db, "ROLLBACK");
    w->upsertSession.emplace(*w->db, sql::kUpsertSession);
    w->insertEntry.emplace(*w->db, sql::kInsertEntry);
    w->upsertRun.emplace(*w->db, sql::kUpsertRun);
    return w;
  } catch (const SQLite::Exception& e) {
    return fail(ErrorCode::kIo, fmt::format("opening {}: {}", path.string(), e.what()), "storage failure");
  }
}

// One pooled read-only connection with its statements, prepared on first use.
class ReaderConnection {
 public:
  ReaderConnection(const fs::path& path, int busyTimeoutMs)
      : db_(path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, busyTimeoutMs) {}

  SQLite::Statement& statement(sql::Read which) {
    auto index = static_cast<std::size_t>(which);
    if (!statements_[index]) statements_[index].emplace(db_, sql::kReads[index]);
    return *statements_[index];
  }

  // Runs a statement that returns no row (BEGIN, COMMIT).
  void exec(sql::Read which) {
    SQLite::Statement& s = statement(which);
    StatementReset reset(s);
    s.exec();
  }

  // Ends a transaction a failed read left open, so that the connection can be reused.
  void endTransaction() {
    if (!sqlite3_get_autocommit(db_.getHandle())) db_.tryExec("ROLLBACK");
  }

 private:
  SQLite::Database db_;
  std::array<std::optional<SQLite::Statement>, static_cast<std::size_t>(sql::Read::kCount)> statements_;
};

struct PendingWrite {
  WriteBatch batch;
  std::function<void(Status)> onCommitted;
};

void deliver(std::function<void(Status)>& callback, Status status) {
  if (!callback) return;
  try {
    callback(std::move(status));
  } catch (const std::exception& e) {
    spdlog::error("store: an onCommitted callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("store: an onCommitted callback threw a non-standard exception");
  }
}

class SqliteStore final : public Store {
 public:
  static Result<StorePtr> create(const SqliteStoreOptions& options) {
    if (options.path.empty()) return fail(ErrorCode::kInvalidArgument, "SQLite store: path is empty");
    if (options.maxBatchesPerCommit == 0) {
      return fail(ErrorCode::kInvalidArgument, "SQLite store: maxBatchesPerCommit must be ≥ 1");
    }
    if (options.busyTimeoutMs < 0) return fail(ErrorCode::kInvalidArgument, "SQLite store: busyTimeoutMs < 0");
    std::error_code ec;
    fs::path path = fs::absolute(options.path, ec);
    if (ec) return fail(ErrorCode::kIo, fmt::format("{}: {}", options.path.string(), ec.message()), "storage failure");
    if (auto st = createPrivateDirectories(path.parent_path()); !st) return fail(st.error());
    if (auto st = createPrivateFile(path); !st) return fail(st.error());
    auto writer = openWriter(path, options.busyTimeoutMs);
    if (!writer) return fail(writer.error());

    std::unique_ptr<SqliteStore> store(new SqliteStore(options, path, std::move(*writer)));
    try {
      store->writerThread_ = std::thread([s = store.get()] { s->runWriter(); });
    } catch (const std::system_error& e) {
      return fail(ErrorCode::kResourceExhausted, fmt::format("SQLite store: cannot start the writer: {}", e.what()));
    }
    store->writerId_ = store->writerThread_.get_id();
    return StorePtr(std::move(store));
  }

  ~SqliteStore() override { close(); }

  void submit(WriteBatch batch, std::function<void(Status)> onCommitted) override {
    bool queued = false;
    {
      std::lock_guard lock(queueMu_);
      if (!stopping_) {
        queue_.push_back(PendingWrite{std::move(batch), std::move(onCommitted)});
        queued = true;
      }
    }
    if (queued) {
      queueCv_.notify_one();
    } else {
      deliver(onCommitted, fail(closedError(location_)));
    }
  }

  Status write(WriteBatch batch) override {
    if (std::this_thread::get_id() == writerId_) {
      return fail(ErrorCode::kFailedPrecondition,
                  "store: write() called from an onCommitted callback would wait for itself");
    }
    // Shared, so that the promise outlives set_value() on the writer thread even once we have returned.
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> result = done->get_future();
    submit(std::move(batch), [done](Status st) { done->set_value(std::move(st)); });
    return result.get();
  }

  Result<SessionPage> listSessions(const SessionQuery& query) override {
    if (query.limit < 0 || query.offset < 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("listSessions: limit {} and offset {} must be ≥ 0", query.limit, query.offset),
                  "limit and offset must not be negative");
    }
    return withReader<SessionPage>("listing sessions", [&](ReaderConnection& c) {
      SessionPage page;
      c.exec(sql::Read::kBegin);  // count and page from one snapshot
      {
        SQLite::Statement& count =
            c.statement(query.agentId ? sql::Read::kCountSessionsOfAgent : sql::Read::kCountSessions);
        StatementReset reset(count);
        if (query.agentId) count.bind(1, *query.agentId);
        if (count.executeStep()) page.totalCount = count.getColumn(0).getInt64();
      }
      if (query.limit > 0) {
        SQLite::Statement& list =
            c.statement(query.agentId ? sql::Read::kListSessionsOfAgent : sql::Read::kListSessions);
        StatementReset reset(list);
        list.bind(1, query.limit);
        list.bind(2, query.offset);
        if (query.agentId) list.bind(3, *query.agentId);
        while (list.executeStep()) page.sessions.push_back(readSession(list));
      }
      c.exec(sql::Read::kCommit);
      return page;
    });
  }

  Result<std::optional<SessionRecord>> getSession(const std::string& sessionKey) override {
    return withReader<std::optional<SessionRecord>>("reading a session", [&](ReaderConnection& c) {
      SQLite::Statement& q = c.statement(sql::Read::kGetSession);
      StatementReset reset(q);
      q.bind(1, sessionKey);
      return q.executeStep() ? std::optional<SessionRecord>(readSession(q)) : std::nullopt;
    });
  }

  Result<std::vector<TranscriptEntry>> transcript(const std::string& sessionKey, int64_t limit) override {
    return withReader<std::vector<TranscriptEntry>>("reading a transcript", [&](ReaderConnection& c) {
      std::vector<TranscriptEntry> entries;
      SQLite::Statement& q = c.statement(sql::Read::kLastEntries);
      StatementReset reset(q);
      q.bind(1, sessionKey);
      q.bind(2, limit > 0 ? limit : int64_t{-1});
      while (q.executeStep()) entries.push_back(readEntry(q));
      std::reverse(entries.begin(), entries.end());  // newest first from the index → oldest first
      return entries;
    });
  }

  Result<std::optional<RunRecord>> getRun(const std::string& runId) override {
    return withReader<std::optional<RunRecord>>(
        "reading a run", [&](ReaderConnection& c) { return findOneRun(c.statement(sql::Read::kGetRun), runId); });
  }

  Result<std::optional<RunRecord>> findRunByIdempotencyKey(const std::string& idempotencyKey) override {
    if (idempotencyKey.empty()) return std::optional<RunRecord>();
    return withReader<std::optional<RunRecord>>("finding a run by idempotency key", [&](ReaderConnection& c) {
      return findOneRun(c.statement(sql::Read::kFindRunByIdempotencyKey), idempotencyKey);
    });
  }

  Result<std::vector<RunRecord>> listRunsWithStatus(const std::string& status) override {
    return withReader<std::vector<RunRecord>>("listing runs", [&](ReaderConnection& c) {
      std::vector<RunRecord> runs;
      SQLite::Statement& q = c.statement(sql::Read::kListRunsWithStatus);
      StatementReset reset(q);
      q.bind(1, status);
      while (q.executeStep()) runs.push_back(readRun(q));
      return runs;
    });
  }

  std::string location() const override { return location_; }

  void close() override {
    {
      std::lock_guard lock(queueMu_);
      stopping_ = true;
    }
    queueCv_.notify_all();
    // From an onCommitted callback the writer cannot join itself: it stops once the queue is drained
    // and the destructor (or a later close() on another thread) joins it.
    if (std::this_thread::get_id() == writerId_) return;

    std::lock_guard closing(closeMu_);
    // Readers first, so that the writer's connection is the last one and SQLite checkpoints the WAL
    // into the database file when it closes.
    std::vector<std::unique_ptr<ReaderConnection>> idle;
    {
      std::lock_guard lock(readersMu_);
      readersClosed_ = true;
      idle.swap(idleReaders_);
    }
    idle.clear();
    if (writerThread_.joinable()) writerThread_.join();
    writer_.reset();
  }

 private:
  SqliteStore(const SqliteStoreOptions& options, fs::path path, std::unique_ptr<WriterConnection> writer)
      : options_(options), path_(std::move(path)), location_(path_.string()), writer_(std::move(writer)) {}

  // ---- writer thread

  void runWriter() {
    std::vector<PendingWrite> round;
    round.reserve(std::min<std::size_t>(options_.maxBatchesPerCommit, 1024));
    for (;;) {
      {
        std::unique_lock lock(queueMu_);
        queueCv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping, and every queued batch was applied
        std::size_t n = std::min(queue_.size(), options_.maxBatchesPerCommit);
        for (std::size_t i = 0; i < n; ++i) {
          round.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      CommitRound report;
      report.batches = round.size();
      auto started = std::chrono::steady_clock::now();
      std::vector<Status> results = commitRound(round, report);
      report.duration =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
      report.failed =
          static_cast<std::size_t>(std::count_if(results.begin(), results.end(), [](const Status& st) { return !st; }));
      if (options_.onCommitRound) {
        try {
          options_.onCommitRound(report);
        } catch (const std::exception& e) {
          spdlog::error("store: onCommitRound threw: {}", e.what());
        }
      }
      for (std::size_t i = 0; i < round.size(); ++i) deliver(round[i].onCommitted, std::move(results[i]));
      round.clear();
    }
  }

  // Applies the batches of one round: all valid ones in one transaction; if a batch's records made
  // that fail, each batch in its own, so that only the bad ones fail. Returns one status per batch.
  std::vector<Status> commitRound(std::vector<PendingWrite>& round, CommitRound& report) {
    std::vector<Status> results(round.size());
    std::vector<std::size_t> valid;
    valid.reserve(round.size());
    for (std::size_t i = 0; i < round.size(); ++i) {
      results[i] = validateBatch(round[i].batch);
      if (results[i]) valid.push_back(i);
    }
    if (valid.size() > 1) {
      Status combined = inTransaction([&]() -> Status {
        for (std::size_t i : valid) {
          if (auto st = applyBatch(round[i].batch); !st) return st;
        }
        return {};
      });
      if (combined) return results;
      if (combined.error().code == ErrorCode::kIo) {
        // Not the fault of one batch (locked by another process, disk full, I/O error): retrying each
        // alone would only repeat it, each time after the busy timeout.
        spdlog::error("store: a group commit of {} batches failed: {}", valid.size(), combined.error().toString());
        for (std::size_t i : valid) results[i] = fail(combined.error());
        return results;
      }
      report.fellBack = true;
      spdlog::warn("store: a group commit of {} batches failed ({}); applying them one by one", valid.size(),
                   combined.error().toString());
    }
    for (std::size_t i : valid) {
      results[i] = inTransaction([&] { return applyBatch(round[i].batch); });
    }
    return results;
  }

  template <class Apply>
  Status inTransaction(Apply&& apply) {
    WriterConnection& w = *writer_;
    if (auto st = runWrite(*w.begin, w.handle(), [] { return std::string("BEGIN"); }); !st) return st;
    Status st = apply();
    if (st) {
      st = runWrite(*w.commit, w.handle(), [] { return std::string("COMMIT"); });
      if (st) return st;
    }
    if (!sqlite3_get_autocommit(w.handle())) {  // some errors roll the transaction back themselves
      if (auto rolledBack = runWrite(*w.rollback, w.handle(), [] { return std::string("ROLLBACK"); }); !rolledBack) {
        spdlog::error("store: {}", rolledBack.error().toString());
      }
    }
    return st;
  }

  Status applyBatch(const WriteBatch& batch) {
    WriterConnection& w = *writer_;
    try {
      for (const SessionRecord& s : batch.sessions) {
        SQLite::Statement& q = *w.upsertSession;
        q.bindNoCopy(1, s.sessionKey);
        q.bindNoCopy(2, s.agentId);
        q.bindNoCopy(3, s.sessionId);
        q.bindNoCopy(4, s.channel);
        q.bindNoCopy(5, s.label);
        q.bindNoCopy(6, s.model);
        q.bind(7, s.createdAtMs);
        q.bind(8, s.updatedAtMs);
        q.bind(9, s.messageCount);
        q.bind(10, s.inputTokens);
        q.bind(11, s.outputTokens);
        q.bindNoCopy(12, s.lastRunId);
        auto st = runWrite(q, w.handle(), [&] { return fmt::format("session {}", s.sessionKey); });
        if (!st) return st;
      }
      for (const TranscriptEntry& e : batch.entries) {
        SQLite::Statement& q = *w.insertEntry;
        q.bindNoCopy(1, e.sessionKey);
        q.bind(2, e.seq);
        q.bindNoCopy(3, e.runId);
        q.bindNoCopy(4, e.role);
        q.bindNoCopy(5, e.content);
        q.bindNoCopy(6, e.toolCallsJson);
        q.bindNoCopy(7, e.toolCallId);
        q.bindNoCopy(8, e.toolName);
        q.bind(9, e.ts);
        auto st = runWrite(q, w.handle(), [&] { return fmt::format("transcript entry {}#{}", e.sessionKey, e.seq); });
        if (!st) return st;
      }
      for (const RunRecord& r : batch.runs) {
        SQLite::Statement& q = *w.upsertRun;
        q.bindNoCopy(1, r.runId);
        q.bindNoCopy(2, r.sessionKey);
        q.bindNoCopy(3, r.agentId);
        q.bindNoCopy(4, r.idempotencyKey);
        q.bindNoCopy(5, r.status);
        q.bindNoCopy(6, r.model);
        q.bindNoCopy(7, r.errorCode);
        q.bindNoCopy(8, r.errorMessage);
        q.bindNoCopy(9, r.finalText);
        q.bind(10, r.startedAtMs);
        q.bind(11, r.endedAtMs);
        q.bind(12, r.inputTokens);
        q.bind(13, r.outputTokens);
        q.bind(14, r.steps);
        auto st = runWrite(q, w.handle(), [&] {
          return r.idempotencyKey.empty() ? fmt::format("run {}", r.runId)
                                          : fmt::format("run {} (idempotency key {})", r.runId, r.idempotencyKey);
        });
        if (!st) return st;
      }
      return {};
    } catch (const SQLite::Exception& e) {  // binding (e.g. a value too large)
      return fail(sqliteError(e, "binding a write"));
    }
  }

  // ---- readers

  Result<std::unique_ptr<ReaderConnection>> checkoutReader() {
    {
      std::lock_guard lock(readersMu_);
      if (readersClosed_) return fail(closedError(location_));
      if (!idleReaders_.empty()) {
        auto connection = std::move(idleReaders_.back());
        idleReaders_.pop_back();
        return connection;
      }
    }
    try {
      return std::make_unique<ReaderConnection>(path_, options_.busyTimeoutMs);
    } catch (const SQLite::Exception& e) {
      return fail(sqliteError(e, fmt::format("opening a reader on {}", location_)));
    }
  }

  void checkinReader(std::unique_ptr<ReaderConnection> connection) {
    {
      std::lock_guard lock(readersMu_);
      if (!readersClosed_ && idleReaders_.size() < kMaxIdleReaders) {
        idleReaders_.push_back(std::move(connection));
        return;
      }
    }
    connection.reset();  // closed outside the lock
  }

  // Runs `read` on a borrowed connection; SQLite exceptions become kIo errors naming `what`.
  template <class T, class Read>
  Result<T> withReader(std::string_view what, Read&& read) {
    auto connection = checkoutReader();
    if (!connection) return fail(connection.error());
    Result<T> out = [&]() -> Result<T> {
      try {
        return read(**connection);
      } catch (const SQLite::Exception& e) {
        (*connection)->endTransaction();
        return fail(sqliteError(e, what));
      }
    }();
    checkinReader(std::move(*connection));
    return out;
  }

  static std::optional<RunRecord> findOneRun(SQLite::Statement& q, const std::string& key) {
    StatementReset reset(q);
    q.bind(1, key);
    return q.executeStep() ? std::optional<RunRecord>(readRun(q)) : std::nullopt;
  }

  const SqliteStoreOptions options_;
  const fs::path path_;
  const std::string location_;

  std::unique_ptr<WriterConnection> writer_;  // used by the writer thread only (and by close() after the join)
  std::thread writerThread_;
  std::thread::id writerId_;  // set once before the store is handed out

  std::mutex queueMu_;
  std::condition_variable queueCv_;
  std::deque<PendingWrite> queue_;  // guarded by queueMu_
  bool stopping_ = false;           // guarded by queueMu_

  std::mutex readersMu_;
  std::vector<std::unique_ptr<ReaderConnection>> idleReaders_;  // guarded by readersMu_
  bool readersClosed_ = false;                                  // guarded by readersMu_

  std::mutex closeMu_;
};

}  // namespace

Result<StorePtr> openSqliteStore(const SqliteStoreOptions& options) { return SqliteStore::create(options); }

}  // namespace talon::store
