#include "gateway/routing/binding_resolver.h"

#include <gtest/gtest.h>

#include <set>

#include "base/file_io.h"
#include "base/json.h"

namespace talon::gateway::routing {
namespace {

config::AgentEntryConfig entry(std::string id) {
  config::AgentEntryConfig e;
  e.id = std::move(id);
  return e;
}

// The table lives in testdata/route_cases.json; its expectations were checked against OpenClaw's own
// resolveAgentRoute with testdata/openclaw_route_probe.mjs.
const json::object& routeTable() {
  static const json::object table = [] {
    auto text = readFile(std::string(TALON_SOURCE_DIR) + "/src/gateway/routing/testdata/route_cases.json");
    EXPECT_TRUE(text.has_value()) << text.error().toString();
    auto parsed = parseJson(*text);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().toString();
    return parsed->as_object();
  }();
  return table;
}

std::string str(const json::object& o, std::string_view key) { return std::string(getString(o, key).value_or("")); }

std::optional<std::string> optStr(const json::object& o, std::string_view key) {
  if (auto s = getString(o, key)) return std::string(*s);
  return std::nullopt;
}

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* a = getArray(o, key)) {
    for (const auto& v : *a) out.emplace_back(v.as_string());
  }
  return out;
}

config::TalonConfig toConfig(const json::object& c, const json::object* session) {
  config::TalonConfig cfg;
  if (const json::object* agents = getObject(c, "agents")) {
    cfg.agents.ownership = str(*agents, "ownership");
    for (const auto& id : strings(*agents, "entries")) cfg.agents.entries.push_back(entry(id));
  }
  if (const json::array* bindings = getArray(c, "bindings")) {
    for (const auto& v : *bindings) {
      const json::object& b = v.as_object();
      const json::object& m = b.at("match").as_object();
      config::BindingConfig binding;
      binding.agentId = str(b, "agentId");
      binding.match.channel = str(m, "channel");
      binding.match.accountId = optStr(m, "accountId");
      if (const json::object* peer = getObject(m, "peer")) {
        binding.match.peer = config::PeerMatch{str(*peer, "kind"), str(*peer, "id")};
      }
      binding.match.guildId = optStr(m, "guildId");
      binding.match.teamId = optStr(m, "teamId");
      binding.match.roles = strings(m, "roles");
      if (const json::object* s = getObject(b, "session")) {
        binding.dmScope = optStr(*s, "dmScope");
        binding.groupScope = optStr(*s, "groupScope");
      }
      cfg.bindings.push_back(std::move(binding));
    }
  }
  if (session != nullptr) {
    if (auto dm = optStr(*session, "dmScope")) cfg.session.dmScope = *dm;
    if (auto group = optStr(*session, "groupScope")) cfg.session.groupScope = *group;
  }
  return cfg;
}

Peer toPeer(const json::object& p) {
  auto kind = parsePeerKind(str(p, "kind"));
  EXPECT_TRUE(kind.has_value()) << str(p, "kind");
  return Peer{kind.value_or(PeerKind::kDirect), str(p, "id")};
}

InboundMessage toMessage(const json::object& m) {
  InboundMessage msg;
  msg.channel = str(m, "channel");
  msg.accountId = str(m, "accountId");
  msg.peer = toPeer(m.at("peer").as_object());
  if (const json::object* parent = getObject(m, "parentPeer")) msg.parentPeer = toPeer(*parent);
  msg.guildId = optStr(m, "guildId");
  msg.teamId = optStr(m, "teamId");
  msg.memberRoles = strings(m, "memberRoles");
  msg.threadId = optStr(m, "threadId");
  return msg;
}

TEST(BindingResolverTable, EveryCase) {
  const json::object& table = routeTable();
  const json::array* routes = getArray(table, "routes");
  ASSERT_NE(routes, nullptr);
  ASSERT_GE(routes->size(), 50u);
  for (const auto& v : *routes) {
    const json::object& c = v.as_object();
    SCOPED_TRACE(str(c, "name"));
    const json::object* configJson = getObject(table.at("configs").as_object(), str(c, "config"));
    ASSERT_NE(configJson, nullptr) << str(c, "config");
    config::TalonConfig cfg = toConfig(*configJson, getObject(c, "session"));
    std::optional<std::string> caller = optStr(c, "caller");
    std::optional<std::string_view> callerView;
    if (caller) callerView = *caller;

    Result<ResolvedRoute> route = resolveBinding(cfg, toMessage(c.at("message").as_object()), callerView);

    const json::object& expect = c.at("expect").as_object();
    if (auto err = getString(expect, "error")) {
      ASSERT_FALSE(route.has_value()) << "routed to " << route->agentId << " via " << matchedByName(route->matchedBy);
      EXPECT_EQ(protocolErrorCode(route.error().code), *err);
      EXPECT_NE(getArray(route.error().details, "agentIds"), nullptr);
      continue;
    }
    ASSERT_TRUE(route.has_value()) << route.error().toString();
    EXPECT_EQ(route->agentId, str(expect, "agentId"));
    EXPECT_EQ(matchedByName(route->matchedBy), str(expect, "matchedBy"));
    EXPECT_EQ(route->sessionKey, str(expect, "sessionKey"));
    EXPECT_EQ(route->mainSessionKey, "agent:" + route->agentId + ":main");
    if (auto index = getInt(expect, "bindingIndex")) {
      ASSERT_TRUE(route->bindingIndex.has_value());
      EXPECT_EQ(static_cast<int64_t>(*route->bindingIndex), *index);
    } else {
      EXPECT_FALSE(route->bindingIndex.has_value());
    }
  }
}

// The table names every MatchedBy value at least once, so no tier goes untested.
TEST(BindingResolverTable, CoversEveryTier) {
  std::set<std::string> seen;
  for (const auto& v : *getArray(routeTable(), "routes")) {
    const json::object& expect = v.as_object().at("expect").as_object();
    if (auto m = getString(expect, "matchedBy")) seen.emplace(*m);
  }
  for (MatchedBy m :
       {MatchedBy::kPeer, MatchedBy::kPeerParent, MatchedBy::kPeerWildcard, MatchedBy::kGuildRoles, MatchedBy::kGuild,
        MatchedBy::kTeam, MatchedBy::kAccount, MatchedBy::kChannel, MatchedBy::kCaller, MatchedBy::kDefault}) {
    EXPECT_TRUE(seen.count(std::string(matchedByName(m)))) << matchedByName(m);
  }
}

TEST(BindingResolver, ResolvedRouteCarriesNormalisedChannelAccountAndEffectiveScopes) {
  config::TalonConfig cfg;
  cfg.agents.ownership = "explicit";
  cfg.agents.entries = {entry("a"), entry("b")};
  config::BindingConfig b;
  b.agentId = "b";
  b.match.channel = "telegram";
  b.match.accountId = "*";
  b.groupScope = "main";
  cfg.bindings.push_back(b);
  cfg.session.dmScope = "per-peer";

  InboundMessage msg;
  msg.channel = " TeleGram ";
  msg.accountId = "Work Bot";
  msg.peer = {PeerKind::kGroup, "G1"};
  auto route = resolveBinding(cfg, msg);
  ASSERT_TRUE(route.has_value()) << route.error().toString();
  EXPECT_EQ(route->channel, "telegram");
  EXPECT_EQ(route->accountId, "work-bot");
  EXPECT_EQ(route->dmScope, "per-peer");
  EXPECT_EQ(route->groupScope, "main");
  EXPECT_EQ(route->sessionKey, "agent:b:main");
}

TEST(BindingResolver, UnknownAgentErrorNamesTheBindingAndTheRoster) {
  config::TalonConfig cfg;
  cfg.agents.ownership = "explicit";
  cfg.agents.entries = {entry("ops"), entry("support")};
  config::BindingConfig b;
  b.agentId = "ghost";
  b.match.channel = "slack";
  cfg.bindings.push_back(b);
  InboundMessage msg;
  msg.channel = "slack";
  msg.peer = {PeerKind::kDirect, "U1"};
  auto route = resolveBinding(cfg, msg);
  ASSERT_FALSE(route.has_value());
  EXPECT_EQ(route.error().code, ErrorCode::kAgentSelectionRequired);
  EXPECT_NE(route.error().message.find("bindings[0]"), std::string::npos) << route.error().message;
  EXPECT_NE(route.error().message.find("\"ghost\""), std::string::npos);
  EXPECT_NE(route.error().message.find("ops, support"), std::string::npos);
  const json::array* ids = getArray(route.error().details, "agentIds");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(*ids, (json::array{"ops", "support"}));
}

TEST(BindingResolver, NoOwnerErrorSuggestsAChannelWideBinding) {
  config::TalonConfig cfg;
  cfg.agents.ownership = "explicit";
  cfg.agents.entries = {entry("ops"), entry("support")};
  InboundMessage msg;
  msg.channel = "telegram";
  msg.accountId = "bot2";
  msg.peer = {PeerKind::kDirect, "U1"};
  auto route = resolveBinding(cfg, msg);
  ASSERT_FALSE(route.has_value());
  EXPECT_EQ(route.error().code, ErrorCode::kAgentSelectionRequired);
  EXPECT_NE(route.error().message.find(R"({"agentId":"<agentId>","match":{"channel":"telegram","accountId":"bot2"}})"),
            std::string::npos)
      << route.error().message;
  EXPECT_EQ(route.error().publicMessage(), route.error().message);
}

TEST(BindingResolver, MatchedByNames) {
  EXPECT_EQ(matchedByName(MatchedBy::kPeer), "binding.peer");
  EXPECT_EQ(matchedByName(MatchedBy::kPeerParent), "binding.peer.parent");
  EXPECT_EQ(matchedByName(MatchedBy::kPeerWildcard), "binding.peer.wildcard");
  EXPECT_EQ(matchedByName(MatchedBy::kGuildRoles), "binding.guild+roles");
  EXPECT_EQ(matchedByName(MatchedBy::kGuild), "binding.guild");
  EXPECT_EQ(matchedByName(MatchedBy::kTeam), "binding.team");
  EXPECT_EQ(matchedByName(MatchedBy::kAccount), "binding.account");
  EXPECT_EQ(matchedByName(MatchedBy::kChannel), "binding.channel");
  EXPECT_EQ(matchedByName(MatchedBy::kCaller), "caller");
  EXPECT_EQ(matchedByName(MatchedBy::kDefault), "default");
}

}  // namespace
}  // namespace talon::gateway::routing
