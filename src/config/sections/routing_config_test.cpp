// Talon-only `agents.defaults.routing` / `agents.entries.<id>.routing` (docs/providers.md "Routing").
#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(RoutingConfig, ReadsDefaultsAndPerAgentKeys) {
  ValidationResult r = validate(R"({
    agents: {
      defaults: { routing: { strategy: "latency", latencySloMs: 2500, minCalls: 8 } },
      entries: { main: {}, batch: { routing: { strategy: "cost", maxCostPerMTokUsd: 4.5 } } },
      ownership: "explicit",
    },
  })");
  // Only the ownerless-heartbeat warning of a multi-agent roster.
  ASSERT_EQ(r.diagnostics.size(), 1u) << messages(r);
  EXPECT_FALSE(r.diagnostics[0].isError()) << messages(r);
  const RoutingConfig& d = r.config.agents.defaults.routing;
  EXPECT_EQ(d.strategy, "latency");
  EXPECT_EQ(d.latencySloMs, 2500);
  EXPECT_EQ(d.minCalls, 8);
  EXPECT_FALSE(d.maxCostPerMTokUsd);
  ASSERT_EQ(r.config.agents.entries.size(), 2u);
  const RoutingConfig& b = r.config.agents.entries[1].routing;
  EXPECT_EQ(b.strategy, "cost");
  EXPECT_EQ(b.maxCostPerMTokUsd, 4.5);
  EXPECT_FALSE(b.latencySloMs);
}

TEST(RoutingConfig, RefusesBadValuesNamingTheKey) {
  ValidationResult r = validate(R"({
    agents: { defaults: { routing: { strategy: "fastest", latencySloMs: 0, maxCostPerMTokUsd: "5", minCalls: 0,
                                     weights: {} } } },
  })");
  std::string m = messages(r);
  EXPECT_NE(m.find("agents.defaults.routing.strategy"), std::string::npos) << m;
  EXPECT_NE(m.find("\"fastest\""), std::string::npos) << m;
  EXPECT_NE(m.find("agents.defaults.routing.latencySloMs"), std::string::npos) << m;
  EXPECT_NE(m.find("agents.defaults.routing.maxCostPerMTokUsd: expected number > 0 (USD per million tokens), got"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("agents.defaults.routing.minCalls"), std::string::npos) << m;
  EXPECT_NE(m.find("\"weights\""), std::string::npos) << m;
}

TEST(RoutingConfig, ALatencyStrategyNeedsAnSloFromTheEntryOrTheDefaults) {
  ValidationResult r = validate(R"({
    agents: {
      defaults: { routing: { latencySloMs: 1000 } },
      entries: { main: { routing: { strategy: "latency" } } },
    },
  })");
  EXPECT_TRUE(r.valid()) << messages(r);

  r = validate(R"({
    agents: { entries: { main: { routing: { strategy: "latency" } } } },
  })");
  std::string m = messages(r);
  EXPECT_NE(m.find("agents.entries.main.routing.strategy: agent \"main\": strategy \"latency\" needs latencySloMs"),
            std::string::npos)
      << m;

  r = validate(R"({ agents: { defaults: { routing: { strategy: "latency" } } } })");
  m = messages(r);
  EXPECT_NE(m.find("agents.defaults.routing.strategy: agent \"main\": strategy \"latency\" needs latencySloMs"),
            std::string::npos)
      << m;
}

TEST(RoutingConfig, WarnsAboutAKeyTheBlocksStrategyDoesNotRead) {
  ValidationResult r = validate(R"({
    agents: { defaults: { routing: { strategy: "cost", latencySloMs: 900, minCalls: 3 } } },
  })");
  EXPECT_TRUE(r.valid()) << messages(r);
  std::string m = messages(r);
  EXPECT_NE(m.find("agents.defaults.routing.latencySloMs: latencySloMs is read only by strategy \"latency\"; this "
                   "block's strategy is \"cost\""),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("agents.defaults.routing.minCalls: minCalls is read only by strategies"), std::string::npos) << m;
}

}  // namespace
}  // namespace talon::config
