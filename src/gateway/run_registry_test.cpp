// Idempotency of run-starting requests: a key seen before returns the first run.
#include "gateway/run_registry.h"

#include <gtest/gtest.h>

namespace talon::gateway {
namespace {

TrackedRun run(std::string runId) { return TrackedRun{std::move(runId), "agent:main:main", "main", false, {}}; }

TurnOutcome outcome(std::string runId, std::string text) {
  TurnOutcome o;
  o.runId = std::move(runId);
  o.text = std::move(text);
  return o;
}

TEST(RunRegistryTest, ASecondClaimOfAKeyReturnsTheFirstRun) {
  RunRegistry registry;
  EXPECT_FALSE(registry.claim("k1", run("r1")));
  auto again = registry.claim("k1", run("r2"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->runId, "r1");
  EXPECT_FALSE(again->done);
  registry.complete("k1", outcome("r1", "answer"));
  again = registry.claim("k1", run("r3"));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->done);
  EXPECT_EQ(again->outcome.text, "answer");
}

TEST(RunRegistryTest, WaitersGetTheOutcomeOnceItIsThere) {
  RunRegistry registry;
  EXPECT_FALSE(registry.waitFor("unknown", [](const TurnOutcome&) { FAIL(); }));
  ASSERT_FALSE(registry.claim("k1", run("r1")));
  std::vector<std::string> seen;
  EXPECT_TRUE(registry.waitFor("k1", [&](const TurnOutcome& o) { seen.push_back("early:" + o.text); }));
  EXPECT_TRUE(seen.empty());
  registry.complete("k1", outcome("r1", "a"));
  EXPECT_TRUE(registry.waitFor("k1", [&](const TurnOutcome& o) { seen.push_back("late:" + o.text); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"early:a", "late:a"}));
}

TEST(RunRegistryTest, AForgottenKeyTellsItsWaitersAndIsNewAgain) {
  RunRegistry registry;
  ASSERT_FALSE(registry.claim("k1", run("r1")));
  std::vector<std::string> seen;
  EXPECT_TRUE(registry.waitFor("k1", [&](const TurnOutcome& o) { seen.push_back(o.runId); }));
  registry.forget("k1", outcome("r1", ""));  // r1 never started
  EXPECT_EQ(seen, std::vector<std::string>{"r1"});
  EXPECT_FALSE(registry.waitFor("k1", [](const TurnOutcome&) { FAIL(); }));
  EXPECT_FALSE(registry.claim("k1", run("r2")));  // the retry starts its own run
  auto again = registry.claim("k1", run("r3"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->runId, "r2");
}

TEST(RunRegistryTest, CapacityForgetsTheOldestFinishedKeysButNeverARunningOne) {
  RunRegistry registry(2);
  ASSERT_FALSE(registry.claim("running", run("r0")));
  ASSERT_FALSE(registry.claim("k1", run("r1")));
  registry.complete("k1", outcome("r1", ""));
  ASSERT_FALSE(registry.claim("k2", run("r2")));  // over capacity: the oldest is running, kept
  EXPECT_TRUE(registry.claim("running", run("x")));
  registry.complete("running", outcome("r0", ""));
  ASSERT_FALSE(registry.claim("k3", run("r3")));
  ASSERT_FALSE(registry.claim("k4", run("r4")));
  EXPECT_TRUE(registry.claim("k4", run("x")));
  EXPECT_FALSE(registry.claim("k1", run("r1b")));  // forgotten: the caller falls back to the store
}

TEST(RunRegistryTest, OutcomeBytesForgetTheOldestFinishedKeysButNeverARunningOne) {
  RunRegistry registry(100, nullptr, 0, 10);
  ASSERT_FALSE(registry.claim("running", run("r0")));
  ASSERT_FALSE(registry.claim("k1", run("r1")));
  registry.complete("k1", outcome("r1", "123456"));  // 6 bytes: kept
  EXPECT_EQ(registry.keptOutcomeBytes(), 6u);
  ASSERT_FALSE(registry.claim("k2", run("r2")));
  registry.complete("k2", outcome("r2", "12345"));  // 11 > 10: k1, the oldest finished, goes
  EXPECT_EQ(registry.keptOutcomeBytes(), 5u);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_FALSE(registry.waitFor("k1", [](const TurnOutcome&) { FAIL(); }));  // the caller asks the store
  EXPECT_TRUE(registry.claim("running", run("x")));                          // never forgotten while running
  auto kept = registry.claim("k2", run("x"));
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->outcome.text, "12345");
  // An outcome larger than the whole bound is not kept either; a forgotten key gives its bytes back.
  ASSERT_FALSE(registry.claim("big", run("r3")));
  registry.complete("big", outcome("r3", std::string(11, 'x')));
  EXPECT_EQ(registry.keptOutcomeBytes(), 0u);
  EXPECT_EQ(registry.size(), 1u);  // the running run only
  EXPECT_EQ(RunRegistry::outcomeBytes(outcome("r", "abc")), 3u);
}

TEST(RunRegistryTest, AFinishedKeyIsForgottenOnceItsTtlHasPassedButARunningOneNever) {
  auto clock = std::make_shared<SimulatedClock>();
  RunRegistry registry(16, clock, 300'000);
  ASSERT_FALSE(registry.claim("done", run("r1")));
  ASSERT_FALSE(registry.claim("running", run("r2")));
  clock->advance(1'000'000);  // the TTL counts from the end of the run, not from its start
  registry.complete("done", outcome("r1", "a"));
  clock->advance(300'000);  // exactly the TTL: still known
  auto again = registry.claim("done", run("x"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome.text, "a");
  EXPECT_TRUE(registry.waitFor("done", [](const TurnOutcome&) {}));
  clock->advance(1);
  EXPECT_FALSE(registry.waitFor("done", [](const TurnOutcome&) { FAIL(); }));
  EXPECT_TRUE(registry.claim("running", run("y")));  // never forgotten while running
  EXPECT_FALSE(registry.claim("done", run("r3")));   // forgotten: a new run under the key
  auto fresh = registry.claim("done", run("z"));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->runId, "r3");
  EXPECT_FALSE(fresh->done);
}

}  // namespace
}  // namespace talon::gateway
