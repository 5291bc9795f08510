#include "gateway/routing/session_key.h"

#include <gtest/gtest.h>

#include "base/file_io.h"
#include "base/json.h"

namespace talon::gateway::routing {
namespace {

TEST(SessionKey, NormalisationMatchesOpenClaw) {
  // [input, expected] from testdata/route_cases.json, checked against OpenClaw's
  // normalizeSessionKeyPreservingOpaquePeerIds by testdata/openclaw_route_probe.mjs.
  auto text = readFile(std::string(TALON_SOURCE_DIR) + "/src/gateway/routing/testdata/route_cases.json");
  ASSERT_TRUE(text.has_value());
  auto table = parseJson(*text);
  ASSERT_TRUE(table.has_value());
  const json::array& cases = table->as_object().at("sessionKeys").as_array();
  ASSERT_GE(cases.size(), 10u);
  for (const auto& v : cases) {
    std::string input(v.as_array().at(0).as_string());
    std::string want(v.as_array().at(1).as_string());
    EXPECT_EQ(normalizeSessionKey(input), want) << input;
  }
}

TEST(SessionKey, NormalisationIsIdempotent) {
  for (std::string_view key : {"agent:a:signal:group:AbC=:thread:XY", "agent:A:matrix:channel:!Room:Server:Thread:$EvT",
                               "AGENT:X:TELEGRAM:GROUP:-100"}) {
    std::string once = normalizeSessionKey(key);
    EXPECT_EQ(normalizeSessionKey(once), once) << key;
  }
}

TEST(SessionKey, BuildDirectScopes) {
  SessionKeyParams p;
  p.agentId = "Ops";
  p.channel = "Telegram";
  p.accountId = "Bot 2";
  p.peerKind = PeerKind::kDirect;
  p.peerId = " User42 ";
  p.dmScope = "main";
  EXPECT_EQ(buildSessionKey(p), "agent:ops:main");
  p.dmScope = "per-peer";
  EXPECT_EQ(buildSessionKey(p), "agent:ops:direct:user42");
  p.dmScope = "per-channel-peer";
  EXPECT_EQ(buildSessionKey(p), "agent:ops:telegram:direct:user42");
  p.dmScope = "per-account-channel-peer";
  EXPECT_EQ(buildSessionKey(p), "agent:ops:telegram:bot-2:direct:user42");
  p.channel = "";
  p.accountId = "";
  EXPECT_EQ(buildSessionKey(p), "agent:ops:unknown:default:direct:user42");
}

TEST(SessionKey, BuildGroupScopes) {
  SessionKeyParams p;
  p.agentId = "a";
  p.channel = "discord";
  p.peerKind = PeerKind::kChannel;
  p.peerId = "General";
  p.dmScope = "per-peer";  // does not apply to groups
  EXPECT_EQ(buildSessionKey(p), "agent:a:discord:channel:general");
  p.peerKind = PeerKind::kGroup;
  EXPECT_EQ(buildSessionKey(p), "agent:a:discord:group:general");
  p.peerId = "";
  EXPECT_EQ(buildSessionKey(p), "agent:a:discord:group:unknown");
  p.groupScope = "main";
  EXPECT_EQ(buildSessionKey(p), "agent:a:main");
}

TEST(SessionKey, BuildKeepsOpaquePeerIdCase) {
  SessionKeyParams p;
  p.agentId = "a";
  p.channel = "Signal";
  p.peerKind = PeerKind::kGroup;
  p.peerId = " AbC= ";
  EXPECT_EQ(buildSessionKey(p), "agent:a:signal:group:AbC=");
  p.peerKind = PeerKind::kChannel;  // Signal channels are not case-preserved
  EXPECT_EQ(buildSessionKey(p), "agent:a:signal:channel:abc=");
  p.channel = "matrix";
  p.peerId = "!Room:Example.ORG";
  EXPECT_EQ(buildSessionKey(p), "agent:a:matrix:channel:!Room:Example.ORG");
  // A built key survives normalisation unchanged.
  EXPECT_EQ(normalizeSessionKey(buildSessionKey(p)), buildSessionKey(p));
}

TEST(SessionKey, Threads) {
  SessionKeyParams p;
  p.agentId = "a";
  p.channel = "slack";
  p.peerKind = PeerKind::kChannel;
  p.peerId = "C1";
  p.threadId = " 1700000000.000100 ";
  EXPECT_EQ(buildSessionKey(p), "agent:a:slack:channel:c1:thread:1700000000.000100");
  p.threadId = "  ";
  EXPECT_EQ(buildSessionKey(p), "agent:a:slack:channel:c1");
  EXPECT_EQ(appendThreadSuffix("agent:a:main", "T9"), "agent:a:main:thread:t9");
  EXPECT_EQ(appendThreadSuffix("agent:a:main", ""), "agent:a:main");
}

TEST(SessionKey, MainKey) {
  EXPECT_EQ(buildMainSessionKey("Ops"), "agent:ops:main");
  EXPECT_EQ(buildMainSessionKey(""), "agent:main:main");
}

TEST(SessionKey, ParseAgentSessionKey) {
  auto k = parseAgentSessionKey(" Agent:Ops:Telegram:Direct:X ");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->agentId, "ops");
  EXPECT_EQ(k->rest, "telegram:direct:x");
  for (std::string_view bad : {"main", "agent:", "agent:ops", "agent:ops:", "agent::main", "agent: :main",
                               "agent:ops::x", "agentx:ops:main", ""}) {
    EXPECT_FALSE(parseAgentSessionKey(bad).has_value()) << bad;
  }
}

AgentRoster pair() { return AgentRoster({"ops", "support"}, true); }
AgentRoster solo() { return AgentRoster({"solo"}, true); }

TEST(ClientSessionKey, AgentPrefixedKeys) {
  auto k = parseSessionKey("Agent:OPS:Telegram:Direct:ABC", pair());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->agentId, "ops");
  EXPECT_EQ(k->sessionKey, "agent:ops:telegram:direct:abc");

  k = parseSessionKey("agent:support:signal:group:AbC", pair(), "Support");
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:support:signal:group:AbC");

  k = parseSessionKey("agent: Ops :main", pair());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:ops:main");
}

TEST(ClientSessionKey, BareMainIsTheOwnersMainSession) {
  auto k = parseSessionKey("main", solo());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->agentId, "solo");
  EXPECT_EQ(k->sessionKey, "agent:solo:main");

  k = parseSessionKey(" MAIN ", AgentRoster());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:main:main");

  k = parseSessionKey("global", solo());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:solo:main");

  k = parseSessionKey("main", pair(), "support");
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:support:main");
}

TEST(ClientSessionKey, UnprefixedKeysAreScopedToTheOwner) {
  auto k = parseSessionKey("My-Chat", solo());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:solo:my-chat");
  k = parseSessionKey("telegram:direct:42", pair(), "ops");
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:ops:telegram:direct:42");
}

TEST(ClientSessionKey, UnprefixedKeyWithoutOwnerNeedsSelection) {
  for (std::string_view key : {"main", "chat-1"}) {
    auto k = parseSessionKey(key, pair());
    ASSERT_FALSE(k.has_value()) << key;
    EXPECT_EQ(k.error().code, ErrorCode::kAgentSelectionRequired);
    EXPECT_NE(getArray(k.error().details, "agentIds"), nullptr);
  }
}

TEST(ClientSessionKey, LegacyMainAlias) {
  auto k = parseSessionKey("agent:main:main", solo());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:solo:main");
  k = parseSessionKey("agent:main:main", AgentRoster());
  ASSERT_TRUE(k.has_value()) << k.error().toString();
  EXPECT_EQ(k->sessionKey, "agent:main:main");
  k = parseSessionKey("agent:main:main", pair());
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().code, ErrorCode::kAgentSelectionRequired);
  // Only the main session is aliased; other keys of an unconfigured "main" are unknown.
  k = parseSessionKey("agent:main:chat", solo());
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().code, ErrorCode::kInvalidArgument);
  // With a requested agent the key's agent must match first (as in OpenClaw).
  k = parseSessionKey("agent:main:main", solo(), "solo");
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().code, ErrorCode::kInvalidArgument);
}

TEST(ClientSessionKey, Refusals) {
  struct Case {
    std::string_view key;
    std::optional<std::string_view> agent;
    std::string_view messagePart;
  };
  for (const Case& c : {Case{"", std::nullopt, "required"}, Case{"   ", std::nullopt, "required"},
                        Case{"agent:ops", std::nullopt, "malformed"}, Case{"agent::main", std::nullopt, "malformed"},
                        Case{"AGENT:ops:", std::nullopt, "malformed"}, Case{"agent:ops::x", std::nullopt, "malformed"},
                        Case{"agent:ghost:main", std::nullopt, "Unknown agent id \"ghost\""},
                        Case{"main", "ghost", "Unknown agent id \"ghost\""},
                        Case{"agent:ops:main", "support", "does not match session key agent \"ops\""}}) {
    auto k = parseSessionKey(c.key, pair(), c.agent);
    ASSERT_FALSE(k.has_value()) << c.key;
    EXPECT_EQ(k.error().code, ErrorCode::kInvalidArgument) << c.key;
    EXPECT_NE(k.error().message.find(c.messagePart), std::string::npos) << k.error().message;
  }
}

}  // namespace
}  // namespace talon::gateway::routing
