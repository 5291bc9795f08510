// Talon-only `agents.defaults.spendLimit` / `agents.entries.<id>.spendLimit` (docs/providers.md
// "Spending limits").
#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace talon::config {
namespace {

using testing::messages;
using testing::validate;

TEST(SpendLimitConfig, ReadsDefaultsAndPerAgentCeilingsInUsd) {
  ValidationResult r = validate(R"({
    agents: {
      defaults: { spendLimit: { dailyUsd: 5, monthlyUsd: 100.5 } },
      entries: { main: {}, ops: { spendLimit: { dailyUsd: 0.25 } } },
      ownership: "explicit",
    },
  })");
  // Only the ownerless-heartbeat warning of a multi-agent roster.
  ASSERT_EQ(r.diagnostics.size(), 1u) << messages(r);
  EXPECT_FALSE(r.diagnostics[0].isError()) << messages(r);
  EXPECT_EQ(r.config.agents.defaults.spendLimit.dailyUsd, 5.0);
  EXPECT_EQ(r.config.agents.defaults.spendLimit.monthlyUsd, 100.5);
  ASSERT_EQ(r.config.agents.entries.size(), 2u);
  EXPECT_EQ(r.config.agents.entries[1].spendLimit.dailyUsd, 0.25);
  EXPECT_FALSE(r.config.agents.entries[1].spendLimit.monthlyUsd);
}

TEST(SpendLimitConfig, RefusesNonPositiveCeilingsAndUnknownKeys) {
  ValidationResult r = validate(R"({
    agents: { defaults: { spendLimit: { dailyUsd: 0, monthlyUsd: "10", weeklyUsd: 1 } } },
  })");
  std::string m = messages(r);
  EXPECT_NE(m.find("agents.defaults.spendLimit.dailyUsd: expected number > 0 (USD)"), std::string::npos) << m;
  EXPECT_NE(m.find("agents.defaults.spendLimit.monthlyUsd: expected number > 0 (USD), got"), std::string::npos) << m;
  EXPECT_NE(m.find("\"weeklyUsd\""), std::string::npos) << m;
}

}  // namespace
}  // namespace talon::config
