#include "gateway/routing/id_normalization.h"

#include <gtest/gtest.h>

#include "base/file_io.h"
#include "base/json.h"
#include "gateway/routing/agent_roster.h"
#include "gateway/routing/inbound_message.h"

namespace talon::gateway::routing {
namespace {

config::AgentEntryConfig rosterEntry(std::string id) {
  config::AgentEntryConfig e;
  e.id = std::move(id);
  return e;
}

// [input, expected] pairs from testdata/route_cases.json, checked against OpenClaw's own functions by
// testdata/openclaw_route_probe.mjs.
std::vector<std::pair<std::string, std::string>> pairs(std::string_view key) {
  auto text = readFile(std::string(TALON_SOURCE_DIR) + "/src/gateway/routing/testdata/route_cases.json");
  EXPECT_TRUE(text.has_value());
  auto parsed = parseJson(*text);
  EXPECT_TRUE(parsed.has_value());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : parsed->as_object().at(key).as_array()) {
    const auto& pair = v.as_array();
    out.emplace_back(std::string(pair.at(0).as_string()), std::string(pair.at(1).as_string()));
  }
  return out;
}

TEST(IdNormalization, AgentIdsMatchOpenClaw) {
  auto cases = pairs("agentIds");
  ASSERT_GE(cases.size(), 10u);
  for (const auto& [input, want] : cases) EXPECT_EQ(normalizeAgentId(input), want) << '"' << input << '"';
}

TEST(IdNormalization, AccountIdsMatchOpenClaw) {
  auto cases = pairs("accountIds");
  ASSERT_GE(cases.size(), 8u);
  for (const auto& [input, want] : cases) EXPECT_EQ(normalizeAccountId(input), want) << '"' << input << '"';
}

TEST(IdNormalization, IsValidAgentId) {
  EXPECT_TRUE(isValidAgentId("ops"));
  EXPECT_TRUE(isValidAgentId(" Ops "));
  EXPECT_TRUE(isValidAgentId("a-"));
  EXPECT_FALSE(isValidAgentId(""));
  EXPECT_FALSE(isValidAgentId("_a"));
  EXPECT_FALSE(isValidAgentId("my agent"));
  EXPECT_FALSE(isValidAgentId(std::string(65, 'a')));
}

TEST(IdNormalization, TrimRemovesJavaScriptWhiteSpace) {
  EXPECT_EQ(trimWhitespace(" \t\r\n x y \v\f"), "x y");
  EXPECT_EQ(trimWhitespace("\xC2\xA0"
                           "x"
                           "\xE3\x80\x80"),
            "x");  // NBSP, ideographic space
  EXPECT_EQ(trimWhitespace("\xEF\xBB\xBF"
                           "x"
                           "\xE2\x80\x8A"),
            "x");                                     // BOM, hair space
  EXPECT_EQ(trimWhitespace("\xC3\xA9"), "\xC3\xA9");  // é is not space
  EXPECT_EQ(trimWhitespace("   "), "");
  // ASCII and non-ASCII spaces interleaved at both ends; an ASCII or multi-byte letter at an end stops it.
  EXPECT_EQ(trimWhitespace(" \xC2\xA0\t\xE2\x80\xAF"
                           "x\xC3\xA9"
                           "\xE3\x80\x80 \xEF\xBB\xBF"),
            "x\xC3\xA9");
  EXPECT_EQ(trimWhitespace("x\xC2\xA0y"), "x\xC2\xA0y");
  EXPECT_EQ(normalizeAgentId("\xC2\xA0Ops\xC2\xA0"), "ops");
}

TEST(IdNormalization, LowerAsciiLeavesOtherBytesAlone) {
  EXPECT_EQ(lowerAscii("AbC-\xC3\x89"), "abc-\xC3\x89");
  EXPECT_EQ(trimLower("  TeleGram "), "telegram");
}

TEST(PeerKind, ParsesOpenClawNamesAndTheDmAlias) {
  EXPECT_EQ(parsePeerKind("direct"), PeerKind::kDirect);
  EXPECT_EQ(parsePeerKind(" DM "), PeerKind::kDirect);
  EXPECT_EQ(parsePeerKind("Group"), PeerKind::kGroup);
  EXPECT_EQ(parsePeerKind("channel"), PeerKind::kChannel);
  EXPECT_EQ(parsePeerKind("user"), std::nullopt);
  EXPECT_EQ(parsePeerKind(""), std::nullopt);
  EXPECT_EQ(peerKindName(PeerKind::kDirect), "direct");
  EXPECT_EQ(peerKindName(PeerKind::kGroup), "group");
  EXPECT_EQ(peerKindName(PeerKind::kChannel), "channel");
}

TEST(AgentRoster, ImplicitRosterIsMain) {
  AgentRoster roster = AgentRoster::fromConfig(config::AgentsConfig{});
  EXPECT_TRUE(roster.implicit());
  EXPECT_EQ(roster.agentIds(), std::vector<std::string>{"main"});
  EXPECT_EQ(roster.soleAgentId(), "main");
  EXPECT_EQ(roster.find(" MAIN "), "main");
  EXPECT_EQ(roster.find("ops"), std::nullopt);
}

TEST(AgentRoster, NormalisesAndDeduplicatesInConfigOrder) {
  config::AgentsConfig agents;
  agents.ownership = "explicit";
  agents.entries = {rosterEntry("Support"), rosterEntry("ops"), rosterEntry("support")};
  AgentRoster roster = AgentRoster::fromConfig(agents);
  EXPECT_FALSE(roster.implicit());
  EXPECT_TRUE(roster.explicitOwnership());
  EXPECT_EQ(roster.agentIds(), (std::vector<std::string>{"support", "ops"}));
  EXPECT_EQ(roster.soleAgentId(), std::nullopt);
  EXPECT_EQ(roster.find("OPS"), "ops");
  EXPECT_EQ(roster.find("main"), std::nullopt);
  EXPECT_EQ(roster.find(""), std::nullopt);
  EXPECT_EQ(roster.describe(), "support, ops");
}

TEST(AgentRoster, SoleAgent) {
  AgentRoster roster({"Solo"}, true);
  EXPECT_EQ(roster.soleAgentId(), "solo");
  EXPECT_EQ(roster.find("  "), std::nullopt);
}

}  // namespace
}  // namespace talon::gateway::routing
