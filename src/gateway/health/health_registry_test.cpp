#include "gateway/health/health_registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace talon::gateway::health {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

class HealthRegistryTest : public ::testing::Test {
 protected:
  std::shared_ptr<SimulatedClock> clock = std::make_shared<SimulatedClock>(kStart);
  HealthRegistry registry{clock};
};

TEST(HealthState, NamesRoundTrip) {
  for (HealthState s : {HealthState::kOk, HealthState::kDegraded, HealthState::kFailed, HealthState::kUnknown}) {
    EXPECT_EQ(parseHealthState(healthStateName(s)), s);
  }
  EXPECT_EQ(healthStateName(HealthState::kDegraded), "degraded");
  EXPECT_FALSE(parseHealthState("OK"));
}

TEST_F(HealthRegistryTest, SetStampsSinceOnlyOnStateChange) {
  EXPECT_EQ(registry.version(), 0u);
  EXPECT_TRUE(
      registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk, .critical = true}));
  auto rec = registry.get("store", "writable");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, HealthState::kOk);
  EXPECT_EQ(rec->sinceMs, kStart);
  EXPECT_TRUE(rec->critical);
  EXPECT_EQ(registry.version(), 1u);

  clock->advance(1000);
  // The same again: no change, no version.
  EXPECT_FALSE(
      registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk, .critical = true}));
  EXPECT_EQ(registry.version(), 1u);

  // A new detail alone keeps `since`.
  EXPECT_TRUE(registry.set({.component = "store",
                            .dimension = "writable",
                            .state = HealthState::kOk,
                            .detail = "12 writes queued",
                            .critical = true}));
  EXPECT_EQ(registry.get("store", "writable")->sinceMs, kStart);
  EXPECT_EQ(registry.get("store", "writable")->detail, "12 writes queued");
  EXPECT_EQ(registry.version(), 2u);

  clock->advance(500);
  EXPECT_TRUE(registry.set({.component = "store",
                            .dimension = "writable",
                            .state = HealthState::kFailed,
                            .detail = "disk full",
                            .critical = true}));
  EXPECT_EQ(registry.get("store", "writable")->sinceMs, kStart + 1500);
  EXPECT_EQ(registry.version(), 3u);
  EXPECT_FALSE(registry.get("store", "nope"));
}

TEST_F(HealthRegistryTest, SnapshotIsASortedCopy) {
  registry.set({.component = "provider:openai", .dimension = "reachable", .state = HealthState::kOk});
  registry.set({.component = "channel:telegram/default", .dimension = "auth", .state = HealthState::kDegraded});
  registry.set({.component = "channel:telegram/default", .dimension = "api", .state = HealthState::kUnknown});
  registry.set({.component = "channel", .dimension = "z", .state = HealthState::kOk});
  HealthSnapshot snap = registry.snapshot();
  EXPECT_EQ(snap.version, 4u);
  ASSERT_EQ(snap.records.size(), 4u);
  EXPECT_EQ(snap.records[0].component, "channel");
  EXPECT_EQ(snap.records[1].dimension, "api");
  EXPECT_EQ(snap.records[2].dimension, "auth");
  EXPECT_EQ(snap.records[3].component, "provider:openai");
  // A copy: later changes do not reach it.
  registry.set({.component = "provider:openai", .dimension = "reachable", .state = HealthState::kFailed});
  EXPECT_EQ(snap.records[3].state, HealthState::kOk);
}

TEST(Readiness, Decision) {
  auto rec = [](HealthState s, bool critical) {
    HealthRecord r;
    r.component = "c";
    r.dimension = "d";
    r.state = s;
    r.critical = critical;
    return r;
  };
  EXPECT_TRUE(evaluateReadiness({}).ready);
  EXPECT_EQ(evaluateReadiness({}).overall, HealthState::kOk);

  std::vector<HealthRecord> records = {rec(HealthState::kOk, true), rec(HealthState::kDegraded, true)};
  Readiness r = evaluateReadiness(records);
  EXPECT_TRUE(r.ready);  // degraded still serves
  EXPECT_EQ(r.overall, HealthState::kDegraded);
  EXPECT_TRUE(r.blocking.empty());

  records.push_back(rec(HealthState::kFailed, false));  // not critical: reported, not blocking
  r = evaluateReadiness(records);
  EXPECT_TRUE(r.ready);
  EXPECT_EQ(r.overall, HealthState::kFailed);

  records = {rec(HealthState::kOk, false), rec(HealthState::kUnknown, true)};
  r = evaluateReadiness(records);
  EXPECT_FALSE(r.ready);  // a critical check that has not run yet blocks
  EXPECT_EQ(r.overall, HealthState::kUnknown);
  ASSERT_EQ(r.blocking.size(), 1u);
  EXPECT_EQ(r.blocking[0].state, HealthState::kUnknown);

  records = {rec(HealthState::kFailed, true), rec(HealthState::kDegraded, false), rec(HealthState::kUnknown, false)};
  r = evaluateReadiness(records);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.overall, HealthState::kFailed);
  EXPECT_EQ(r.blocking.size(), 1u);
}

TEST_F(HealthRegistryTest, ReadinessFollowsTheRecords) {
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kUnknown, .critical = true});
  EXPECT_FALSE(registry.readiness().ready);
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk, .critical = true});
  EXPECT_TRUE(registry.readiness().ready);
  registry.set({.component = "channel:x", .dimension = "api", .state = HealthState::kFailed});
  EXPECT_TRUE(registry.readiness().ready);
  EXPECT_EQ(registry.readiness().overall, HealthState::kFailed);
}

TEST_F(HealthRegistryTest, SubscribersSeeEveryChange) {
  std::vector<HealthChange> seen;
  auto id = registry.subscribe([&](const HealthChange& c) { seen.push_back(c); });
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk});
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk});  // no change
  clock->advance(10);
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kFailed, .detail = "disk full"});
  EXPECT_TRUE(registry.remove("store", "writable"));
  EXPECT_FALSE(registry.remove("store", "writable"));

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].version, 1u);
  EXPECT_FALSE(seen[0].previous);
  EXPECT_EQ(seen[0].record.state, HealthState::kOk);
  EXPECT_EQ(seen[1].version, 2u);
  EXPECT_EQ(seen[1].previous, HealthState::kOk);
  EXPECT_EQ(seen[1].record.state, HealthState::kFailed);
  EXPECT_EQ(seen[1].record.detail, "disk full");
  EXPECT_EQ(seen[1].record.sinceMs, kStart + 10);
  EXPECT_TRUE(seen[2].removed);
  EXPECT_EQ(seen[2].version, 3u);
  EXPECT_EQ(seen[2].record.component, "store");
  EXPECT_TRUE(registry.snapshot().records.empty());

  EXPECT_TRUE(registry.unsubscribe(id));
  EXPECT_FALSE(registry.unsubscribe(id));
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kOk});
  EXPECT_EQ(seen.size(), 3u);
}

TEST_F(HealthRegistryTest, SubscriberMayReadAndWriteTheRegistry) {
  // A subscriber that derives an aggregate record from the others (and so re-enters set()).
  std::vector<uint64_t> snapshotVersions;
  registry.subscribe([&](const HealthChange& c) {
    snapshotVersions.push_back(registry.snapshot().version);
    if (c.record.component != "gateway") {
      registry.set({.component = "gateway",
                    .dimension = "overall",
                    .state = registry.readiness().ready ? HealthState::kOk : HealthState::kFailed});
    }
  });
  registry.set({.component = "store", .dimension = "writable", .state = HealthState::kFailed, .critical = true});
  auto overall = registry.get("gateway", "overall");
  ASSERT_TRUE(overall);
  EXPECT_EQ(overall->state, HealthState::kFailed);
  EXPECT_EQ(registry.version(), 2u);
  EXPECT_EQ(snapshotVersions, (std::vector<uint64_t>{1, 2}));
}

TEST_F(HealthRegistryTest, ConcurrentSettersGetDistinctVersions) {
  std::mutex mu;
  std::vector<uint64_t> versions;
  registry.subscribe([&](const HealthChange& c) {
    std::lock_guard lock(mu);
    versions.push_back(c.version);
  });
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string component = "c" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        registry.set(
            {.component = component, .dimension = "d", .state = i % 2 ? HealthState::kOk : HealthState::kDegraded});
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.version(), uint64_t{kThreads * kPerThread});
  std::sort(versions.begin(), versions.end());
  ASSERT_EQ(versions.size(), size_t{kThreads * kPerThread});
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], i + 1);
  EXPECT_EQ(registry.snapshot().records.size(), size_t{kThreads});
}

}  // namespace
}  // namespace talon::gateway::health
