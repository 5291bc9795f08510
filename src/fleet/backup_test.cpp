#include "fleet/backup.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "base/file_io.h"
#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using testing::TempDir;

/// Runs `sql` on the database at `path` (WAL mode, kept open by the caller when `keep`).
sqlite3* backupTestDb(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, ("PRAGMA journal_mode=WAL;" + sql).c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  return db;
}

int64_t backupTestCount(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, nullptr);
  int64_t n = -1;
  if (st && sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

class BackupStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_.id = "gw-a";
    target_.runtime = "talon";
    target_.version = "1.2.0";
    target_.binary = "/opt/talon-1.2.0";
    target_.paths.stateDir = (dir_.path() / "gw-a" / "state").string();
    target_.paths.configPath = (dir_.path() / "gw-a" / "state" / "openclaw.json").string();
    std::filesystem::create_directories(dir_.path() / "gw-a" / "state" / "state");
    dir_.write("gw-a/state/openclaw.json", "{\"gateway\":{\"port\":1}}\n");
    dir_.write("gw-a/state/audit.checkpoint", "checkpoint-1\n");
    dir_.write("gw-a/state/gateway.lock", "123\n");
    auto store = BackupStore::open(dir_.path() / "fleet");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
  }

  TempDir dir_;
  DeployTarget target_;
  std::unique_ptr<BackupStore> store_;
};

TEST_F(BackupStoreTest, CopiesConfigStateAndALiveDatabaseConsistently) {
  auto dbPath = dir_.path() / "gw-a" / "state" / "state" / "talon.sqlite";
  // The writer stays open, with committed rows still in its -wal file: a raw copy of talon.sqlite alone
  // would miss them.
  sqlite3* writer =
      backupTestDb(dbPath, "PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);");
  ASSERT_TRUE(std::filesystem::exists(dbPath.string() + "-wal"));

  auto id = store_->nextId();
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, 1);
  auto b = store_->backupGateway(*id, target_, 4, "manual", 1'700'000'000'000);
  sqlite3_close(writer);
  ASSERT_TRUE(b) << b.error().message;
  std::vector<std::string> paths;
  for (const auto& f : b->files) paths.push_back(f.path + (f.sqlite ? " (sqlite)" : ""));
  // The config once (not again under state/), no -wal/-shm, no lock file.
  EXPECT_EQ(paths, (std::vector<std::string>{"config/openclaw.json", "state/audit.checkpoint",
                                             "state/state/talon.sqlite (sqlite)"}));
  EXPECT_EQ(backupTestCount(store_->folder(1, "gw-a") / "state/state/talon.sqlite"), 3);
  EXPECT_TRUE(store_->verify(*b).empty());

  auto listed = store_->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].revision, 4);
  EXPECT_EQ((*listed)[0].version, "1.2.0");
  EXPECT_EQ((*listed)[0].files.size(), 3u);
  EXPECT_EQ(*store_->nextId(), 2);
  EXPECT_FALSE(store_->backupGateway(1, target_, 4, "manual", 0));  // the id already holds gw-a
}

TEST_F(BackupStoreTest, VerifyFindsTamperedMissingAndExtraFiles) {
  auto b = store_->backupGateway(1, target_, std::nullopt, "manual", 0);
  ASSERT_TRUE(b);
  auto folder = store_->folder(1, "gw-a");
  std::ofstream(folder / "state" / "audit.checkpoint") << "checkpoint-2\n";  // same size, other bytes
  std::ofstream(folder / "state" / "extra") << "x";
  auto problems = store_->verify(*b);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, "state/audit.checkpoint");
  EXPECT_NE(problems[0].message.find("does not match"), std::string::npos);
  EXPECT_EQ(problems[1].path, "state/extra");
  std::filesystem::remove(folder / "config" / "openclaw.json");
  problems = store_->verify(*b);
  EXPECT_EQ(problems[0].path, "config/openclaw.json");
  EXPECT_EQ(problems[0].message, "missing or unreadable");

  // A backup that does not verify is not restored: nothing is touched.
  auto restored = store_->restoreFiles(*b, target_);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(target_.paths.configPath));
}

TEST_F(BackupStoreTest, RestorePutsTheFilesBackAndKeepsTheReplacedStateDir) {
  auto b = store_->backupGateway(1, target_, 2, "manual", 0);
  ASSERT_TRUE(b);
  dir_.write("gw-a/state/openclaw.json", "{\"gateway\":{\"port\":2}}\n");
  dir_.write("gw-a/state/audit.checkpoint", "later\n");
  dir_.write("gw-a/state/new-file", "x");
  auto moved = store_->restoreFiles(*b, target_);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, target_.paths.stateDir + ".before-restore-00000001");
  EXPECT_EQ(*readFile(target_.paths.configPath), "{\"gateway\":{\"port\":1}}\n");
  EXPECT_EQ(*readFile(dir_.path() / "gw-a/state/audit.checkpoint"), "checkpoint-1\n");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "gw-a/state/new-file"));
  EXPECT_EQ(*readFile(std::filesystem::path(*moved) / "new-file"), "x");
}

TEST(BackupManifest, RoundTripsAndRefusesPathsOutsideTheBackup) {
  GatewayBackup b;
  b.id = 3;
  b.gateway = "g";
  b.runtime = "openclaw";
  b.revision = 7;
  b.timeMs = 5;
  b.files.push_back({"state/x", std::string(64, 'a'), 10, 0640, false});
  auto back = GatewayBackup::fromJson(b.toJson());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->revision, 7);
  EXPECT_EQ(back->files[0].mode, 0640u);
  auto j = b.toJson();
  j["files"] = json::array{json::object{{"path", "../../etc/passwd"}, {"sha256", std::string(64, 'a')}}};
  EXPECT_FALSE(GatewayBackup::fromJson(j));
}

}  // namespace
}  // namespace talon::fleet
