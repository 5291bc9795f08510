// Idempotency keys expire: the pruner releases the keys of runs that ended more than the TTL ago, in
// bounded passes on the store's writer, in simulated time.
#include "gateway/idempotency_pruner.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "support/manual_executors.h"
#include "support/temp_dir.h"

namespace talon::gateway {
namespace {

constexpr int64_t kTtlMs = 300'000;

class IdempotencyPrunerTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    store::SqliteStoreOptions options;
    options.path = dir_ / "talon.sqlite";
    auto opened = store::openSqliteStore(options);
    ASSERT_TRUE(opened) << opened.error().toString();
    store_ = std::move(*opened);
  }

  /// Writes runs ended at `endedAtMs` with keys `<prefix>0` … `<prefix>n-1`.
  void addEndedRuns(const std::string& prefix, int n, int64_t endedAtMs) {
    store::WriteBatch batch;
    store::SessionRecord session;
    session.sessionKey = "agent:main:main";
    session.agentId = "main";
    store::SessionRepository::upsert(batch, session);
    for (int i = 0; i < n; ++i) {
      store::RunRecord run;
      run.runId = prefix + "run" + std::to_string(i);
      run.sessionKey = session.sessionKey;
      run.agentId = "main";
      run.idempotencyKey = prefix + std::to_string(i);
      run.status = store::RunStatus::kOk;
      run.startedAtMs = endedAtMs - 10;
      run.endedAtMs = endedAtMs;
      store::RunRepository::upsert(batch, std::move(run));
    }
    ASSERT_TRUE(store_->write(std::move(batch)));
  }

  bool known(const std::string& key) {
    auto found = store_->idempotency().findRun(key);
    EXPECT_TRUE(found) << key;
    return found && found->has_value();
  }

  /// Runs tasks until `n` passes are done and the next one is scheduled.
  bool settled(const IdempotencyPruner& pruner, int64_t n) {
    return manual_.runUntil([&] { return pruner.passes() == n && manual_.armedTimers() == 1; });
  }

  testing::TempDir dir_{"talon-idempotency"};
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors manual_{clock_};
  store::StorePtr store_;
};

TEST_F(IdempotencyPrunerTest, AKeyIsKeptWithinItsTtlAcrossARestartAndReleasedAfter) {
  addEndedRuns("early-", 1, clock_->nowMs());
  clock_->advance(100'000);
  addEndedRuns("late-", 1, clock_->nowMs());

  // A restart: the store is reopened and a new pruner starts; both keys are within their TTL.
  store_->close();
  open();
  IdempotencyPruner pruner(*store_, manual_.executors(), clock_, kTtlMs);
  pruner.start();
  ASSERT_TRUE(settled(pruner, 1));
  EXPECT_TRUE(known("early-0"));
  EXPECT_TRUE(known("late-0"));

  // Passes every 60 s: the one at 340 s after the first run ended releases it, not the second.
  for (int pass = 2; pass <= 4; ++pass) {
    manual_.advance(IdempotencyPruner::kPassIntervalMs);
    ASSERT_TRUE(settled(pruner, pass));
    EXPECT_TRUE(known("early-0")) << "pass " << pass;
  }
  manual_.advance(IdempotencyPruner::kPassIntervalMs);  // 340 s
  ASSERT_TRUE(settled(pruner, 5));
  EXPECT_EQ(pruner.released(), 1);
  EXPECT_FALSE(known("early-0"));
  EXPECT_TRUE(known("late-0"));
  manual_.advance(IdempotencyPruner::kPassIntervalMs);  // late-0 ended exactly 300 s ago: kept
  ASSERT_TRUE(settled(pruner, 6));
  EXPECT_TRUE(known("late-0"));
  manual_.advance(IdempotencyPruner::kPassIntervalMs);
  ASSERT_TRUE(settled(pruner, 7));
  EXPECT_EQ(pruner.released(), 2);
  EXPECT_FALSE(known("late-0"));
  pruner.stop();
  manual_.runReady();
  EXPECT_EQ(manual_.armedTimers(), 0u);
}

TEST_F(IdempotencyPrunerTest, ABacklogIsReleasedInBoundedPassesOneAfterAnother) {
  const int backlog = static_cast<int>(IdempotencyPruner::kMaxKeysPerPass) * 2 + 7;
  addEndedRuns("k", backlog, clock_->nowMs());
  clock_->advance(kTtlMs + 1);
  IdempotencyPruner pruner(*store_, manual_.executors(), clock_, kTtlMs);
  pruner.start();
  // Without the clock moving: a full pass is followed at once (a 0 ms timer) by the next, until a pass
  // releases less than the bound. The test waits for each pass to commit (passes() grows by one), then
  // fires the 0 ms timer.
  int64_t seen = 0;
  for (int round = 0; round < 5 && pruner.released() < backlog; ++round) {
    ASSERT_TRUE(manual_.runUntil([&] { return pruner.passes() > seen; })) << "pass " << seen + 1;
    seen = pruner.passes();
    EXPECT_EQ(pruner.released(), std::min<int64_t>(backlog, seen * IdempotencyPruner::kMaxKeysPerPass))
        << "at most kMaxKeysPerPass keys per pass";
    if (pruner.released() < backlog) manual_.advance(0);
  }
  EXPECT_EQ(pruner.passes(), 3) << "two full passes and the remainder";
  EXPECT_EQ(pruner.released(), backlog);
  EXPECT_FALSE(known("k0"));
  EXPECT_FALSE(known("k" + std::to_string(backlog - 1)));
  // The pass after the backlog waits its interval.
  manual_.advance(0);
  manual_.runReady();
  EXPECT_EQ(pruner.passes(), 3);
  manual_.advance(IdempotencyPruner::kPassIntervalMs);
  ASSERT_TRUE(manual_.runUntil([&] { return pruner.passes() == 4; }));
  EXPECT_EQ(pruner.released(), backlog);
}

}  // namespace
}  // namespace talon::gateway
