#include "fleet/layering.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

// org -> template (via group) -> group -> template (via gateway) -> gateway -> template (via agent) -> agent.
const char* kLayers = R"(
  defaults: {
    runtime: "openclaw", bind: "loopback", model: "anthropic/a",
    tools: { profile: "full", deny: ["exec"] },
    policy: { skills: { allow: ["s1", "s2", "s3"], deny: ["bad"] }, tiers: ["default", "high-cost"] },
  },
  templates: {
    tg: { profile: "human", model: "anthropic/from-group-template" },
    tgw: { bind: "lan", skills: ["s1"] },
    ta: { model: "openai/from-agent-template", policy: { skills: { deny: ["s3"] } } },
  },
  groups: { g1: { templates: ["tg"], trustLevel: "high", policy: { skills: { allow: ["s2", "s1"] } } } },
  gateways: {
    gw1: { group: "g1", templates: ["tgw"], port: 18789, stateDir: "/s/gw1", workspaceRoot: "/w/gw1",
           tools: { allow: ["read"] }, policy: { tiers: ["default"] } },
  },
  agents: {
    a1: { gateway: "gw1", kind: "use-case", templates: ["ta"], skills: ["s2"],
          policy: { skills: { deny: ["s9"], allow: ["*"] } } },
    a2: { gateway: "gw1", kind: "use-case" },
  },)";

EffectiveFleet resolveText(const TempDir& dir, const std::string& rest) {
  auto inv = Inventory::load(dir.write("fleet.json5", inventoryText(rest)));
  EXPECT_TRUE(inv) << inv.error().message;
  return EffectiveFleet::resolve(*inv);
}

TEST(LayeringTest, ScalarsTakeTheNarrowestLayer) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  const json::object& g = fleet.gateway(0);
  EXPECT_EQ(g.at("bind"), "lan");          // gateway template over org
  EXPECT_EQ(g.at("profile"), "human");     // group template
  EXPECT_EQ(g.at("trustLevel"), "high");   // group
  EXPECT_EQ(g.at("runtime"), "openclaw");  // org
  EXPECT_EQ(g.at("model"), "anthropic/from-group-template");
  const json::object& a1 = fleet.agent(0);
  EXPECT_EQ(a1.at("model"), "openai/from-agent-template");  // agent template over the gateway chain
  EXPECT_EQ(fleet.agent(1).at("model"), "anthropic/from-group-template");
}

TEST(LayeringTest, ObjectsDeepMergeAndArraysReplace) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  const json::object& tools = fleet.agent(1).at("tools").as_object();
  EXPECT_EQ(tools.at("profile"), "full");                       // org
  EXPECT_EQ(tools.at("deny"), (json::array{"exec"}));           // org
  EXPECT_EQ(tools.at("allow"), (json::array{"read"}));          // gateway
  EXPECT_EQ(fleet.agent(0).at("skills"), (json::array{"s2"}));  // agent replaces the gateway template's ["s1"]
  EXPECT_EQ(fleet.agent(1).at("skills"), (json::array{"s1"}));
}

TEST(LayeringTest, PolicyDenyUnitesAndAllowIntersects) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  const json::object& p = fleet.agent(0).at("policy").as_object();
  // deny: org ["bad"] + agent template ["s3"] + agent ["s9"], in first-occurrence order.
  EXPECT_EQ(p.at("skills").as_object().at("deny"), (json::array{"bad", "s3", "s9"}));
  // allow: org [s1,s2,s3] ∩ group [s2,s1] ∩ agent ["*"] = [s1,s2] (org order): a layer cannot widen.
  EXPECT_EQ(p.at("skills").as_object().at("allow"), (json::array{"s1", "s2"}));
  // tiers: org [default, high-cost] ∩ gateway [default].
  EXPECT_EQ(p.at("tiers"), (json::array{"default"}));
}

TEST(LayeringTest, AgentsDoNotInheritGatewayWideKeys) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  EXPECT_FALSE(fleet.agent(0).contains("bind"));
  EXPECT_FALSE(fleet.agent(0).contains("port"));
  EXPECT_TRUE(fleet.gateway(0).contains("port"));
}

TEST(LayeringTest, ExplainGivesTheChainWithFileAndLine) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  auto e = fleet.explain("a1", "model");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->entity, "agent:a1");
  EXPECT_EQ(*e->value, "openai/from-agent-template");
  ASSERT_EQ(e->chain.size(), 3u);
  EXPECT_EQ(e->chain[0].layer->label(), "org");
  EXPECT_EQ(e->chain[1].layer->label(), "template:tg");
  EXPECT_EQ(e->chain[2].layer->label(), "template:ta");
  EXPECT_EQ(e->chain[0].location.line, 5);  // `model:` in defaults (line 1 is `{`, 2 the organisation)
  EXPECT_EQ(e->chain[2].value, "openai/from-agent-template");
  EXPECT_EQ(e->mergeRule, "replace");
  EXPECT_THAT(e->chain[0].location.file, HasSubstr("fleet.json5"));

  auto deny = fleet.explain("agent:a1", "policy.skills.deny");
  ASSERT_TRUE(deny);
  EXPECT_EQ(deny->mergeRule, "union");
  EXPECT_EQ(deny->chain.size(), 3u);

  auto port = fleet.explain("gw1", "port");
  ASSERT_TRUE(port);
  EXPECT_EQ(*port->value, 18789);
  ASSERT_EQ(port->chain.size(), 1u);
  EXPECT_EQ(port->chain[0].layer->label(), "gateway:gw1");
}

TEST(LayeringTest, ExplainRefusesUnknownEntitiesAndKeys) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  EXPECT_EQ(fleet.explain("nobody", "model").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(fleet.explain("gw1", "colour").error().code, ErrorCode::kInvalidArgument);
  auto wide = fleet.explain("a1", "bind");
  ASSERT_FALSE(wide);
  EXPECT_THAT(wide.error().message, HasSubstr("gateway-wide"));
  auto unset = fleet.explain("gw1", "version");
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->value.has_value());
  EXPECT_TRUE(unset->chain.empty());
}

TEST(LayeringTest, ExplainAllCoversEveryEffectiveLeaf) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, kLayers);
  auto all = fleet.explainAll("gw1");
  ASSERT_TRUE(all);
  bool sawToolsAllow = false;
  for (const auto& e : *all) {
    EXPECT_FALSE(e.chain.empty()) << e.keyPath << " has no layer";
    sawToolsAllow = sawToolsAllow || e.keyPath == "tools.allow";
  }
  EXPECT_TRUE(sawToolsAllow);
}

TEST(LayeringTest, AnIdThatNamesAGatewayAndAnAgentMustBeQualified) {
  TempDir dir;
  EffectiveFleet fleet = resolveText(dir, R"(
  gateways: { x: { port: 1, stateDir: "/s", workspaceRoot: "/w" } },
  agents: { x: { gateway: "x", kind: "use-case" } },)");
  EXPECT_EQ(fleet.explain("x", "model").error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fleet.explain("gateway:x", "runtime"));
  EXPECT_TRUE(fleet.explain("agent:x", "model"));
}

}  // namespace
}  // namespace talon::fleet
