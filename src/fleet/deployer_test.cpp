#include "fleet/deployer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "fleet/deployers/process_deployer.h"
#include "fleet/fleet_apply.h"
#include "fleet/fleet_test_util.h"
#include "fleet/gateway_health.h"

namespace talon::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

EffectiveFleet deployerTestFleet(const TempDir& dir, const std::string& runtimeA, const std::string& providerB) {
  auto path = dir.write("fleet.json5", inventoryText(R"(
  defaults: { runtime: "talon", auth: { mode: "token", token: "${DEPLOYER_TEST_TOKEN}" } },
  gateways: {
    a: { runtime: ")" + runtimeA + R"(", port: 28001, stateDir: "/tmp/a", workspaceRoot: "/tmp/a-ws" },
    b: { provider: ")" + providerB + R"(", port: 28201, stateDir: "/tmp/b", workspaceRoot: "/tmp/b-ws",
         auth: { mode: "token", token: "${DEPLOYER_TEST_TOKEN_B}" } },
  },)"));
  auto inv = Inventory::load(path);
  EXPECT_TRUE(inv) << inv.error().message;
  return EffectiveFleet::resolve(*inv);
}

DeployContext deployerTestContext() {
  DeployContext c;
  c.talonBinary = "/bin/sh";  // exists; never run by these tests
  return c;
}

TEST(DeployerTest, EveryProviderOfTheInventoryHasADeployer) {
  for (const char* provider : {"process", "ssh", "compose", "kubernetes"})
    EXPECT_TRUE(createDeployer(provider)) << provider;
  auto unknown = createDeployer("nomad");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(unknown.error().message, HasSubstr("available: "));
}

TEST(DeployerTest, UnitsCarryTheirTargetsAndOneDeployersRefusalStopsTheWholeApply) {
  TempDir dir;
  auto fleet = deployerTestFleet(dir, "talon", "kubernetes");
  auto renders = renderFleet(fleet);
  auto selected = selectGateways(fleet, "");
  ASSERT_TRUE(selected);
  auto units = deployUnits(fleet, renders, *selected);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].target.id, "a");
  EXPECT_EQ(units[0].target.port, 28001);
  EXPECT_EQ(units[0].target.paths.configPath, "/tmp/a/openclaw.json");
  EXPECT_EQ(units[0].target.probeHost, "127.0.0.1");
  EXPECT_TRUE(units[0].deployer);
  EXPECT_TRUE(units[1].deployer);
  // The kubernetes gateway's check refuses (a Talon gateway in a container needs `image`): nothing is deployed.
  auto s = checkDeployable(units, deployerTestContext());
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("gateway b: image: a Talon gateway deployed in a container needs `image`"));

  auto unknown = selectGateways(fleet, "zz");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST(DeployerTest, TheOpenClawRuntimeNeedsAnOpenClawInstall) {
  TempDir dir;
  auto fleet = deployerTestFleet(dir, "openclaw", "process");
  auto renders = renderFleet(fleet);
  auto units = deployUnits(fleet, renders, *selectGateways(fleet, "a"));
  ASSERT_EQ(units.size(), 1u);
  auto s = checkDeployable(units, deployerTestContext());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(s.error().message, HasSubstr("gateway a: OpenClaw is not installed here"));
  units[0].target.host = "edge-1";
  auto remote = checkDeployable(units, deployerTestContext());
  ASSERT_FALSE(remote);
  EXPECT_THAT(remote.error().message, HasSubstr("runs gateways on this machine only"));
  units[0].target.host = "local";
  DeployContext installed = deployerTestContext();
  installed.openclawBinary = "/bin/sh";  // any executable file stands for the install here
  EXPECT_TRUE(checkDeployable(units, installed));
}

TEST(DeployerTest, MissingEnvironmentNamesEachVariableAndItsGateways) {
  TempDir dir;
  auto fleet = deployerTestFleet(dir, "talon", "process");
  auto renders = renderFleet(fleet);
  auto units = deployUnits(fleet, renders, *selectGateways(fleet, ""));
  EnvironmentLookup none = [](const std::string&) { return std::optional<std::string>(); };
  EXPECT_THAT(missingEnvironment(units, none),
              ElementsAre("DEPLOYER_TEST_TOKEN (gateway a)", "DEPLOYER_TEST_TOKEN_B (gateway b)"));
  EnvironmentLookup some = [](const std::string& name) {
    return name == "DEPLOYER_TEST_TOKEN" ? std::optional<std::string>("x") : std::optional<std::string>("");
  };
  EXPECT_THAT(missingEnvironment(units, some), ElementsAre("DEPLOYER_TEST_TOKEN_B (gateway b)"));
}

TEST(DeployerTest, StatusOfAGatewayNeverStartedIsStoppedAndNotApplied) {
  TempDir dir;
  auto fleet = deployerTestFleet(dir, "talon", "process");
  auto renders = renderFleet(fleet);
  auto units = deployUnits(fleet, renders, *selectGateways(fleet, "a"));
  DeployContext context = deployerTestContext();
  context.fleetStateDir = dir.path() / "state";
  auto statuses = fleetStatus(units, {}, context, {});
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].runtimeStatus.state, ProcessState::kStopped);
  EXPECT_EQ(statuses[0].drift, "not-applied");
  EXPECT_EQ(statuses[0].toJson().at("state"), "stopped");
  // Not asked: its agents are unknown, with the reason once for the gateway.
  for (const auto& a : statuses[0].agents) EXPECT_EQ(a.state, "unknown") << a.id;
  EXPECT_EQ(statuses[0].agentsError, "the gateway is stopped");
  EXPECT_EQ(statuses[0].toJson().at("agentsError"), "the gateway is stopped");
  EXPECT_TRUE(statuses[0].recentErrors.empty());
}

TEST(DeployerTest, FindsOpenClawWhereTheInstallScriptPutsIt) {
  TempDir dir;
  auto script = dir.write("home/.cache/openclaw-ref/bin/openclaw", "#!/bin/sh\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::map<std::string, std::string> env = {{"HOME", (dir.path() / "home").string()}, {"PATH", "/nonexistent"}};
  auto lookup = [&env](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  EXPECT_EQ(findOpenClawBinary(lookup), script);
  env["TALON_FLEET_OPENCLAW"] = "/opt/openclaw/bin/openclaw";
  EXPECT_EQ(findOpenClawBinary(lookup), "/opt/openclaw/bin/openclaw");
  env.erase("TALON_FLEET_OPENCLAW");
  env["HOME"] = "/nonexistent";
  EXPECT_TRUE(findOpenClawBinary(lookup).empty());
}

TEST(DeployerTest, TheHealthCallsCredentialComesFromTheRendersReference) {
  auto env = [](const std::string& name) {
    return name == "GW_TOKEN" ? std::optional<std::string>("t0k3n") : std::optional<std::string>();
  };
  auto token = gatewayCredential(R"({"gateway":{"auth":{"mode":"token","token":"${GW_TOKEN}"}}})", env);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->kind, "token");
  EXPECT_EQ(token->value, "t0k3n");
  auto ref = gatewayCredential(
      R"({"gateway":{"auth":{"mode":"password","password":{"source":"env","provider":"default","id":"GW_TOKEN"}}}})",
      env);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, "password");
  auto none = gatewayCredential(R"({"gateway":{"auth":{"mode":"none"}}})", env);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->kind, "none");
  auto unset = gatewayCredential(R"({"gateway":{"auth":{"mode":"token","token":"${OTHER}"}}})", env);
  ASSERT_FALSE(unset);
  EXPECT_THAT(unset.error().message, HasSubstr("references OTHER, which is not set"));
  auto file = gatewayCredential(
      R"({"gateway":{"auth":{"mode":"token","token":{"source":"file","provider":"p","id":"/x"}}}})", env);
  ASSERT_FALSE(file);
  EXPECT_THAT(file.error().message, HasSubstr("\"file\" SecretRef"));
}

}  // namespace
}  // namespace talon::fleet
