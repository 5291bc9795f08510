#include "gateway/health/store_write_monitor.h"

#include <gtest/gtest.h>

#include <deque>

namespace talon::gateway::health {
namespace {

/// A store whose write outcomes are scripted; reads succeed. Not thread-safe (tests use one thread).
class ScriptedStore final : public store::Store {
 public:
  std::deque<Status> outcomes;  // one per write; empty: success
  int writes = 0;

  void submit(store::WriteBatch batch, std::function<void(Status)> onCommitted) override { onCommitted(next()); }
  Status write(store::WriteBatch batch) override { return next(); }
  Status read(std::string_view, store::FunctionRef<Status(store::ReadConnection&)>) override { return {}; }
  std::string location() const override { return "scripted"; }
  void close() override {}

 private:
  Status next() {
    ++writes;
    if (outcomes.empty()) return {};
    Status s = outcomes.front();
    outcomes.pop_front();
    return s;
  }
};

class StoreWriteMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = std::make_unique<ScriptedStore>();
    scripted = inner.get();
    monitor = std::make_unique<StoreWriteMonitor>(std::move(inner));
    ASSERT_TRUE(monitor->attach(registry, metrics));
  }
  std::optional<HealthRecord> record() const { return registry.get("store", "writes"); }
  uint64_t failures() const {
    auto* family = metrics.find("talon_store_write_failures_total");
    return family ? family->counter().value().value() : 0;
  }
  static Status diskFull() {
    return fail(ErrorCode::kIo, "COMMIT: database or disk is full (sqlite 13: database or disk is full)",
                "storage failure");
  }

  std::shared_ptr<SimulatedClock> clock = std::make_shared<SimulatedClock>();
  HealthRegistry registry{clock};
  MetricsRegistry metrics;
  ScriptedStore* scripted = nullptr;
  std::unique_ptr<StoreWriteMonitor> monitor;
};

TEST_F(StoreWriteMonitorTest, AttachReportsWritesOkAsACriticalRecord) {
  auto r = record();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, HealthState::kOk);
  EXPECT_TRUE(r->critical);
  EXPECT_EQ(failures(), 0u);
}

TEST_F(StoreWriteMonitorTest, FullDiskFailsTheRecordUntilAWriteCommitsAgain) {
  scripted->outcomes = {diskFull(), diskFull()};
  EXPECT_FALSE(monitor->write(store::WriteBatch{}));  // the caller still sees the error
  Status submitted;
  monitor->submit(store::WriteBatch{}, [&](Status s) { submitted = s; });
  ASSERT_FALSE(submitted);
  EXPECT_EQ(submitted.error().code, ErrorCode::kIo);

  auto r = record();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, HealthState::kFailed);
  EXPECT_NE(r->detail.find("database or disk is full"), std::string::npos) << r->detail;
  EXPECT_EQ(failures(), 2u);
  EXPECT_FALSE(registry.readiness().ready);

  // Space returns: the next batch commits and the record is ok again.
  EXPECT_TRUE(monitor->write(store::WriteBatch{}));
  EXPECT_EQ(record()->state, HealthState::kOk);
  EXPECT_TRUE(registry.readiness().ready);
  EXPECT_EQ(failures(), 2u);
  EXPECT_EQ(scripted->writes, 3);
}

TEST_F(StoreWriteMonitorTest, CallersOwnErrorsSayNothingAboutTheStore) {
  scripted->outcomes = {fail(ErrorCode::kAlreadyExists, "id taken"), fail(ErrorCode::kInvalidArgument, "bad row"),
                        fail(ErrorCode::kNotFound, "no such run")};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(monitor->write(store::WriteBatch{}));
  EXPECT_EQ(record()->state, HealthState::kOk);
  EXPECT_EQ(failures(), 0u);
}

TEST_F(StoreWriteMonitorTest, ACallersErrorDoesNotClearAStoreFailure) {
  scripted->outcomes = {diskFull(), fail(ErrorCode::kAlreadyExists, "id taken")};
  EXPECT_FALSE(monitor->write(store::WriteBatch{}));
  EXPECT_FALSE(monitor->write(store::WriteBatch{}));
  EXPECT_EQ(record()->state, HealthState::kFailed);
}

}  // namespace
}  // namespace talon::gateway::health
