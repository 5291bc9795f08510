#include "config/reload_plan.h"

#include <gtest/gtest.h>

namespace talon::config {
namespace {

TEST(ReloadPlan, LongestPrefixWinsAndUnmatchedPathsNeedARestart) {
  EXPECT_EQ(classifyReloadPath("gateway.port"), ReloadKind::kRestart);
  EXPECT_EQ(classifyReloadPath("gateway.reload.mode"), ReloadKind::kNone);
  EXPECT_EQ(classifyReloadPath("gateway.remote.url"), ReloadKind::kNone);
  EXPECT_EQ(classifyReloadPath("logging.level"), ReloadKind::kHot);
  EXPECT_EQ(classifyReloadPath("agents.defaults.model.primary"), ReloadKind::kRestart);
  EXPECT_EQ(classifyReloadPath("meta.lastTouchedAt"), ReloadKind::kNone);
  // Channel accounts are applied live, as in OpenClaw (docs/gateway/configuration/hot-reload.md).
  EXPECT_EQ(classifyReloadPath("channels"), ReloadKind::kHot);
  EXPECT_EQ(classifyReloadPath("channels.telegram.accounts.ops.botToken"), ReloadKind::kHot);
  EXPECT_EQ(classifyReloadPath("channels.irc.dmPolicy"), ReloadKind::kHot);
  EXPECT_EQ(classifyReloadPath("channelsX"), ReloadKind::kRestart);
  // A prefix matches whole segments only.
  EXPECT_EQ(classifyReloadPath("gateway.reloadX"), ReloadKind::kRestart);
}

TEST(ReloadPlan, WildcardSegmentsAndTies) {
  constexpr ReloadRule rules[] = {{"a", ReloadKind::kRestart},
                                  {"a.*.b", ReloadKind::kHot},
                                  {"a.x.b", ReloadKind::kNone},
                                  {"a.*", ReloadKind::kNone}};
  EXPECT_EQ(classifyReloadPath("a.y.b.c", rules), ReloadKind::kHot);
  EXPECT_EQ(classifyReloadPath("a.x.b", rules), ReloadKind::kNone);  // same length, fewer wildcards
  EXPECT_EQ(classifyReloadPath("a.y", rules), ReloadKind::kNone);
  EXPECT_EQ(classifyReloadPath("a", rules), ReloadKind::kRestart);
  EXPECT_EQ(classifyReloadPath("b", rules), ReloadKind::kRestart);
}

TEST(ReloadPlan, PlanSortsPathsByKind) {
  auto plan = planReload({"gateway.port", "logging.level", "gateway.reload.mode"});
  EXPECT_TRUE(plan.restartGateway());
  EXPECT_EQ(plan.restartReasons, std::vector<std::string>{"gateway.port"});
  EXPECT_EQ(plan.hotReasons, std::vector<std::string>{"logging.level"});
  EXPECT_EQ(plan.noopPaths, std::vector<std::string>{"gateway.reload.mode"});
  EXPECT_FALSE(planReload({"logging.level"}).restartGateway());
}

}  // namespace
}  // namespace talon::config
