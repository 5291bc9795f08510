// The built-in methods as registered over real components (tests/support/method_harness.h): every
// registered method is OpenClaw's, with OpenClaw's scope; hello-ok advertises exactly the registry; and a
// scope matrix generated from the registry, so a new method is checked without anyone listing it here.
#include "gateway/methods/builtin_methods.h"

#include <gtest/gtest.h>

#include <set>

#include "protocol/handshake.h"
#include "protocol/methods.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using protocol::Scope;
using protocol::ScopeSet;

class BuiltinMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(harness_.ok()); }
  talon::testing::GatewayComponents gw_;
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(BuiltinMethodsTest, EveryRegisteredMethodIsOpenClawsWithItsScope) {
  const auto& names = harness_.registry().names();
  ASSERT_FALSE(names.empty());
  std::set<std::string_view> seen;
  for (auto name : names) {
    SCOPED_TRACE(std::string(name));
    EXPECT_TRUE(seen.insert(name).second) << "listed twice";
    const auto* spec = protocol::findMethod(name);
    ASSERT_NE(spec, nullptr) << "in neither OpenClaw's nor Talon's method table";
    EXPECT_FALSE(spec->nodeOnly);
    EXPECT_TRUE(spec->advertised) << "OpenClaw does not advertise it in hello-ok";
    const auto* definition = harness_.registry().find(name);
    ASSERT_NE(definition, nullptr);
    EXPECT_EQ(definition->name, name);
    EXPECT_EQ(definition->scope, protocol::requiredScopeFor(name));
    EXPECT_EQ(definition->scope, spec->requiredScope);
  }
  // names() follows the tables' order: OpenClaw's methods, then Talon's own.
  std::vector<std::string_view> inTableOrder;
  for (const auto& m : protocol::methodTable()) {
    if (harness_.registry().find(m.name)) inTableOrder.push_back(m.name);
  }
  for (const auto& m : protocol::talonMethodTable()) {
    if (harness_.registry().find(m.name)) inTableOrder.push_back(m.name);
  }
  EXPECT_EQ(names, inTableOrder);
  // The families Talon implements today; a family dropped from builtin_methods.cpp shows up here.
  std::set<std::string_view> expected{"agent",
                                      "agents.list",
                                      "channels.status",
                                      "chat.abort",
                                      "chat.history",
                                      "chat.send",
                                      "config.apply",
                                      "config.get",
                                      "config.patch",
                                      "config.set",
                                      "health",
                                      "logs.tail",
                                      "models.list",
                                      "sessions.list",
                                      "sessions.compact",
                                      "status",
                                      "system-presence",
                                      "channels.pairing.list",
                                      "channels.pairing.approve",
                                      "channels.start",
                                      "channels.stop",
                                      "channels.logout",
                                      "device.pair.approve",
                                      "device.pair.list",
                                      "device.pair.reject",
                                      "device.pair.remove",
                                      "device.token.revoke",
                                      "device.token.rotate",
                                      "send",
                                      "cron.add",
                                      "cron.get",
                                      "cron.list",
                                      "cron.remove",
                                      "cron.run",
                                      "cron.runs",
                                      "cron.status",
                                      "cron.update",
                                      "runs.replay",
                                      "last-heartbeat",
                                      "set-heartbeats"};
  EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()), expected);
}

TEST_F(BuiltinMethodsTest, HelloOkAdvertisesExactlyTheRegistry) {
  protocol::HelloSnapshot snapshot;
  protocol::HelloOkInput in;
  in.serverVersion = "0.0.0-test";
  in.connId = "c1";
  in.methods = harness_.registry().names();
  in.events = protocol::kTalonEvents;
  in.capabilities = protocol::kTalonServerCapabilities;
  in.snapshot = &snapshot;
  auto hello = protocol::encodeHelloOk(in);
  ASSERT_TRUE(hello) << hello.error().toString();
  auto parsed = parseJson(*hello);
  ASSERT_TRUE(parsed);
  const auto& advertised = parsed->at("features").at("methods").as_array();
  std::vector<std::string> got;
  for (const auto& m : advertised) got.emplace_back(m.as_string());
  std::vector<std::string> want(harness_.registry().names().begin(), harness_.registry().names().end());
  EXPECT_EQ(got, want);
  // And a table method Talon has no handler for is refused as unsupported, not as unknown.
  for (const auto& m : protocol::methodTable()) {
    if (m.nodeOnly || harness_.registry().find(m.name)) continue;
    auto r = protocol::authorize(m.name, ScopeSet::of({Scope::kAdmin}), protocol::Role::kOperator, false);
    ASSERT_FALSE(r) << m.name;
    EXPECT_EQ(r.error().details.at("code").as_string(), "UNSUPPORTED_METHOD") << m.name;
  }
}

/// The scope sets of the matrix, and which required scopes each satisfies, written out independently of
/// ScopeSet::satisfies (OpenClaw operatorScopeSatisfied: admin implies everything, write implies read;
/// pairing implies nothing else).
struct GrantedScopes {
  std::string_view label;
  ScopeSet scopes;
  std::set<Scope> satisfied;
};

const std::vector<GrantedScopes>& matrixRows() {
  static const std::vector<GrantedScopes> rows = {
      {"none", ScopeSet{}, {}},
      {"read", ScopeSet::of({Scope::kRead}), {Scope::kRead, Scope::kSessionsRead}},
      {"write",
       ScopeSet::of({Scope::kWrite}),
       {Scope::kRead, Scope::kWrite, Scope::kTalk, Scope::kSessionsRead, Scope::kSessionsWrite}},
      {"admin",
       ScopeSet::of({Scope::kAdmin}),
       {Scope::kRead, Scope::kWrite, Scope::kAdmin, Scope::kApprovals, Scope::kQuestions, Scope::kPairing, Scope::kTalk,
        Scope::kTalkSecrets, Scope::kSessionsRead, Scope::kSessionsWrite}},
      {"pairing", ScopeSet::of({Scope::kPairing}), {Scope::kPairing}},
  };
  return rows;
}

TEST_F(BuiltinMethodsTest, ScopeMatrixOfEveryRegisteredMethod) {
  std::size_t checked = 0;
  for (auto name : harness_.registry().names()) {
    const Scope required = harness_.registry().find(name)->scope;
    for (const auto& row : matrixRows()) {
      SCOPED_TRACE(std::string(name) + " with " + std::string(row.label));
      const bool allowed = name == "health" || row.satisfied.count(required) != 0;
      auto r = protocol::authorize(name, row.scopes, protocol::Role::kOperator, true);
      EXPECT_EQ(r.has_value(), allowed) << "requires " << protocol::scopeName(required);
      if (!r) {
        EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
        EXPECT_EQ(protocolErrorCode(r.error().code), "FORBIDDEN");
        EXPECT_EQ(r.error().details.at("code").as_string(), "MISSING_SCOPE");
        EXPECT_EQ(r.error().details.at("missingScope").as_string(), protocol::scopeName(required));
      }
      ++checked;
    }
    // A node may not call operator methods (health excepted), whatever its scopes.
    auto node = protocol::authorize(name, ScopeSet::of({Scope::kAdmin}), protocol::Role::kNode, true);
    EXPECT_EQ(node.has_value(), name == "health") << name;
  }
  EXPECT_EQ(checked, harness_.registry().names().size() * matrixRows().size());
  // Health answers even a connection with no scopes; every other method needs at least read.
  EXPECT_TRUE(protocol::authorize("health", ScopeSet{}, protocol::Role::kOperator, true));
  // A method that does not exist answers as OpenClaw 2026.9.6 does for the same caller: MISSING_SCOPE
  // operator.admin below admin (it authorizes before looking for a handler), "unknown method" for admin.
  for (const auto& row : matrixRows()) {
    SCOPED_TRACE(std::string(row.label));
    auto r = protocol::authorize("no.such.method", row.scopes, protocol::Role::kOperator, false);
    ASSERT_FALSE(r);
    if (row.scopes.has(Scope::kAdmin)) {
      EXPECT_EQ(r.error().publicMessage(), "unknown method: no.such.method");
    } else {
      EXPECT_EQ(r.error().details.at("missingScope").as_string(), "operator.admin");
    }
  }
}

}  // namespace
}  // namespace talon::gateway::methods
