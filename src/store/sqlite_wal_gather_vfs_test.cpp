#include "store/sqlite_wal_gather_vfs.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace talon::store {
namespace {

namespace fs = std::filesystem;

// The default VFS's pwrite (Unix: "pwrite64" or "pwrite", whichever it was built with) is replaced for
// the duration of a test by one that counts, and on request fails, the writes to "-wal" files.
std::atomic<int> gWalWrites{0};
std::atomic<bool> gFailWalWrites{false};
using Pwrite = ssize_t (*)(int, const void*, size_t, off_t);
Pwrite gRealPwrite = nullptr;

bool isWalFd(int fd) {
  std::error_code ec;
  auto target = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  const std::string name = target.string();
  return !ec && name.size() > 4 && name.compare(name.size() - 4, 4, "-wal") == 0;
}

ssize_t countingPwrite(int fd, const void* data, size_t n, off_t offset) {
  if (isWalFd(fd)) {
    ++gWalWrites;
    if (gFailWalWrites) {
      errno = ENOSPC;
      return -1;
    }
  }
  return gRealPwrite(fd, data, n, offset);
}

class SqliteWalGatherVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "talon-wal-gather-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_NE(walGatherVfsName(), nullptr);
    real_ = sqlite3_vfs_find(nullptr);
    for (const char* name : {"pwrite64", "pwrite"}) {
      if (auto p = real_->xGetSystemCall(real_, name); p != nullptr) {
        gRealPwrite = reinterpret_cast<Pwrite>(p);
        ASSERT_EQ(real_->xSetSystemCall(real_, name, reinterpret_cast<sqlite3_syscall_ptr>(countingPwrite)), SQLITE_OK);
        replaced_ = name;
        break;
      }
    }
    ASSERT_NE(replaced_, nullptr) << "the default VFS has no pwrite system call to count";
    gWalWrites = 0;
    gFailWalWrites = false;
  }
  void TearDown() override {
    for (sqlite3* db : open_) sqlite3_close_v2(db);
    if (replaced_ != nullptr) real_->xSetSystemCall(real_, replaced_, nullptr);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// A connection to `file` through `vfs` (nullptr: the default VFS), in WAL mode as the store's writer.
  sqlite3* open(const fs::path& file, const char* vfs, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, flags, vfs), SQLITE_OK) << sqlite3_errmsg(db);
    open_.push_back(db);
    if ((flags & SQLITE_OPEN_READWRITE) != 0) exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    return db;
  }
  static int exec(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    sqlite3_free(error);
    return rc;
  }
  static int64_t count(sqlite3* db) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
  }
  static std::string integrity(sqlite3* db) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr);
    std::string out = sqlite3_step(s) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
    sqlite3_finalize(s);
    return out;
  }
  static constexpr const char* kSchema =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT); CREATE INDEX t_v ON t(v)";
  static std::string insert(int i) {
    return "INSERT INTO t(k, v) VALUES ('key-" + std::to_string(i) + "', 'value-" + std::to_string(i) + "')";
  }

  fs::path dir_;
  sqlite3_vfs* real_ = nullptr;
  const char* replaced_ = nullptr;
  std::vector<sqlite3*> open_;
};

TEST_F(SqliteWalGatherVfsTest, ACommitReachesTheWalInOneWriteInsteadOfTwoPerFrame) {
  // Three pages change per insert (the table and its two indexes): three frames, six writes by default.
  sqlite3* plain = open(dir_ / "plain.sqlite", nullptr);
  ASSERT_EQ(exec(plain, kSchema), SQLITE_OK);
  gWalWrites = 0;
  ASSERT_EQ(exec(plain, insert(1)), SQLITE_OK);
  EXPECT_GE(gWalWrites, 6);

  sqlite3* gathered = open(dir_ / "gathered.sqlite", walGatherVfsName());
  ASSERT_EQ(exec(gathered, kSchema), SQLITE_OK);
  for (int i = 1; i <= 3; ++i) {
    gWalWrites = 0;
    ASSERT_EQ(exec(gathered, "BEGIN; " + insert(2 * i) + "; " + insert(2 * i + 1) + "; COMMIT"), SQLITE_OK);
    EXPECT_EQ(gWalWrites, 1) << "transaction " << i;
  }
  EXPECT_EQ(count(gathered), 6);
  EXPECT_EQ(integrity(gathered), "ok");
}

TEST_F(SqliteWalGatherVfsTest, ATransactionOfMoreThan64KiBIsWrittenIn64KiBPieces) {
  sqlite3* db = open(dir_ / "big.sqlite", walGatherVfsName());
  ASSERT_EQ(exec(db, kSchema), SQLITE_OK);
  std::string sql = "BEGIN;";
  for (int i = 0; i < 300; ++i) {
    sql += "INSERT INTO t(k, v) VALUES ('big-" + std::to_string(i) + "', printf('%.1000c', 'x'));";
  }
  sql += "COMMIT";
  gWalWrites = 0;
  ASSERT_EQ(exec(db, sql), SQLITE_OK) << sqlite3_errmsg(db);
  // ~1.7 MiB of 4 KiB frames (the values are in the table and in the index on v): two writes per frame by
  // default, here one per 64 KiB.
  const auto frames = static_cast<int>((fs::file_size(dir_ / "big.sqlite-wal") - 32) / (4096 + 24));
  EXPECT_GT(frames, 300);
  EXPECT_GE(gWalWrites, frames * 4120 / 65536);
  EXPECT_LE(gWalWrites, frames * 4120 / 65536 + 2);
  sqlite3* other = open(dir_ / "big.sqlite", nullptr, SQLITE_OPEN_READONLY);
  EXPECT_EQ(count(other), 300);
  EXPECT_EQ(integrity(other), "ok");
}

TEST_F(SqliteWalGatherVfsTest, AnotherConnectionSeesEachCommitAsSoonAsItReturns) {
  const fs::path file = dir_ / "shared.sqlite";
  sqlite3* writer = open(file, walGatherVfsName());
  ASSERT_EQ(exec(writer, kSchema), SQLITE_OK);
  sqlite3* reader = open(file, nullptr, SQLITE_OPEN_READONLY);
  for (int i = 1; i <= 50; ++i) {
    ASSERT_EQ(exec(writer, insert(i)), SQLITE_OK);
    ASSERT_EQ(count(reader), i);
  }
  // A checkpoint reads the frames back through the layer.
  ASSERT_EQ(exec(writer, "PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
  ASSERT_EQ(exec(writer, insert(51)), SQLITE_OK);
  EXPECT_EQ(count(reader), 51);
  EXPECT_EQ(integrity(reader), "ok");
}

TEST_F(SqliteWalGatherVfsTest, AProcessThatDiesKeepsEveryCommitAndLosesOnlyTheOpenTransaction) {
  const fs::path file = dir_ / "crash.sqlite";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, walGatherVfsName()) != 0) {
      ::_exit(2);
    }
    // A page cache of 10 pages: the open transaction below spills frames into the WAL before any commit.
    if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = 10") != 0) ::_exit(3);
    if (exec(db, kSchema) != 0) ::_exit(4);
    for (int i = 1; i <= 50; ++i) {
      if (exec(db, insert(i)) != 0) ::_exit(5);
    }
    if (exec(db, "BEGIN") != 0) ::_exit(6);
    for (int i = 1000; i < 3000; ++i) {
      if (exec(db, "INSERT INTO t(k, v) VALUES ('big-" + std::to_string(i) + "', printf('%.1000c', 'x'))") != 0) {
        ::_exit(7);
      }
    }
    ::_exit(0);  // no COMMIT, no close: the process dies with the transaction open
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(fs::file_size(fs::path(file.string() + "-wal")), 1024u * 1024u);  // the spilled frames were written

  sqlite3* db = open(file, nullptr);
  EXPECT_EQ(count(db), 50);
  EXPECT_EQ(integrity(db), "ok");
}

TEST_F(SqliteWalGatherVfsTest, AWriteThatFailsFailsTheCommitAndTheNextCommitSucceeds) {
  const fs::path file = dir_ / "full.sqlite";
  sqlite3* db = open(file, walGatherVfsName());
  ASSERT_EQ(exec(db, kSchema), SQLITE_OK);
  ASSERT_EQ(exec(db, insert(1)), SQLITE_OK);

  gFailWalWrites = true;
  const int rc = exec(db, insert(2));
  gFailWalWrites = false;
  EXPECT_NE(rc, SQLITE_OK);
  EXPECT_TRUE((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR) << rc;

  ASSERT_EQ(exec(db, insert(3)), SQLITE_OK) << sqlite3_errmsg(db);
  EXPECT_EQ(count(db), 2);
  sqlite3* other = open(file, nullptr, SQLITE_OPEN_READONLY);
  EXPECT_EQ(count(other), 2);
  EXPECT_EQ(integrity(other), "ok");
}

}  // namespace
}  // namespace talon::store
