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

}  // namespace
}  // namespace talon::gateway
