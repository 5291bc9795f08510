// Heartbeat monitors over a real SQLite store: upserted, kept across a reopen, pruned to the agents that
// still run a heartbeat, and refused when malformed.
#include "store/heartbeat_monitor_repository.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class HeartbeatMonitorRepositoryTest : public testing::StoreTest {
 protected:
  static HeartbeatMonitorRecord monitor(std::string agent, int64_t nextDue) {
    HeartbeatMonitorRecord r;
    r.agentId = std::move(agent);
    r.fingerprint = "fp-1";
    r.everyMs = 1'800'000;
    r.nextDueAtMs = nextDue;
    r.updatedAtMs = 1000;
    return r;
  }
  Status upsert(HeartbeatMonitorRecord r) {
    WriteBatch b;
    HeartbeatMonitorRepository::upsert(b, std::move(r));
    return store_->write(std::move(b));
  }
};

TEST_F(HeartbeatMonitorRepositoryTest, TheLatestStateSurvivesAReopen) {
  HeartbeatMonitorRepository monitors(*store_);
  auto none = monitors.list();
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(upsert(monitor("ops", 5000)));
  auto failing = monitor("ops", 9000);
  failing.fingerprint = "fp-2";
  failing.lastRunAtMs = 4000;
  failing.consecutiveErrors = 3;
  failing.alertedAtMs = 4500;
  failing.alertsSent = 1;
  failing.disabledReason = "consecutive-failures";
  failing.lastError = "model unreachable";
  failing.updatedAtMs = 4600;
  ASSERT_TRUE(upsert(failing));
  ASSERT_TRUE(upsert(monitor("main", 7000)));

  store_->close();
  store_.reset();
  open();
  auto all = HeartbeatMonitorRepository(*store_).list();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].agentId, "main") << "ordered by agent id";
  const auto& ops = (*all)[1];
  EXPECT_EQ(ops.agentId, "ops");
  EXPECT_EQ(ops.fingerprint, "fp-2");
  EXPECT_EQ(ops.everyMs, 1'800'000);
  EXPECT_EQ(ops.nextDueAtMs, 9000);
  EXPECT_EQ(ops.lastRunAtMs, 4000);
  EXPECT_EQ(ops.consecutiveErrors, 3);
  EXPECT_EQ(ops.alertedAtMs, 4500);
  EXPECT_EQ(ops.alertsSent, 1);
  EXPECT_EQ(ops.disabledReason, "consecutive-failures");
  EXPECT_EQ(ops.lastError, "model unreachable");
  EXPECT_EQ(ops.updatedAtMs, 4600);
}

TEST_F(HeartbeatMonitorRepositoryTest, RetainOnlyDeletesTheOtherAgents) {
  ASSERT_TRUE(upsert(monitor("main", 1)));
  ASSERT_TRUE(upsert(monitor("ops", 2)));
  ASSERT_TRUE(upsert(monitor("research", 3)));
  WriteBatch b;
  HeartbeatMonitorRepository::retainOnly(b, {"ops", "unknown"});
  ASSERT_TRUE(store_->write(std::move(b)));
  auto all = HeartbeatMonitorRepository(*store_).list();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].agentId, "ops");

  WriteBatch none;
  HeartbeatMonitorRepository::retainOnly(none, {});
  ASSERT_TRUE(store_->write(std::move(none)));
  all = HeartbeatMonitorRepository(*store_).list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(HeartbeatMonitorRepositoryTest, MalformedMonitorsAreRefused) {
  auto noAgent = monitor("", 1);
  auto st = upsert(noAgent);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  auto negative = monitor("ops", -1);
  st = upsert(negative);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  auto all = HeartbeatMonitorRepository(*store_).list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty()) << "a refused batch writes nothing";
}

}  // namespace
}  // namespace talon::store
