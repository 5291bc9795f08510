// Named operator roles against the method registry (issue 6, "Operator roles beyond the shared token"):
// for each role, a connect by a token of that role requesting every scope is granted the role's scopes,
// and every registered method is authorized exactly when the role's scopes satisfy the method's — a
// matrix generated from the registry, so a new method cannot skip it. A role's agent allowlist is
// enforced by chat.send and agent, and each refusal is audited.
#include <gtest/gtest.h>

#include "protocol/methods.h"
#include "security/operator_token_authenticator.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using Names = std::vector<std::string>;

constexpr const char* kConfig = R"({
  agents: { ownership: "explicit", entries: { main: {}, ops: {} } },
  gateway: { roles: { default: "viewer", definitions: {
    viewer: { scopes: ["operator.read"], agents: "*", sessions: { others: "write" } },
    pairer: { scopes: ["operator.read", "operator.pairing"], agents: "*", sessions: { others: "write" } },
    opsonly: { scopes: ["operator.read", "operator.write"], agents: ["ops"], sessions: { others: "write" } },
  } } },
})";

class OperatorRoleScopesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    auth_ = std::make_unique<security::OperatorTokenAuthenticator>(
        *gw_.auth, *gw_.store, security::OperatorRoles::fromConfig(gw_.config->config.gateway.roles), gw_.clock);
  }
  /// A connect by a new token of `role` that requests OpenClaw's full CLI scope set.
  security::Principal connectAs(const std::string& role) {
    const std::string token = security::newOperatorToken();
    store::OperatorTokenRecord r;
    r.name = "t-" + role;
    r.role = role;
    r.tokenHash = security::operatorTokenHash(token);
    r.createdAtMs = gw_.clock->nowMs();
    store::WriteBatch b;
    store::OperatorTokenRepository::create(b, std::move(r));
    EXPECT_TRUE(gw_.store->write(std::move(b)));
    protocol::ConnectParams p;
    p.minProtocol = p.maxProtocol = 4;
    p.client.id = "cli";
    p.client.mode = protocol::ClientMode::kCli;
    p.role = "operator";
    p.scopes = security::httpSharedSecretScopes();
    p.auth.token = token;
    auto principal =
        auth_->authenticateConnect(p, protocol::Role::kOperator, security::PeerOrigin{true, "127.0.0.1", ""});
    EXPECT_TRUE(principal) << (principal ? "" : principal.error().error.toString());
    return principal ? *principal : security::Principal{};
  }

  talon::testing::GatewayComponents gw_{{kConfig}};
  talon::testing::MethodHarness harness_{gw_};
  std::unique_ptr<security::OperatorTokenAuthenticator> auth_;
};

TEST_F(OperatorRoleScopesTest, EveryMethodIsAuthorizedExactlyByTheRoleScopes) {
  std::size_t checked = 0;
  for (const auto& role : auth_->roles().all()) {
    SCOPED_TRACE("role " + role.name);
    auto principal = connectAs(role.name);
    ASSERT_TRUE(principal.operatorToken);
    EXPECT_EQ(principal.operatorToken->role, role.name);
    EXPECT_EQ(principal.grantedScopes, security::applyScopeCeiling(security::httpSharedSecretScopes(), role.scopes));
    for (auto name : harness_.registry().names()) {
      const protocol::Scope required = harness_.registry().find(name)->scope;
      const bool expected = name == "health" || role.scopeSet.satisfies(required);
      auto r = protocol::authorize(name, principal.scopes, protocol::Role::kOperator, true);
      EXPECT_EQ(r.has_value(), expected) << name << " requires " << protocol::scopeName(required);
      if (!r) {
        EXPECT_EQ(r.error().details.at("code").as_string(), "MISSING_SCOPE") << name;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, harness_.registry().names().size() * auth_->roles().all().size());
}

TEST_F(OperatorRoleScopesTest, BuiltInAndDefinedRolesGrantWhatTheyShould) {
  auto admin = connectAs("admin");
  EXPECT_TRUE(protocol::authorize("config.patch", admin.scopes, protocol::Role::kOperator, true));
  auto op = connectAs("operator");
  EXPECT_EQ(op.grantedScopes, (Names{"operator.read", "operator.write", "operator.approvals"}));
  EXPECT_TRUE(protocol::authorize("chat.send", op.scopes, protocol::Role::kOperator, true));
  EXPECT_FALSE(protocol::authorize("config.patch", op.scopes, protocol::Role::kOperator, true));
  EXPECT_FALSE(protocol::authorize("device.pair.list", op.scopes, protocol::Role::kOperator, true));
  auto viewer = connectAs("viewer");
  EXPECT_EQ(viewer.grantedScopes, Names{"operator.read"});
  EXPECT_TRUE(protocol::authorize("sessions.list", viewer.scopes, protocol::Role::kOperator, true));
  EXPECT_FALSE(protocol::authorize("chat.send", viewer.scopes, protocol::Role::kOperator, true));
  auto pairer = connectAs("pairer");
  EXPECT_TRUE(protocol::authorize("device.pair.list", pairer.scopes, protocol::Role::kOperator, true));
  EXPECT_FALSE(protocol::authorize("chat.send", pairer.scopes, protocol::Role::kOperator, true));
}

TEST_F(OperatorRoleScopesTest, AnAgentsAllowlistRefusesOtherAgentsAndAuditsIt) {
  MethodCaller caller{"cli", "127.0.0.1:1", "ops-bot", "opsonly", Names{"ops"}};
  auto denied = harness_.call(
      "chat.send",
      json::object{{"sessionKey", "main"}, {"agentId", "main"}, {"message", "hi"}, {"idempotencyKey", "k1"}}, caller);
  ASSERT_FALSE(denied.ok);
  EXPECT_EQ(denied.error->code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error->publicMessage(), "role \"opsonly\" may not run agent \"main\"");
  auto viaAgent =
      harness_.call("agent", json::object{{"agentId", "main"}, {"message", "hi"}, {"idempotencyKey", "k2"}}, caller);
  ASSERT_FALSE(viaAgent.ok);
  EXPECT_EQ(viaAgent.error->code, ErrorCode::kPermissionDenied);
  auto events = gw_.audit.ofKind("access.agent");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].actor, "operator-token:ops-bot");
  EXPECT_EQ(events[0].target, "main");
  EXPECT_EQ(events[0].outcome, security::AuditOutcome::kDenied);
  EXPECT_EQ(events[0].details.at("tokenRole"), "opsonly");
  EXPECT_EQ(events[1].details.at("via"), "agent");

  auto allowed = harness_.call(
      "chat.send",
      json::object{{"sessionKey", "main"}, {"agentId", "ops"}, {"message", "hi"}, {"idempotencyKey", "k3"}}, caller);
  EXPECT_TRUE(allowed.ok) << (allowed.error ? allowed.error->toString() : "");
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "hi");
  gw_.provider->call(0)->answer("ok");
  EXPECT_TRUE(gw_.settle("k3"));
  EXPECT_EQ(gw_.outcome("k3")->agentId, "ops");
  // A caller without a role restriction (shared secret) runs any agent.
  auto shared = harness_.call(
      "chat.send",
      json::object{{"sessionKey", "main"}, {"agentId", "main"}, {"message", "hi"}, {"idempotencyKey", "k4"}});
  EXPECT_TRUE(shared.ok);
  ASSERT_TRUE(gw_.waitCalls(2));
  gw_.provider->call(1)->answer("ok");
  EXPECT_TRUE(gw_.settle("k4"));
  EXPECT_EQ(gw_.outcome("k4")->agentId, "main");
  EXPECT_EQ(gw_.audit.ofKind("access.agent").size(), 2u);
}

}  // namespace
}  // namespace talon::gateway::methods
