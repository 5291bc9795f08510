#include "fleet/backup_schedule.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fleet/fleet_test_util.h"
#include "fleet/inventory.h"

namespace talon::fleet {
namespace {

using testing::TempDir;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kT0 = 1'800'000'000'000;

GatewayBackup scheduleTestBackup(int64_t id, const std::string& gateway, int64_t timeMs,
                                 const std::string& reason = "scheduled") {
  GatewayBackup b;
  b.id = id;
  b.gateway = gateway;
  b.timeMs = timeMs;
  b.reason = reason;
  return b;
}

TEST(BackupScheduleTest, AGatewayIsDueWithoutABackupOrOnceItsNewestIsAnIntervalOld) {
  BackupSettings s;
  s.intervalHours = 24;
  std::vector<GatewayBackup> existing{scheduleTestBackup(1, "a", kT0), scheduleTestBackup(2, "b", kT0),
                                      scheduleTestBackup(3, "b", kT0 + 20 * kHour, "manual")};
  // c has no backup; a's newest is 24 h old at +24 h; b's newest (a manual one counts) is only 4 h old.
  EXPECT_EQ(gatewaysDueForBackup(existing, {"a", "b", "c"}, kT0 + 24 * kHour, s), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(gatewaysDueForBackup(existing, {"a", "b", "c"}, kT0 + 24 * kHour - 1, s), (std::vector<std::string>{"c"}));
  EXPECT_EQ(gatewaysDueForBackup(existing, {"a", "b"}, kT0 + 44 * kHour, s), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(gatewaysDueForBackup(existing, {}, kT0, s).empty());
}

TEST(BackupScheduleTest, OnlyScheduledBackupsBeyondTheNewestKeepOfEachGatewayExpire) {
  std::vector<GatewayBackup> existing{scheduleTestBackup(1, "a", kT0),
                                      scheduleTestBackup(1, "b", kT0),
                                      scheduleTestBackup(2, "a", kT0 + kHour, "manual"),
                                      scheduleTestBackup(3, "a", kT0 + 2 * kHour),
                                      scheduleTestBackup(4, "a", kT0 + 3 * kHour, "rollout"),
                                      scheduleTestBackup(5, "a", kT0 + 4 * kHour),
                                      scheduleTestBackup(5, "b", kT0 + 4 * kHour)};
  using Expired = std::vector<std::pair<int64_t, std::string>>;
  EXPECT_EQ(expiredScheduledBackups(existing, 2), (Expired{{1, "a"}}));
  EXPECT_EQ(expiredScheduledBackups(existing, 1), (Expired{{1, "a"}, {1, "b"}, {3, "a"}}));
  EXPECT_TRUE(expiredScheduledBackups(existing, 3).empty());
  // keep is at least 1: the newest scheduled backup of a gateway is never expired.
  EXPECT_EQ(expiredScheduledBackups(existing, 0), (Expired{{1, "a"}, {1, "b"}, {3, "a"}}));
}

class BackupScheduleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"gw-a", "gw-b"}) {
      DeployTarget t;
      t.id = id;
      t.runtime = "talon";
      t.paths.stateDir = (dir_.path() / id / "state").string();
      t.paths.configPath = (dir_.path() / id / "state" / "openclaw.json").string();
      dir_.write(std::string(id) + "/state/openclaw.json", "{\"gateway\":{\"port\":1}}\n");
      dir_.write(std::string(id) + "/state/notes.txt", "notes of " + std::string(id) + "\n");
      targets_.push_back(t);
    }
    auto store = BackupStore::open(dir_.path() / "fleet");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
  }

  TempDir dir_;
  std::vector<DeployTarget> targets_;
  std::unique_ptr<BackupStore> store_;
};

TEST_F(BackupScheduleStoreTest, ABackupRunTakesOneIdForEveryGatewayAndReportsProgress) {
  std::vector<std::string> lines;
  auto taken =
      backupGateways(*store_, targets_, {}, "scheduled", kT0, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(taken) << taken.error().message;
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].id, 1);
  EXPECT_EQ((*taken)[1].id, 1);
  EXPECT_EQ((*taken)[1].reason, "scheduled");
  EXPECT_FALSE((*taken)[0].revision.has_value());
  EXPECT_EQ(lines, (std::vector<std::string>{"backup 1: gw-a: 2 file(s)", "backup 1: gw-b: 2 file(s)"}));
  auto second = backupGateways(*store_, {targets_[0]}, {}, "scheduled", kT0 + kHour, {});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->front().id, 2);
}

TEST_F(BackupScheduleStoreTest, RemoveDeletesOneGatewaysBackupAndTheIdFolderWhenEmpty) {
  ASSERT_TRUE(backupGateways(*store_, targets_, {}, "scheduled", kT0, {}));
  ASSERT_TRUE(store_->remove(1, "gw-a"));
  auto left = store_->list();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().gateway, "gw-b");
  EXPECT_EQ(store_->remove(1, "gw-a").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->remove(1, "gw-b"));
  EXPECT_FALSE(std::filesystem::exists(store_->folder(1, "gw-b").parent_path()));
  EXPECT_EQ(store_->remove(7, "").error().code, ErrorCode::kNotFound);
}

TEST_F(BackupScheduleStoreTest, VerifyAllFindsTheDamagedBackupOnly) {
  ASSERT_TRUE(backupGateways(*store_, targets_, {}, "scheduled", kT0, {}));
  std::size_t checked = 0;
  auto intact = verifyAllBackups(*store_, checked);
  ASSERT_TRUE(intact);
  EXPECT_TRUE(intact->empty());
  EXPECT_EQ(checked, 2u);
  auto notes = store_->folder(1, "gw-b") / "state" / "notes.txt";
  std::filesystem::permissions(notes, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  dir_.write(std::filesystem::relative(notes, dir_.path()).string(), "tampered\n");
  auto broken = verifyAllBackups(*store_, checked);
  ASSERT_TRUE(broken);
  ASSERT_EQ(broken->size(), 1u);
  EXPECT_EQ(broken->front().gateway, "gw-b");
  EXPECT_EQ(broken->front().problems.front().path, "state/notes.txt");
}

TEST(BackupSettingsTest, TheBackupsSectionIsReadWithDefaultsAndRangesChecked) {
  TempDir dir;
  const std::string head =
      "{ organisation: { id: \"o\", slug: \"o\", displayName: \"O\" },\n"
      "  gateways: { g: { port: 18789, stateDir: \"/tmp/s\", workspaceRoot: \"/tmp/w\" } },\n";
  dir.write("fleet.json5", head + "  backups: { intervalHours: 6, keep: 4 },\n}\n");
  auto inv = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_TRUE(inv) << inv.error().message;
  ASSERT_TRUE((*inv)->backups().has_value());
  EXPECT_EQ((*inv)->backups()->intervalHours, 6);
  EXPECT_EQ((*inv)->backups()->keep, 4);
  EXPECT_EQ((*inv)->backups()->verifyIntervalHours, 24);

  dir.write("fleet.json5", head + "}\n");
  auto none = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE((*none)->backups().has_value());

  dir.write("fleet.json5", head + "  backups: {\n    keep: 0,\n    everyHours: 3 },\n}\n");
  auto bad = Inventory::load(dir.path() / "fleet.json5");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("fleet.json5:4:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("backups.keep"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("backups.everyHours"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace talon::fleet
