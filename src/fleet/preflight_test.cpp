#include "fleet/preflight.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fleet/fleet_test_util.h"
#include "fleet/policy.h"

namespace talon::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

struct Checked {
  EffectiveFleet fleet;
  PreflightReport report;
};

Checked check(const TempDir& dir, const std::string& rest, PreflightOptions options = {false, true, {}}) {
  auto inv = Inventory::load(dir.write("fleet.json5", inventoryText(rest)));
  EXPECT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  auto renders = renderFleet(fleet);
  PreflightReport report = runPreflight(fleet, renders, options);
  return {std::move(fleet), std::move(report)};
}

std::vector<const Finding*> withId(const PreflightReport& r, std::string_view id) {
  std::vector<const Finding*> out;
  for (const auto& f : r.findings) {
    if (f.id == id) out.push_back(&f);
  }
  return out;
}

std::string ids(const PreflightReport& r) {
  std::string s;
  for (const auto& f : r.findings) s += f.id + " (" + f.message + ")\n";
  return s;
}

// Two loopback OpenClaw gateways, catalogued telegram, a permissive policy: the base the tests vary.
std::string base(const std::string& gateways, const std::string& rest) {
  return R"(
  defaults: { policy: { tiers: ["default", "high-cost", "high-trust"] } },
  catalogs: {
    integrations: { telegram: { kind: "core-channel" }, slack: { kind: "core-channel" } },
    models: { "anthropic/sonnet": {}, "anthropic/opus": { tier: "high-cost" } },
    skills: { s1: {}, root: { tier: "high-trust" } },
  },
  gateways: {)" +
         gateways + R"(},
)" + rest;
}
const char* kTwo = R"(
    a: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a" },
    b: { port: 19789, stateDir: "/s/b", workspaceRoot: "/w/b" },)";

TEST(PreflightTest, TheExampleOrganisationIsClean) {
  auto inv = Inventory::load(testing::exampleInventory());
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(*inv);
  PreflightReport report = runPreflight(fleet, renderFleet(fleet), {false, true, {}});
  EXPECT_TRUE(report.ok()) << ids(report);
  EXPECT_EQ(report.findings.size(), 0u) << ids(report);
}

TEST(PreflightTest, PortRangesOfOpenClawIncludeTheDerivedPorts) {
  TempDir dir;
  // b's base port is a's base + 100: inside a's browser/CDP range (base .. base + 110).
  auto c = check(dir, base(R"(
    a: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a" },
    b: { port: 18889, stateDir: "/s/b", workspaceRoot: "/w/b" },
    t: { port: 19500, stateDir: "/s/t", workspaceRoot: "/w/t", runtime: "talon" },
    u: { port: 19500, stateDir: "/s/u", workspaceRoot: "/w/u", runtime: "talon" },
    v: { port: 19000, stateDir: "/s/v", workspaceRoot: "/w/v", runtime: "talon" },)",
                           ""));
  auto found = withId(c.report, "FLEET-PORT-CONFLICT");
  ASSERT_EQ(found.size(), 2u) << ids(c.report);
  EXPECT_THAT(found[0]->objects, ElementsAre("gateway:a", "gateway:b"));
  EXPECT_THAT(found[0]->message, HasSubstr("18789-18899"));
  EXPECT_THAT(found[1]->objects, ElementsAre("gateway:t", "gateway:u"));
  EXPECT_GT(found[0]->location.line, 0);
  EXPECT_FALSE(c.report.ok());
  // v's 19000 is just past b's range (18889 + 110 = 18999).
  EXPECT_EQ(gatewayPortRange("openclaw", 18789).last, 18899);
  EXPECT_EQ(gatewayPortRange("talon", 18789).last, 18789);
}

TEST(PreflightTest, AComposeGatewayOccupiesOnlyItsPublishedPort) {
  TempDir dir;
  // c's OpenClaw container publishes 18789 only: d at 18800 does not collide with it; e at 18789 does.
  auto c = check(dir, base(R"(
    c: { port: 18789, stateDir: "/s/c", workspaceRoot: "/w/c", provider: "compose" },
    d: { port: 18800, stateDir: "/s/d", workspaceRoot: "/w/d", runtime: "talon" },
    e: { port: 18789, stateDir: "/s/e", workspaceRoot: "/w/e", runtime: "talon" },)",
                           ""));
  auto found = withId(c.report, "FLEET-PORT-CONFLICT");
  ASSERT_EQ(found.size(), 1u) << ids(c.report);
  EXPECT_THAT(found[0]->objects, ElementsAre("gateway:c", "gateway:e"));
}

TEST(PreflightTest, APortTakenOnThisHostIsAFinding) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  TempDir dir;
  std::string gws = "t: { port: " + std::to_string(port) +
                    ", stateDir: \"/s/t\", workspaceRoot: \"/w/t\", runtime: \"talon\" },"
                    "k: { port: " +
                    std::to_string(port) +
                    ", stateDir: \"/s/k\", workspaceRoot: \"/w/k\", runtime: \"talon\", provider: \"kubernetes\" },";
  auto c = check(dir, base(gws, ""), {true, false, {}});
  ::close(fd);
  auto found = withId(c.report, "FLEET-PORT-IN-USE");
  ASSERT_EQ(found.size(), 1u) << ids(c.report);  // the kubernetes gateway does not run on this host
  EXPECT_THAT(found[0]->objects, ElementsAre("gateway:t"));
}

TEST(PreflightTest, PortsAndPathsCollideOnlyOnOneHost) {
  TempDir dir;
  auto c = check(dir, base(R"(
    a: { port: 18789, stateDir: "/s", workspaceRoot: "/w", host: "h1", provider: "ssh" },
    b: { port: 18789, stateDir: "/s", workspaceRoot: "/w", host: "h2", provider: "ssh" },
    k1: { port: 18789, stateDir: "/s", workspaceRoot: "/w", provider: "kubernetes" },
    k2: { port: 18789, stateDir: "/s", workspaceRoot: "/w", provider: "kubernetes" },
    c: { port: 18800, stateDir: "/s2", workspaceRoot: "/w2", host: "h1", provider: "ssh" },)",
                           ""));
  ASSERT_EQ(c.report.findings.size(), 1u) << ids(c.report);
  EXPECT_EQ(c.report.findings[0].id, "FLEET-PORT-CONFLICT");
  EXPECT_THAT(c.report.findings[0].objects, ElementsAre("gateway:a", "gateway:c"));
}

TEST(PreflightTest, SharedGatewayPathsAreFindings) {
  TempDir dir;
  auto c = check(dir, base(R"(
    a: { port: 18789, stateDir: "/s/x", workspaceRoot: "/w/x", configPath: "/etc/oc.json" },
    b: { port: 19789, stateDir: "/s/x/", workspaceRoot: "/w/./x", configPath: "/etc/oc.json" },)",
                           ""));
  EXPECT_EQ(withId(c.report, "FLEET-STATE-DIR-SHARED").size(), 1u) << ids(c.report);
  EXPECT_EQ(withId(c.report, "FLEET-WORKSPACE-ROOT-SHARED").size(), 1u);
  EXPECT_EQ(withId(c.report, "FLEET-CONFIG-PATH-SHARED").size(), 1u);
}

TEST(PreflightTest, SharedAgentWorkspacesAndAgentDirsAreFindings) {
  TempDir dir;
  auto c = check(dir, base(kTwo, R"(
  agents: {
    x: { gateway: "a", kind: "use-case", workspace: "/w/shared", agentDir: "/s/a/agents/y/agent" },
    y: { gateway: "a", kind: "use-case", workspace: "/w/shared" },
  },)"));
  auto ws = withId(c.report, "FLEET-AGENT-WORKSPACE-SHARED");
  ASSERT_EQ(ws.size(), 1u) << ids(c.report);
  EXPECT_THAT(ws[0]->objects, ElementsAre("agent:x", "agent:y"));
  // y's default agentDir is x's explicit one.
  EXPECT_EQ(withId(c.report, "FLEET-AGENT-DIR-SHARED").size(), 1u);
}

TEST(PreflightTest, AccountsAndTokens) {
  TempDir dir;
  auto c = check(dir, base(kTwo, R"(
  accounts: { telegram: {
    one: { botToken: "${TG_ONE}" },
    two: { botToken: "${TG_ONE}" },
    idle: { botToken: "${TG_IDLE}" },
  } },
  agents: {
    x: { gateway: "a", kind: "use-case", accounts: { telegram: "one" } },
    y: { gateway: "a", kind: "use-case", accounts: { telegram: "one" } },
    z: { gateway: "b", kind: "use-case", accounts: { telegram: "two" } },
  },)"));
  auto shared = withId(c.report, "FLEET-ACCOUNT-SHARED");
  ASSERT_EQ(shared.size(), 1u) << ids(c.report);
  EXPECT_THAT(shared[0]->objects, ElementsAre("account:telegram/one", "agent:x", "agent:y"));
  auto token = withId(c.report, "FLEET-TOKEN-SHARED");
  ASSERT_EQ(token.size(), 1u);
  EXPECT_THAT(token[0]->message, HasSubstr("on gateways a and b"));
  EXPECT_THAT(token[0]->objects, ::testing::Contains("gateway:b"));
  auto unused = withId(c.report, "FLEET-ACCOUNT-UNUSED");
  ASSERT_EQ(unused.size(), 1u);
  EXPECT_FALSE(unused[0]->isError());
}

TEST(PreflightTest, RoutingConflictsDefaultsAndWildcards) {
  TempDir dir;
  auto c = check(dir, base(kTwo, R"(
  accounts: { telegram: { one: { botToken: "${TG_ONE}" }, other: { botToken: "${TG_OTHER}" } } },
  agents: {
    x: { gateway: "a", kind: "use-case", accounts: { telegram: "one" },
         bindings: [{ peer: { kind: "group", id: "-42" } }] },
    y: { gateway: "a", kind: "use-case",
         bindings: [{ channel: "telegram", peer: { kind: "channel", id: "-42" } },
                    { channel: "telegram" },
                    { channel: "telegram", accountId: "*" },
                    { channel: "telegram", accountId: "other" }] },
    z: { gateway: "b", kind: "use-case", accounts: { telegram: "other" } },
  },)"));
  auto ambiguous = withId(c.report, "FLEET-ROUTE-AMBIGUOUS");
  ASSERT_EQ(ambiguous.size(), 1u) << ids(c.report);  // group and channel peers match each other
  EXPECT_THAT(ambiguous[0]->objects, ElementsAre("agent:x", "agent:y", "gateway:a"));
  EXPECT_EQ(withId(c.report, "FLEET-ROUTE-DEFAULT").size(), 3u);  // both peer bindings name no account either
  EXPECT_EQ(withId(c.report, "FLEET-ROUTE-WILDCARD").size(), 1u);
  auto elsewhere = withId(c.report, "FLEET-BINDING-ACCOUNT-ELSEWHERE");
  ASSERT_EQ(elsewhere.size(), 1u);
  EXPECT_THAT(elsewhere[0]->message, HasSubstr("runs on gateway b"));
}

TEST(PreflightTest, RoutingCanBeEnabledExplicitly) {
  TempDir dir;
  auto c = check(dir, base(R"(
    a: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a", routing: { allowDefault: true, allowWildcard: true } },)",
                           R"(
  agents: { y: { gateway: "a", kind: "use-case", bindings: [{ channel: "telegram" }, { channel: "telegram", accountId: "*" }] } },)"));
  EXPECT_TRUE(c.report.ok()) << ids(c.report);
}

TEST(PreflightTest, ExposureWithoutAuthIsRefused) {
  TempDir dir;
  auto c = check(dir, base(R"(
    open: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a", bind: "lan", auth: { mode: "none" } },
    bare: { port: 19789, stateDir: "/s/b", workspaceRoot: "/w/b", bind: "lan" },
    ok: { port: 20789, stateDir: "/s/c", workspaceRoot: "/w/c", bind: "lan", auth: { token: "${GW}" } },
    local: { port: 21789, stateDir: "/s/d", workspaceRoot: "/w/d", auth: { mode: "none" } },)",
                           ""));
  auto found = withId(c.report, "FLEET-EXPOSED-NO-AUTH");
  ASSERT_EQ(found.size(), 2u) << ids(c.report);
  EXPECT_THAT(found[0]->objects, ElementsAre("gateway:bare"));
  EXPECT_THAT(found[1]->objects, ElementsAre("gateway:open"));
  EXPECT_THAT(found[1]->message, HasSubstr("auth.mode \"none\""));
}

TEST(PreflightTest, RoutesAreOrderedByTier) {
  TempDir dir;
  auto c = check(dir, base(kTwo, R"(
  accounts: { telegram: { one: { botToken: "${TG_ONE}" } } },
  agents: {
    x: { gateway: "a", kind: "use-case", accounts: { telegram: "one" } },
    y: { gateway: "a", kind: "use-case", bindings: [{ channel: "telegram", accountId: "one", peer: { kind: "group", id: "-1" } }] },
  },)"));
  auto routes = routingTable(c.fleet);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].agentId, "y");
  EXPECT_EQ(routes[0].tier, "binding.peer");
  EXPECT_EQ(routes[1].agentId, "x");
  EXPECT_EQ(routes[1].tier, "binding.account");
  EXPECT_TRUE(routes[1].implied);
  EXPECT_EQ(routeToJson(routes[0]).at("peer"), "group:-1");
}

TEST(PreflightTest, FindingsAreSortedAndSerialised) {
  TempDir dir;
  auto c = check(dir, base(R"(
    a: { port: 18789, stateDir: "/s/a", workspaceRoot: "/w/a", bind: "lan" },
    b: { port: 18790, stateDir: "/s/a", workspaceRoot: "/w/b" },)",
                           ""));
  ASSERT_GE(c.report.findings.size(), 3u);
  for (std::size_t i = 1; i < c.report.findings.size(); ++i) {
    EXPECT_LE(c.report.findings[i - 1].id, c.report.findings[i].id);
  }
  json::object j = c.report.toJson();
  EXPECT_EQ(j.at("ok"), false);
  EXPECT_EQ(j.at("errorCount").as_int64(), static_cast<int64_t>(c.report.errorCount()));
  const auto& first = j.at("findings").as_array()[0].as_object();
  for (const char* key : {"id", "severity", "objects", "message", "fix"}) EXPECT_TRUE(first.contains(key)) << key;
}

}  // namespace
}  // namespace talon::fleet
