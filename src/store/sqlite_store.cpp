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
#include "store/sqlite_connection.h"
#include "store/sqlite_migrations.h"
#include "store/sqlite_wal_gather_vfs.h"

namespace talon::store {
namespace {

namespace fs = std::filesystem;

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

Error closedError(const std::string& location) {
  return Error(ErrorCode::kFailedPrecondition, fmt::format("store {} is closed", location), "storage is closed");
}

// Checks every operation of a batch before any transaction opens.
Status validateBatch(const WriteBatch& batch) {
  for (const WriteOpPtr& op : batch.ops()) {
    if (!op) return fail(ErrorCode::kInvalidArgument, "a write batch holds a null operation", "invalid record");
    if (auto st = op->validate(); !st) return st;
  }
  return {};
}

// Keyed by address in the writer's statement cache: one object each.
constexpr const char kBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr const char kCommit[] = "COMMIT";
constexpr const char kRollback[] = "ROLLBACK";

// The writer thread's connection; its statements are finalized before it closes (members are destroyed
// in reverse order).
struct WriterConnection {
  std::unique_ptr<SQLite::Database> db;
  std::optional<Transaction> tx;

  sqlite3* handle() const { return db->getHandle(); }
};

Result<std::unique_ptr<WriterConnection>> openWriter(const fs::path& path, int busyTimeoutMs) {
  try {
    configureSqliteProcess();
    auto w = std::make_unique<WriterConnection>();
    // The writer's WAL writes are gathered into one write per transaction (sqlite_wal_gather_vfs.h);
    // readers use the default VFS.
    const char* vfs = walGatherVfsName();
    if (vfs == nullptr) {
      spdlog::warn("store: cannot register the WAL write-gathering VFS; {} uses SQLite's default VFS", path.string());
    }
    w->db =
        std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
                                           busyTimeoutMs, vfs != nullptr ? vfs : "");
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
    w->tx.emplace(*w->db);
    w->tx->statement(kBeginImmediate);
    w->tx->statement(kCommit);
    w->tx->statement(kRollback);
    return w;
  } catch (const SQLite::Exception& e) {
    return fail(ErrorCode::kIo, fmt::format("opening {}: {}", path.string(), e.what()), "storage failure");
  }
}

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

  Status read(std::string_view what, FunctionRef<Status(ReadConnection&)> read) override {
    auto connection = checkoutReader();
    if (!connection) return fail(connection.error());
    Status out;
    try {
      out = read(**connection);
    } catch (const SQLite::Exception& e) {
      out = fail(sqliteError(e, what));
    }
    // A read that failed (or forgot to commit) may have left its snapshot open.
    (*connection)->endTransaction();
    checkinReader(std::move(*connection));
    return out;
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
    std::vector<std::unique_ptr<ReadConnection>> idle;
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
    Transaction& tx = *writer_->tx;
    if (auto st = tx.run(tx.statement(kBeginImmediate), [] { return std::string("BEGIN"); }); !st) return st;
    Status st = apply();
    if (st) {
      st = tx.run(tx.statement(kCommit), [] { return std::string("COMMIT"); });
      if (st) return st;
    }
    if (!sqlite3_get_autocommit(tx.handle())) {  // some errors roll the transaction back themselves
      if (auto rolledBack = tx.run(tx.statement(kRollback), [] { return std::string("ROLLBACK"); }); !rolledBack) {
        spdlog::error("store: {}", rolledBack.error().toString());
      }
    }
    return st;
  }

  // Applies the operations of one batch inside the open transaction.
  Status applyBatch(const WriteBatch& batch) {
    Transaction& tx = *writer_->tx;
    try {
      for (const WriteOpPtr& op : batch.ops()) {
        if (auto st = op->apply(tx); !st) return st;
      }
      return {};
    } catch (const SQLite::Exception& e) {  // preparing or binding (e.g. a value too large)
      return fail(sqliteError(e, "applying a write"));
    }
  }

  // ---- readers

  Result<std::unique_ptr<ReadConnection>> checkoutReader() {
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
      return std::make_unique<ReadConnection>(path_.string(), options_.busyTimeoutMs, options_.onPrepareRead);
    } catch (const SQLite::Exception& e) {
      return fail(sqliteError(e, fmt::format("opening a reader on {}", location_)));
    }
  }

  void checkinReader(std::unique_ptr<ReadConnection> connection) {
    {
      std::lock_guard lock(readersMu_);
      if (!readersClosed_ && idleReaders_.size() < kMaxIdleReaders) {
        idleReaders_.push_back(std::move(connection));
        return;
      }
    }
    connection.reset();  // closed outside the lock
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
  std::vector<std::unique_ptr<ReadConnection>> idleReaders_;  // guarded by readersMu_
  bool readersClosed_ = false;                                // guarded by readersMu_

  std::mutex closeMu_;
};

}  // namespace

Result<StorePtr> openSqliteStore(const SqliteStoreOptions& options) { return SqliteStore::create(options); }

}  // namespace talon::store
