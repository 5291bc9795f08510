#include "fleet/inventory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

const char* kGateway = R"(
  gateways: {
    gw1: { port: 18789, stateDir: "/s/gw1", workspaceRoot: "/w/gw1", runtime: "openclaw" },
  },
)";

Result<InventoryPtr> loadText(const TempDir& dir, const std::string& text) {
  return Inventory::load(dir.write("fleet.json5", text));
}

TEST(InventoryTest, LoadsTheExampleOrganisation) {
  auto inv = Inventory::load(testing::exampleInventory());
  ASSERT_TRUE(inv) << inv.error().message;
  const Inventory& i = **inv;
  EXPECT_EQ(i.organisation().slug, "acme");
  EXPECT_EQ(i.groups().size(), 2u);
  EXPECT_EQ(i.gateways().size(), 3u);
  EXPECT_EQ(i.agents().size(), 5u);
  ASSERT_NE(i.findAgent("support-triage"), nullptr);
  EXPECT_EQ(i.findAgent("support-triage")->accounts.at("slack").first, "support-slack");
  // The catalogs come through $include; their locations point into the included file.
  ASSERT_EQ(i.catalogs().integrations.count("notion"), 1u);
  EXPECT_EQ(i.catalogs().integrations.at("notion").kind, "custom-only");
  EXPECT_THAT(i.catalogs().integrations.at("notion").location.file, HasSubstr("catalogs.json5"));
  EXPECT_EQ(i.catalogs().models.at("anthropic/claude-opus-4-1").tier, "high-cost");
  EXPECT_EQ(i.includedFiles().size(), 1u);
}

TEST(InventoryTest, AnUnknownKeyNamesFileLineAndPath) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(R"(
  gateways: {
    gw1: { port: 18789, stateDir: "/s", workspaceRoot: "/w",
           colour: "blue" },
  },)"));
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, ErrorCode::kConfigInvalid);
  EXPECT_THAT(inv.error().message, HasSubstr("fleet.json5:6:12: gateways.gw1.colour: unknown key \"colour\""));
  ASSERT_EQ(inv.error().details.at("issues").as_array().size(), 1u);
}

TEST(InventoryTest, AWrongTypeAndAValueOutsideItsEnumAreErrors) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(R"(
  gateways: { gw1: { port: "18789", stateDir: "/s", workspaceRoot: "/w", runtime: "nanoclaw" } },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("gateways.gw1.port: expected an integer, got string"));
  EXPECT_THAT(inv.error().message,
              HasSubstr("gateways.gw1.runtime: \"nanoclaw\" is not one of \"talon\", \"openclaw\""));
}

TEST(InventoryTest, MissingRequiredKeysAreNamed) {
  TempDir dir;
  auto inv = loadText(dir, "{ gateways: { gw1: { port: 1 } } }");
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("organisation: missing required key"));
  EXPECT_THAT(inv.error().message, HasSubstr("gateways.gw1.stateDir: missing required key"));
  EXPECT_THAT(inv.error().message, HasSubstr("gateways.gw1.workspaceRoot: missing required key"));
}

TEST(InventoryTest, ASecretMustBeAReference) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(std::string(kGateway) + R"(
  accounts: { telegram: { bot: { botToken: "123456:AAAA-literal" } } },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("accounts.telegram.bot.botToken: expected a secret reference"));
  EXPECT_THAT(inv.error().message, ::testing::Not(HasSubstr("AAAA-literal")));

  auto ok = loadText(dir, inventoryText(std::string(kGateway) + R"(
  accounts: { telegram: { a: { botToken: "${TG_A}" }, b: { botToken: { source: "file", provider: "vault", id: "/tg/b" } } } },)"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*ok)->accounts().size(), 2u);
}

TEST(InventoryTest, AnAgentCannotSetGatewayWideKeys) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(std::string(kGateway) + R"(
  agents: { a1: { gateway: "gw1", kind: "use-case", bind: "lan" } },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("agents.a1.bind: \"bind\" is a gateway-wide key"));
}

TEST(InventoryTest, ReferencesMustResolve) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(R"(
  gateways: { gw1: { port: 1, stateDir: "/s", workspaceRoot: "/w", group: "nope", templates: ["missing"] } },
  agents: { a1: { gateway: "gw9", kind: "use-case", accounts: { telegram: "ghost" } } },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("gateways.gw1.group: unknown group \"nope\""));
  EXPECT_THAT(inv.error().message, HasSubstr("gateways.gw1.templates[0]: unknown template \"missing\""));
  EXPECT_THAT(inv.error().message, HasSubstr("agents.a1.gateway: unknown gateway \"gw9\""));
  EXPECT_THAT(inv.error().message, HasSubstr("agents.a1.accounts.telegram: unknown account \"ghost\""));
}

TEST(InventoryTest, IdsFollowOpenClawsAgentIdRule) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(std::string(kGateway) + R"(
  agents: { "Support Bot": { gateway: "gw1", kind: "use-case" } },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("is not a valid id"));
}

TEST(InventoryTest, ABindingWithoutChannelNeedsASingleAccount) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(std::string(kGateway) + R"(
  accounts: { telegram: { t1: { botToken: "${T1}" } }, slack: { s1: { botToken: "${S1}" } } },
  agents: {
    a1: { gateway: "gw1", kind: "use-case", accounts: { telegram: "t1" }, bindings: [{ peer: { kind: "group", id: "-1" } }] },
    a2: { gateway: "gw1", kind: "use-case", accounts: { telegram: "t1", slack: "s1" }, bindings: [{ accountId: "s1" }] },
  },)"));
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("agents.a2.bindings[0]: a binding needs \"channel\""));
  EXPECT_THAT(inv.error().message, ::testing::Not(HasSubstr("agents.a1.bindings")));
}

TEST(InventoryTest, ASyntaxErrorIsReportedWithItsPosition) {
  TempDir dir;
  auto inv = loadText(dir, "{ organisation: { id: 'x', }, , }");
  ASSERT_FALSE(inv);
  EXPECT_THAT(inv.error().message, HasSubstr("fleet.json5:1:"));
}

TEST(InventoryTest, AMissingFileIsNotFound) {
  TempDir dir;
  auto inv = Inventory::load(dir.path() / "none.json5");
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().code, ErrorCode::kNotFound);
}

TEST(InventoryTest, ReadsTheVersionCatalogWithItsLocations) {
  TempDir dir;
  auto inv = loadText(dir, inventoryText(std::string(kGateway) + R"(
  runtimes: {
    talon: { versions: { "1.2.0": { binary: "/opt/talon-1.2.0/talon", description: "LTS" } } },
    openclaw: { versions: { "2026.9.6": { binary: "/opt/openclaw/bin/openclaw" } } },
  },)"));
  ASSERT_TRUE(inv) << inv.error().message;
  const auto* v = (*inv)->findRuntimeVersion("talon", "1.2.0");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->binary, "/opt/talon-1.2.0/talon");
  EXPECT_EQ(v->description, "LTS");
  EXPECT_EQ(v->location.line, 9);
  EXPECT_EQ((*inv)->findRuntimeVersion("openclaw", "1.2.0"), nullptr);
  EXPECT_EQ((*inv)->runtimeVersions().size(), 2u);
  EXPECT_EQ((*inv)->runtimeVersions()[0].runtime, "openclaw");
}

TEST(InventoryTest, RefusesABadVersionCatalogEntry) {
  TempDir dir;
  auto relative = loadText(dir, inventoryText(std::string(kGateway) + R"(
  runtimes: { talon: { versions: { "1.2.0": { binary: "bin/talon" } } } },)"));
  ASSERT_FALSE(relative);
  EXPECT_THAT(relative.error().message, HasSubstr("fleet.json5:8:55: runtimes.talon.versions[\"1.2.0\"].binary"));
  EXPECT_THAT(relative.error().message, HasSubstr("runtimes.talon.versions"));
  EXPECT_THAT(relative.error().message, HasSubstr("\"bin/talon\" is not an absolute path"));
  auto missing = loadText(dir, inventoryText(std::string(kGateway) + R"(
  runtimes: { talon: { versions: { "1.2.0": { description: "no binary" } } } },)"));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("binary"));
  auto unknown = loadText(dir, inventoryText(std::string(kGateway) + R"(
  runtimes: { docker: { versions: {} } },)"));
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("runtimes.docker"));
}

// docs/fleet.md documents every key of the schema.
TEST(InventoryTest, EveryKeyIsDocumented) {
  std::ifstream in(std::filesystem::path(TALON_SOURCE_DIR) / "docs" / "fleet.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string docs = ss.str();
  ASSERT_FALSE(docs.empty());
  for (const auto& path : inventoryKeyPaths()) {
    EXPECT_NE(docs.find("`" + path + "`"), std::string::npos) << path << " is not documented in docs/fleet.md";
  }
}

}  // namespace
}  // namespace talon::fleet
