#include "security/operator_roles.h"

#include <gtest/gtest.h>

#include "config/config_validator.h"
#include "config/json5.h"
#include "security/authenticator.h"

namespace talon::security {
namespace {

using Names = std::vector<std::string>;

config::ValidationResult validate(std::string_view text) {
  auto doc = config::parseJson5(text, "/c/talon.json");
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  if (!doc) return {};
  return config::validateEffectiveConfig(doc->value, doc->sourceMap, {});
}

TEST(OperatorRoles, BuiltInAdminAndOperator) {
  auto roles = OperatorRoles::fromConfig({});
  const auto* admin = roles.find("admin");
  ASSERT_NE(admin, nullptr);
  EXPECT_TRUE(admin->builtin);
  EXPECT_EQ(admin->scopes, httpSharedSecretScopes());
  EXPECT_TRUE(admin->scopeSet.has(protocol::Scope::kAdmin));
  EXPECT_FALSE(admin->agents);
  const auto* op = roles.find("operator");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->scopes, (Names{"operator.read", "operator.write", "operator.approvals"}));
  EXPECT_EQ(roles.find("guest"), nullptr);
  EXPECT_EQ(roles.resolve("guest"), nullptr);  // no gateway.roles: no default
}

TEST(OperatorRoles, DefinitionsOverrideBuiltInsAndDefaultResolvesUndefinedRoles) {
  config::GatewayRolesConfig c;
  c.configured = true;
  c.defaultRole = "guest";
  c.definitions["guest"] = config::OperatorRoleConfig{{"operator.read"}, std::vector<std::string>{"main"}, "write"};
  c.definitions["operator"] = config::OperatorRoleConfig{{"operator.read", "operator.write"}, std::nullopt, "write"};
  auto roles = OperatorRoles::fromConfig(c);
  const auto* op = roles.find("operator");
  ASSERT_NE(op, nullptr);
  EXPECT_FALSE(op->builtin);
  EXPECT_EQ(op->scopes, (Names{"operator.read", "operator.write"}));
  ASSERT_NE(roles.find("admin"), nullptr);
  const auto* fallback = roles.resolve("removed-role");
  ASSERT_NE(fallback, nullptr);
  EXPECT_EQ(fallback->name, "guest");
  EXPECT_EQ(fallback->agents, (std::optional<Names>(Names{"main"})));
  ASSERT_EQ(roles.all().size(), 3u);
  EXPECT_EQ(roles.all()[0].name, "admin");  // by name
}

// OpenClaw docs/gateway/operator-scopes.md: "A write grant narrowed to a read-only role retains
// operator.read; an admin-only grant narrowed to a write role retains operator.write ... an empty grant
// or role remains empty."
TEST(OperatorRoles, ScopeCeilingFollowsOpenClawImplications) {
  EXPECT_EQ(applyScopeCeiling(Names{"operator.write"}, Names{"operator.read"}), (Names{"operator.read"}));
  EXPECT_EQ(applyScopeCeiling(Names{"operator.admin"}, Names{"operator.write"}), (Names{"operator.write"}));
  EXPECT_EQ(applyScopeCeiling(Names{}, Names{"operator.admin"}), Names{});
  EXPECT_EQ(applyScopeCeiling(Names{"operator.admin"}, Names{}), Names{});
  // A client asking for OpenClaw's default CLI scopes gets exactly the role's.
  EXPECT_EQ(applyScopeCeiling(httpSharedSecretScopes(), Names{"operator.read", "operator.write", "operator.approvals"}),
            (Names{"operator.read", "operator.write", "operator.approvals"}));
  // Never a capability the grant lacks.
  EXPECT_EQ(applyScopeCeiling(Names{"operator.read"}, httpSharedSecretScopes()), (Names{"operator.read"}));
  EXPECT_EQ(applyScopeCeiling(Names{"operator.read", "bogus.scope"}, Names{"operator.admin"}),
            (Names{"operator.read"}));
}

TEST(OperatorRoles, AgentAllowlist) {
  EXPECT_TRUE(roleAllowsAgent(std::nullopt, "main"));
  EXPECT_TRUE(roleAllowsAgent(Names{"main", "ops"}, "ops"));
  EXPECT_FALSE(roleAllowsAgent(Names{"main"}, "ops"));
  EXPECT_FALSE(roleAllowsAgent(Names{}, "main"));
}

// The config section validates role scopes against its own copy of OpenClaw's closed scope set (config
// may not include protocol/): every scope protocol/ knows is accepted there, and nothing else.
TEST(OperatorRoles, ConfigAcceptsExactlyTheProtocolScopeSet) {
  using protocol::Scope;
  for (Scope s : {Scope::kRead, Scope::kWrite, Scope::kAdmin, Scope::kApprovals, Scope::kQuestions, Scope::kPairing,
                  Scope::kTalk, Scope::kTalkSecrets, Scope::kSessionsRead, Scope::kSessionsWrite}) {
    const std::string text = "{gateway: {roles: {default: \"r\", definitions: {r: {scopes: [\"" +
                             std::string(protocol::scopeName(s)) +
                             "\"], agents: \"*\", sessions: {others: \"write\"}}}}}}";
    auto r = validate(text);
    ASSERT_FALSE(config::hasErrors(r.diagnostics)) << text;
    EXPECT_EQ(r.config.gateway.roles.definitions.at("r").scopes, Names{std::string(protocol::scopeName(s))});
  }
  auto bogus = validate(
      "{gateway: {roles: {default: \"r\", definitions: {r: {scopes: [\"operator.bogus\"], agents: \"*\", sessions: "
      "{others: \"write\"}}}}}}");
  EXPECT_TRUE(config::hasErrors(bogus.diagnostics));
}

}  // namespace
}  // namespace talon::security
