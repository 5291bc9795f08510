// The ssh provider's pure parts: its inventory keys (defaults, validation errors with file:line), the
// systemd unit it writes (golden files in tests/data/fleet/ssh/; TALON_UPDATE_GOLDEN=1 rewrites them) and
// the detached launcher. Deploying over a real sshd is tests/fleet_ssh/.
#include "fleet/deployers/ssh_deployer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fleet/deployers/ssh_connection.h"
#include "fleet/fleet_test_util.h"
#include "fleet/layering.h"
#include "fleet/preflight.h"
#include "fleet/render.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

std::string sshGoldenText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void expectSshGolden(const std::string& name, const std::string& text) {
  auto file = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "fleet" / "ssh" / name;
  if (const char* update = std::getenv("TALON_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing (TALON_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(text, sshGoldenText(file)) << "differs from " << file;
}

RemoteGatewayLayout sshTestLayout(const std::string& runtime, bool root) {
  RemoteGatewayLayout l;
  l.gatewayId = "support-main";
  l.runtime = runtime;
  l.remoteDir = root ? "/root/.talon-fleet/support-main" : "/home/ops/.talon-fleet/support-main";
  l.binary = runtime == "talon" ? l.remoteDir + "/bin/talon" : "/usr/local/bin/openclaw";
  l.stateDir = "/srv/talon/support main";
  l.configPath = "/srv/talon/support main/openclaw.json";
  l.systemUnit = root;
  l.stopGraceSeconds = 15;
  return l;
}

TEST(SshDeployerTest, TheSystemdUserUnitOfATalonGateway) {
  expectSshGolden("talon-user.service", sshSystemdUnit(sshTestLayout("talon", false)));
}

TEST(SshDeployerTest, TheSystemdSystemUnitOfAnOpenClawGatewayWhenTheUserIsRoot) {
  expectSshGolden("openclaw-root.service", sshSystemdUnit(sshTestLayout("openclaw", true)));
}

TEST(SshDeployerTest, TheDetachedLauncher) {
  expectSshGolden("talon-detached-run.sh", sshLauncherScript(sshTestLayout("talon", false)));
}

TEST(SshDeployerTest, TheUnitNameCarriesTheGatewayId) { EXPECT_EQ(sshUnitName("gw-a"), "talon-gateway-gw-a.service"); }

TEST(SshDeployerTest, ShellQuotingSurvivesSingleQuotes) { EXPECT_EQ(shellQuote("it's"), "'it'\\''s'"); }

Result<EffectiveFleet> sshTestFleet(const TempDir& dir, const std::string& gatewayKeys,
                                    const std::string& defaults = "") {
  auto inv = Inventory::load(dir.write(
      "fleet.json5",
      inventoryText("  defaults: { runtime: \"talon\", provider: \"ssh\"" + defaults +
                    " },\n  gateways: {\n    gw1: { port: 18789, stateDir: \"/s/gw1\", workspaceRoot: \"/w/gw1\", "
                    "host: \"gw1.example.net\", " +
                    gatewayKeys + " },\n  },")));
  if (!inv) return fail(inv.error());
  return EffectiveFleet::resolve(std::move(*inv));
}

TEST(SshDeployerTest, SettingsDefaultWhenTheGatewayHasNoSshKeys) {
  TempDir dir;
  auto fleet = sshTestFleet(dir, "");
  ASSERT_TRUE(fleet) << fleet.error().message;
  SshSettings s = sshSettings(fleet->gateway(0));
  EXPECT_EQ(s.user, "");
  EXPECT_EQ(s.port, 0);  // ssh's own default: the ssh config's Port, else 22
  EXPECT_EQ(s.strictHostKeyChecking, "yes");
  EXPECT_EQ(s.service, "systemd");
  EXPECT_EQ(s.remoteDir, "");
  EXPECT_EQ(s.connectTimeoutSeconds, 10);
}

TEST(SshDeployerTest, SettingsLayerFromDefaultsToTheGateway) {
  TempDir dir;
  auto fleet = sshTestFleet(dir, "ssh: { port: 2222, service: \"detached\" }",
                            ", ssh: { user: \"deploy\", identityFile: \"/keys/fleet\", strictHostKeyChecking: "
                            "\"accept-new\", remoteDir: \"/opt/talon-fleet\" }");
  ASSERT_TRUE(fleet) << fleet.error().message;
  SshSettings s = sshSettings(fleet->gateway(0));
  EXPECT_EQ(s.user, "deploy");
  EXPECT_EQ(s.port, 2222);
  EXPECT_EQ(s.identityFile, "/keys/fleet");
  EXPECT_EQ(s.strictHostKeyChecking, "accept-new");
  EXPECT_EQ(s.remoteDir, "/opt/talon-fleet");
  EXPECT_EQ(s.service, "detached");
}

TEST(SshDeployerTest, BadSshValuesNameFileLineAndPath) {
  TempDir dir;
  auto fleet = sshTestFleet(dir,
                            "ssh: { port: 70000, service: \"upstart\", strictHostKeyChecking: \"no\", "
                            "colour: 1 }");
  ASSERT_FALSE(fleet);
  const std::string& m = fleet.error().message;
  EXPECT_THAT(m, HasSubstr("fleet.json5:5:"));
  EXPECT_THAT(m, HasSubstr("gateways.gw1.ssh.port: must be between 1 and 65535"));
  EXPECT_THAT(m, HasSubstr("gateways.gw1.ssh.service: \"upstart\" is not one of \"systemd\", \"detached\""));
  EXPECT_THAT(m, HasSubstr("gateways.gw1.ssh.strictHostKeyChecking: \"no\" is not one of \"yes\", \"accept-new\""));
  EXPECT_THAT(m, HasSubstr("gateways.gw1.ssh.colour: unknown key \"colour\""));
}

TEST(SshDeployerTest, AnAgentCannotSetSsh) {
  TempDir dir;
  auto inv = Inventory::load(
      dir.write("fleet.json5",
                inventoryText("  gateways: { gw1: { port: 18789, stateDir: \"/s\", workspaceRoot: \"/w\" } },\n"
                              "  agents: { a1: { gateway: \"gw1\", kind: \"use-case\", ssh: { user: \"x\" } } },")));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("agents.a1.ssh: \"ssh\" is a gateway-wide key"));
}

TEST(SshDeployerTest, TheDeployTargetCarriesTheSshSettings) {
  TempDir dir;
  auto fleet = sshTestFleet(dir, "ssh: { user: \"ops\" }");
  ASSERT_TRUE(fleet) << fleet.error().message;
  auto renders = renderFleet(*fleet);
  ASSERT_EQ(renders.size(), 1u);
  DeployTarget t = deployTarget(*fleet, 0, renders[0]);
  EXPECT_EQ(t.provider, "ssh");
  EXPECT_EQ(t.host, "gw1.example.net");
  EXPECT_EQ(sshSettings(t.settings).user, "ops");
}

TEST(SshDeployerTest, ConnectionOptionsAreBatchModeWithAControlMasterAndNeverDisableHostKeys) {
  TempDir dir;
  SshEndpoint e;
  e.host = "gw1.example.net";
  e.user = "ops";
  e.port = 2222;
  e.identityFile = "/keys/fleet";
  e.knownHostsFile = "/keys/known_hosts";
  e.strictHostKeyChecking = "accept-new";
  SshConnection c(e, dir.path() / "ssh");
  std::string joined;
  for (const auto& o : c.sshOptions(false)) joined += o + " ";
  EXPECT_THAT(joined, HasSubstr("BatchMode=yes"));
  EXPECT_THAT(joined, HasSubstr("StrictHostKeyChecking=accept-new"));
  EXPECT_THAT(joined, HasSubstr("UserKnownHostsFile=/keys/known_hosts"));
  EXPECT_THAT(joined, HasSubstr("ControlMaster=auto"));
  EXPECT_THAT(joined, HasSubstr("ControlPath=" + (dir.path() / "ssh" / "%C").string()));
  EXPECT_THAT(joined, HasSubstr("-p 2222"));
  EXPECT_THAT(joined, HasSubstr("-i /keys/fleet -o IdentitiesOnly=yes"));
  std::string scp;
  for (const auto& o : c.sshOptions(true)) scp += o + " ";
  EXPECT_THAT(scp, HasSubstr("-P 2222"));
  EXPECT_EQ(c.destination(), "ops@gw1.example.net:2222");
}

TEST(SshDeployerTest, ALongStateDirFallsBackToAShortControlDir) {
  TempDir dir;
  SshEndpoint e;
  e.host = "h";
  SshConnection c(e, dir.path() / std::string(120, 'x') / "ssh");
  for (const auto& o : c.sshOptions(false)) {
    if (o.rfind("ControlPath=", 0) == 0) {
      EXPECT_LE(o.size() - 12 + 17, 107u) << o;
    }
  }
}

TEST(SshDeployerTest, TwoSshGatewaysOfOneHostSharingARemoteDirFailPreflight) {
  TempDir dir;
  auto inv = Inventory::load(dir.write(
      "fleet.json5",
      inventoryText(
          "  defaults: { runtime: \"talon\", provider: \"ssh\", host: \"h1\" },\n"
          "  gateways: {\n"
          "    a: { port: 18001, stateDir: \"/s/a\", workspaceRoot: \"/w/a\", ssh: { remoteDir: \"/opt/tf\" } },\n"
          "    b: { port: 18002, stateDir: \"/s/b\", workspaceRoot: \"/w/b\", ssh: { remoteDir: \"/opt/tf/\" } },\n"
          "    c: { port: 18003, stateDir: \"/s/c\", workspaceRoot: \"/w/c\" },\n"
          "    d: { port: 18004, stateDir: \"/s/d\", workspaceRoot: \"/w/d\", host: \"h2\", "
          "ssh: { remoteDir: \"/opt/tf\" } },\n"
          "  },")));
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(std::move(*inv));
  PreflightOptions options;
  options.checkHostPorts = false;
  options.validateTalonRenders = false;
  PreflightReport report = runPreflight(fleet, renderFleet(fleet), options);
  std::vector<std::string> shared;
  for (const auto& f : report.findings) {
    if (f.id == "FLEET-SSH-REMOTE-DIR-SHARED") shared.push_back(f.message);
  }
  // a and b on h1 (one path, normalised); c has its own default; d is on another host.
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_THAT(shared[0], HasSubstr("gateways a and b share the ssh remote dir /opt/tf on host h1"));
}

/// The fenced block of docs/fleet.md's "The ssh provider" section that starts with "```<lang>".
std::string sshDocsBlock(const std::string& lang) {
  std::string docs = sshGoldenText(std::filesystem::path(TALON_SOURCE_DIR) / "docs" / "fleet.md");
  auto section = docs.find("## The ssh provider");
  if (section == std::string::npos) return {};
  auto start = docs.find("```" + lang + "\n", section);
  if (start == std::string::npos) return {};
  start += 4 + lang.size();
  return docs.substr(start, docs.find("```", start) - start);
}

TEST(SshDeployerTest, TheUnitInTheDocsIsTheOneApplyWrites) {
  RemoteGatewayLayout l;
  l.gatewayId = "edge-1";
  l.runtime = "talon";
  l.remoteDir = "/home/deploy/.talon-fleet/edge-1";
  l.binary = l.remoteDir + "/bin/talon";
  l.stateDir = "/srv/talon/edge-1";
  l.configPath = "/srv/talon/edge-1/openclaw.json";
  std::string unit = sshSystemdUnit(l);
  unit = unit.substr(unit.find('\n') + 1);  // the docs leave out the "# Written by" line
  EXPECT_EQ(sshDocsBlock("ini"), unit);
}

TEST(SshDeployerTest, TheInventoryExampleInTheDocsIsValid) {
  TempDir dir;
  auto inv = Inventory::load(dir.write("fleet.json5", inventoryText(sshDocsBlock("json5"))));
  ASSERT_TRUE(inv) << inv.error().message;
  EffectiveFleet fleet = EffectiveFleet::resolve(std::move(*inv));
  ASSERT_EQ(fleet.inventory().gateways().size(), 2u);
  SshSettings edge2 = sshSettings(fleet.gateway(fleet.inventory().gateways()[0].id == "edge-2" ? 0 : 1));
  EXPECT_EQ(edge2.user, "deploy");
  EXPECT_EQ(edge2.port, 2222);
  EXPECT_EQ(edge2.service, "detached");
}

}  // namespace
}  // namespace talon::fleet
