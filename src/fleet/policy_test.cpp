#include "fleet/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fleet/fleet_test_util.h"
#include "fleet/preflight.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

const char* kPolicyFleet = R"(
  defaults: {
    model: "anthropic/sonnet",
    policy: { providers: { allow: ["anthropic", "openai"] }, skills: { deny: ["root"] }, tiers: ["default", "high-cost", "high-trust"] },
  },
  templates: { cheap: { policy: { tiers: ["default"] } } },
  groups: { g: { policy: { integrations: { allow: ["telegram", "notion"] } } } },
  gateways: {
    a: { group: "g", port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a" },
    h: { group: "g", port: 19789, stateDir: "/s/h", workspaceRoot: "/w/h", trustLevel: "high" },
  },
  accounts: { telegram: { t: { botToken: "${T}" } }, slack: { s: { botToken: "${S}" } } },
  catalogs: {
    integrations: { telegram: { kind: "core-channel" }, slack: { kind: "core-channel" },
                    notion: { kind: "custom-only", trustTier: "default" }, heygen: { kind: "custom-only", status: "blocked" },
                    old: { kind: "plugin-channel", status: "deprecated" } },
    skills: { s1: {}, root: { tier: "high-trust" }, vault: { tier: "high-trust" } },
    models: { "anthropic/sonnet": {}, "anthropic/opus": { tier: "high-cost" }, "mistral/large": {} },
  },
  agents: {
    good: { gateway: "a", kind: "use-case", accounts: { telegram: "t" }, skills: ["s1"], integrations: ["notion"] },
    slacky: { gateway: "a", kind: "use-case", accounts: { slack: "s" } },
    rooted: { gateway: "a", kind: "use-case", skills: ["root"] },
    pricey: { gateway: "a", kind: "use-case", templates: ["cheap"], model: "anthropic/opus" },
    foreign: { gateway: "a", kind: "use-case", model: "mistral/large" },
    unknown: { gateway: "a", kind: "use-case", skills: ["nope"], integrations: ["heygen"] },
    trusted: { gateway: "h", kind: "use-case", skills: ["vault"] },
    untrusted: { gateway: "a", kind: "use-case", skills: ["vault"] },
    dated: { gateway: "a", kind: "use-case", integrations: ["old"], policy: { integrations: { allow: ["*"] } } },
  },)";

AgentPolicy policyOf(const EffectiveFleet& fleet, std::string_view agent) {
  const Agent* a = fleet.inventory().findAgent(agent);
  return evaluateAgentPolicy(fleet, static_cast<std::size_t>(a - fleet.inventory().agents().data()));
}

const PolicyDecision* decision(const AgentPolicy& p, std::string_view category, std::string_view item) {
  for (const auto& d : p.decisions) {
    if (d.category == category && d.item == item) return &d;
  }
  return nullptr;
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inv = Inventory::load(dir_.write("fleet.json5", inventoryText(kPolicyFleet)));
    ASSERT_TRUE(inv) << inv.error().message;
    fleet_ = EffectiveFleet::resolve(*inv);
  }
  TempDir dir_;
  EffectiveFleet fleet_;
};

TEST_F(PolicyTest, EverythingAllowedIsAllowed) {
  AgentPolicy p = policyOf(fleet_, "good");
  ASSERT_EQ(p.decisions.size(), 5u);  // provider, model, skill, telegram, notion
  for (const auto& d : p.decisions) EXPECT_TRUE(d.allowed) << d.category << " " << d.item << ": " << d.reason;
}

TEST_F(PolicyTest, AnAllowListOfAnyLayerRestricts) {
  AgentPolicy p = policyOf(fleet_, "slacky");
  const PolicyDecision* d = decision(p, "integration", "slack");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reason, "not in policy.integrations.allow of group:g");
  EXPECT_GT(d->location.line, 0);
}

TEST_F(PolicyTest, DenyWinsOverEverything) {
  AgentPolicy p = policyOf(fleet_, "rooted");
  const PolicyDecision* d = decision(p, "skill", "root");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reason, "denied by policy.skills.deny of org");
}

TEST_F(PolicyTest, TiersNarrowAndNameTheLayer) {
  AgentPolicy p = policyOf(fleet_, "pricey");
  const PolicyDecision* d = decision(p, "model", "anthropic/opus");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->allowed);
  EXPECT_THAT(d->reason, HasSubstr("tier \"high-cost\" is not permitted by policy.tiers of template:cheap"));
}

TEST_F(PolicyTest, ProvidersAreCheckedFromTheModelRef) {
  AgentPolicy p = policyOf(fleet_, "foreign");
  const PolicyDecision* d = decision(p, "provider", "mistral");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reason, "not in policy.providers.allow of org");
  EXPECT_TRUE(decision(p, "model", "mistral/large")->allowed);
}

TEST_F(PolicyTest, UncataloguedAndBlockedItemsAreDenied) {
  AgentPolicy p = policyOf(fleet_, "unknown");
  EXPECT_EQ(decision(p, "skill", "nope")->reason, "not in catalogs.skills");
  EXPECT_EQ(decision(p, "integration", "heygen")->reason, "its catalog entry is blocked");
}

TEST_F(PolicyTest, HighTrustNeedsAHighTrustGateway) {
  AgentPolicy trusted = policyOf(fleet_, "trusted");
  EXPECT_TRUE(decision(trusted, "skill", "vault")->allowed);
  AgentPolicy p = policyOf(fleet_, "untrusted");
  const PolicyDecision* d = decision(p, "skill", "vault");
  EXPECT_FALSE(d->allowed);
  EXPECT_THAT(d->reason, HasSubstr("trustLevel \"high\""));
}

TEST_F(PolicyTest, TheStarDoesNotWidenAnAllowList) {
  // dated's own allow ["*"] intersected with the group's [telegram, notion]: "old" stays out.
  AgentPolicy p = policyOf(fleet_, "dated");
  const PolicyDecision* d = decision(p, "integration", "old");
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reason, "not in policy.integrations.allow of group:g");
}

TEST_F(PolicyTest, PreflightReportsEachDenialOnce) {
  PreflightReport r = runPreflight(fleet_, renderFleet(fleet_), {false, false, {}});
  std::size_t denied = 0, uncatalogued = 0;
  for (const auto& f : r.findings) {
    denied += f.id == "FLEET-POLICY-DENIED";
    uncatalogued += f.id == "FLEET-POLICY-UNCATALOGUED";
  }
  // slacky/slack, rooted/root, pricey/opus, foreign/mistral, heygen (blocked), untrusted/vault, dated/old
  EXPECT_EQ(denied, 7u);
  EXPECT_EQ(uncatalogued, 1u);
  auto j = policyOf(fleet_, "pricey").toJson();
  EXPECT_EQ(j.at("effective").at("tiers"), (json::array{"default"}));
}

TEST(PolicyDefaultsTest, TiersDefaultToDefaultOnly) {
  TempDir dir;
  auto inv = Inventory::load(dir.write("fleet.json5", inventoryText(R"(
  gateways: { a: { port: 1, stateDir: "/s", workspaceRoot: "/w" } },
  catalogs: { models: { "x/big": { tier: "high-cost" } } },
  agents: { m: { gateway: "a", kind: "use-case", model: "x/big" } },)")));
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  AgentPolicy p = evaluateAgentPolicy(fleet, 0);
  const PolicyDecision* d = decision(p, "model", "x/big");
  EXPECT_FALSE(d->allowed);
  EXPECT_THAT(d->reason, HasSubstr("defaults to [\"default\"]"));
}

}  // namespace
}  // namespace talon::fleet
