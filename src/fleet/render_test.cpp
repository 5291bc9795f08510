#include "fleet/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/file_io.h"
#include "fleet/fleet_test_util.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
using testing::inventoryText;
using testing::TempDir;

EffectiveFleet exampleFleet() {
  auto inv = Inventory::load(testing::exampleInventory());
  EXPECT_TRUE(inv) << inv.error().message;
  return EffectiveFleet::resolve(*inv);
}

std::string readText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Golden files: tests/data/fleet/example/<gatewayId>/openclaw.json. TALON_UPDATE_GOLDEN=1 rewrites them.
TEST(RenderTest, TheExampleMatchesItsGoldenFiles) {
  EffectiveFleet fleet = exampleFleet();
  auto renders = renderFleet(fleet);
  ASSERT_EQ(renders.size(), 3u);
  std::filesystem::path golden = std::filesystem::path(TALON_SOURCE_DIR) / "tests" / "data" / "fleet" / "example";
  if (const char* update = std::getenv("TALON_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(writeRenders(renders, golden));
  }
  for (const auto& r : renders) {
    std::filesystem::path file = golden / r.id / kRenderedConfigName;
    ASSERT_TRUE(std::filesystem::exists(file)) << file << " is missing (TALON_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(r.text, readText(file)) << "render of " << r.id << " differs from " << file;
  }
}

TEST(RenderTest, RendersAreByteStable) {
  auto a = renderFleet(exampleFleet());
  auto b = renderFleet(exampleFleet());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].text, b[i].text);
}

TEST(RenderTest, OpenClawShapeWithReferencesNotValues) {
  EffectiveFleet fleet = exampleFleet();
  const Inventory& inv = fleet.inventory();
  const Gateway* g = inv.findGateway("support-main");
  ASSERT_NE(g, nullptr);
  RenderedGateway r = renderGateway(fleet, static_cast<std::size_t>(g - inv.gateways().data()));
  EXPECT_EQ(r.runtime, "openclaw");
  const json::object& c = r.config;
  EXPECT_EQ(c.at("gateway").at("mode"), "local");
  EXPECT_EQ(c.at("gateway").at("port"), 18789);
  EXPECT_EQ(c.at("gateway").at("bind"), "lan");
  // The SecretRef object and the ${VAR} strings come through as written.
  EXPECT_EQ(c.at("gateway").at("auth").at("token").at("id"), "SUPPORT_MAIN_GATEWAY_TOKEN");
  EXPECT_EQ(c.at("channels").at("telegram").at("accounts").at("support-bot").at("botToken"), "${TG_SUPPORT_BOT_TOKEN}");
  EXPECT_EQ(c.at("agents").at("ownership"), "explicit");
  const auto& triage = c.at("agents").at("entries").at("support-triage").as_object();
  EXPECT_EQ(triage.at("workspace"), "/srv/acme/support-main/workspaces/support-triage");
  EXPECT_EQ(triage.at("agentDir"), "/srv/acme/support-main/state/agents/support-triage/agent");
  EXPECT_EQ(triage.at("model"), "anthropic/claude-sonnet-4-5");
  EXPECT_EQ(c.at("agents").at("entries").at("support-dana").at("model"), "openai/gpt-5-mini");
  // Bindings: agents by id, explicit ones first, then one per mapped account.
  const auto& bindings = c.at("bindings").as_array();
  ASSERT_EQ(bindings.size(), 3u);
  EXPECT_EQ(bindings[0].at("agentId"), "support-triage");
  EXPECT_EQ(bindings[0].at("match").at("channel"), "slack");
  EXPECT_EQ(bindings[2].at("agentId"), "support-vip");
  EXPECT_EQ(bindings[2].at("match").at("peer").at("id"), "-1001234567890");
  // Fleet-only keys stay out.
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("policy")));
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("routing")));
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("\"owner\"")));
}

TEST(RenderTest, ASingleAgentGatewayNeedsNoOwnershipMarker) {
  EffectiveFleet fleet = exampleFleet();
  const Inventory& inv = fleet.inventory();
  const Gateway* g = inv.findGateway("eng-talon");
  RenderedGateway r = renderGateway(fleet, static_cast<std::size_t>(g - inv.gateways().data()));
  EXPECT_EQ(r.runtime, "talon");
  EXPECT_FALSE(r.config.at("agents").as_object().contains("ownership"));
}

TEST(RenderTest, WriteRendersWritesOneFilePerGateway) {
  TempDir dir;
  auto renders = renderFleet(exampleFleet());
  ASSERT_TRUE(writeRenders(renders, dir.path() / "out"));
  for (const auto& r : renders) {
    auto file = dir.path() / "out" / r.id / kRenderedConfigName;
    EXPECT_EQ(readText(file), r.text);
    auto perms = std::filesystem::status(file).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
  }
}

TEST(RenderTest, SortedKeysSortsEveryDepth) {
  json::value v = json::parse(R"({"b":{"z":1,"a":[{"y":1,"x":2}]},"a":0})");
  EXPECT_EQ(toJson(sortedKeys(v)), R"({"a":0,"b":{"a":[{"x":2,"y":1}],"z":1}})");
}

}  // namespace
}  // namespace talon::fleet
