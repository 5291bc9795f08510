#include "config/config_validator.h"

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/json5.h"
#include "config/openclaw_key_paths.h"

namespace talon::config {
namespace {

using testing::validate;

using testing::messages;

TEST(ConfigValidator, TypedModelFromAFullConfig) {
  Environment env = {{"GW_TOKEN", "tok-3f9c2a7e1b8d4c6f0a5e9b2d"}, {"OPENAI_API_KEY", "sk-1"}};
  ValidationResult r = validate(R"({
    gateway: { port: 18790, bind: 'lan', auth: { token: { source: 'env', provider: 'default', id: 'GW_TOKEN' } },
               http: { endpoints: { chatCompletions: { enabled: true } } } },
    agents: {
      ownership: 'explicit',
      defaults: { model: { primary: 'openai/gpt-4o', fallbacks: ['local/a', 'local/b'] }, workspace: '/w',
                  maxConcurrent: 3, timeoutSeconds: 60 },
      entries: { main: { name: 'Main' }, ops: { workspace: '/ops', model: 'local/a' } },
    },
    bindings: [ { agentId: 'OPS', comment: 'c', match: { channel: 'telegram', accountId: '*',
                  peer: { kind: 'dm', id: '42' }, guildId: 'g', teamId: 't', roles: ['r1'] },
                  session: { dmScope: 'per-peer', groupScope: 'main' } } ],
    session: { dmScope: 'per-account-channel-peer', groupScope: 'main' },
    models: { providers: {
      openai: { apiKey: '$OPENAI_API_KEY' },
      local: { baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'literal', headers: { 'X-A': 'b' }, timeoutSeconds: 30,
               maxTokens: 1000, models: [ { id: 'a', name: 'A', contextWindow: 8192, maxTokens: 512 } ] },
      anthropic: { apiKey: '$MISSING_KEY', api: 'openai-completions' },
    } },
  })",
                                env);
  // Only the legacy "dm" alias warning, the unset $MISSING_KEY warning and the ownerless heartbeat.
  ASSERT_EQ(r.diagnostics.size(), 3u) << messages(r);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[1].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[2].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[2].path, "agents.defaults.heartbeat.agentId");
  const TalonConfig& c = r.config;
  EXPECT_EQ(c.gateway.port, 18790);
  EXPECT_EQ(c.gateway.bind, "lan");
  EXPECT_EQ(c.gateway.auth.mode, "token");
  EXPECT_EQ(c.gateway.auth.token, "tok-3f9c2a7e1b8d4c6f0a5e9b2d");
  EXPECT_TRUE(c.gateway.chatCompletionsEnabled);
  EXPECT_EQ(c.agents.ownership, "explicit");
  EXPECT_EQ(c.agents.defaults.model.primary, "openai/gpt-4o");
  EXPECT_EQ(c.agents.defaults.model.fallbacks, (std::vector<std::string>{"local/a", "local/b"}));
  EXPECT_EQ(c.agents.defaults.workspace, "/w");
  EXPECT_EQ(c.agents.defaults.maxConcurrent, 3);
  EXPECT_EQ(c.agents.defaults.timeoutSeconds, 60);
  ASSERT_EQ(c.agents.entries.size(), 2u);
  EXPECT_EQ(c.agents.entries[0].id, "main");
  EXPECT_EQ(c.agents.entries[0].name, "Main");
  EXPECT_EQ(c.agents.entries[1].id, "ops");
  EXPECT_EQ(c.agents.entries[1].workspace, "/ops");
  EXPECT_EQ(c.agents.entries[1].model.primary, "local/a");
  ASSERT_EQ(c.bindings.size(), 1u);
  const BindingConfig& b = c.bindings[0];
  EXPECT_EQ(b.agentId, "ops");  // normalized
  EXPECT_EQ(b.comment, "c");
  EXPECT_EQ(b.match.channel, "telegram");
  EXPECT_EQ(b.match.accountId, "*");
  ASSERT_TRUE(b.match.peer);
  EXPECT_EQ(b.match.peer->kind, "direct");
  EXPECT_EQ(b.match.peer->id, "42");
  EXPECT_EQ(b.match.guildId, "g");
  EXPECT_EQ(b.match.teamId, "t");
  EXPECT_EQ(b.match.roles, (std::vector<std::string>{"r1"}));
  EXPECT_EQ(b.dmScope, "per-peer");
  EXPECT_EQ(b.groupScope, "main");
  EXPECT_EQ(c.session.dmScope, "per-account-channel-peer");
  EXPECT_EQ(c.session.groupScope, "main");
  ASSERT_EQ(c.providers.size(), 3u);
  EXPECT_EQ(c.providers[0].id, "openai");
  EXPECT_EQ(c.providers[0].apiKey, "sk-1");
  EXPECT_EQ(c.providers[0].api, "openai-responses");  // OpenClaw's default for its bundled "openai"
  const ProviderConfig& local = c.providers[1];
  EXPECT_EQ(local.baseUrl, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(local.apiKey, "literal");
  EXPECT_EQ(local.headers.at("X-A"), "b");
  EXPECT_EQ(local.timeoutSeconds, 30);
  EXPECT_EQ(local.maxTokens, 1000);
  ASSERT_EQ(local.models.size(), 1u);
  EXPECT_EQ(local.models[0].id, "a");
  EXPECT_EQ(local.models[0].name, "A");
  EXPECT_EQ(local.models[0].contextWindow, 8192);
  EXPECT_EQ(local.models[0].maxTokens, 512);
  const ProviderConfig& anthropic = c.providers[2];
  EXPECT_EQ(anthropic.api, "openai-completions");
  EXPECT_EQ(anthropic.apiKey, "");
  EXPECT_EQ(anthropic.apiKeyUnavailable, "env var \"MISSING_KEY\" is not set");
}

TEST(ConfigValidator, DefaultsForAnEmptyConfig) {
  ValidationResult r = validate("{}");
  EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
  const TalonConfig& c = r.config;
  EXPECT_EQ(c.gateway.port, 18789);
  EXPECT_EQ(c.gateway.bind, "loopback");
  EXPECT_EQ(c.gateway.auth.mode, "token");
  EXPECT_TRUE(c.gateway.auth.token.empty());
  EXPECT_FALSE(c.gateway.chatCompletionsEnabled);
  ASSERT_EQ(c.agents.entries.size(), 1u);
  EXPECT_EQ(c.agents.entries[0].id, "main");
  EXPECT_EQ(c.session.dmScope, "main");
  EXPECT_EQ(c.session.groupScope, "per-group");
  EXPECT_TRUE(c.bindings.empty());
  EXPECT_TRUE(c.providers.empty());

  TalonConfig d = defaultTalonConfig();
  EXPECT_EQ(d.gateway.bind, "loopback");
  EXPECT_EQ(d.gateway.auth.mode, "token");
  ASSERT_EQ(d.agents.entries.size(), 1u);
  EXPECT_EQ(d.agents.entries[0].id, "main");
}

TEST(ConfigValidator, AuthModeFollowsTheConfiguredSecret) {
  EXPECT_EQ(validate("{gateway: {auth: {password: 'p'}}}").config.gateway.auth.mode, "password");
  EXPECT_EQ(validate("{gateway: {auth: {token: 't'}}}").config.gateway.auth.mode, "token");
  EXPECT_EQ(validate("{gateway: {auth: {mode: 'none'}}}").config.gateway.auth.mode, "none");
  ValidationResult both = validate("{gateway: {auth: {mode: 'password', token: 't', password: 'p'}}}");
  EXPECT_TRUE(both.diagnostics.empty()) << messages(both);
  EXPECT_EQ(both.config.gateway.auth.password, "p");
}

TEST(ConfigValidator, SecretValuesAreNeverEchoed) {
  ValidationResult r = validate(
      "{gateway: {auth: {token: 1234567}}, models: {providers: {x: {baseUrl: 'h', models: [], apiKey: true}}}}");
  ASSERT_EQ(r.diagnostics.size(), 2u) << messages(r);
  EXPECT_EQ(r.diagnostics[0].message, "expected string or secret ref {source, provider, id}, got a number");
  EXPECT_EQ(r.diagnostics[1].message, "expected string or secret ref {source, provider, id}, got a boolean");
}

TEST(ConfigValidator, UnknownAndUnsupportedKeysAreDistinct) {
  ValidationResult r = validate("{\n  gateway: {\n    bogus: 1,\n    tailscale: {},\n  },\n  unknownRoot: 1,\n}");
  ASSERT_EQ(r.diagnostics.size(), 3u) << messages(r);
  EXPECT_EQ(r.diagnostics[0].toString(), "/c/talon.json:3:5: gateway: Unrecognized key: \"bogus\"");
  EXPECT_EQ(r.diagnostics[0].code, DiagnosticCode::kUnknownKey);
  EXPECT_EQ(r.diagnostics[1].toString(),
            "/c/talon.json:4:5: gateway.tailscale: OpenClaw key \"tailscale\" is not supported by Talon yet");
  EXPECT_EQ(r.diagnostics[1].code, DiagnosticCode::kUnsupportedKey);
  EXPECT_EQ(r.diagnostics[2].toString(), "/c/talon.json:6:3: <root>: Unrecognized key: \"unknownRoot\"");
}

TEST(ConfigValidator, TypeErrorsSayWhatWasExpected) {
  ValidationResult r = validate("{gateway: {port: 'x'}}");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].path, "gateway.port");
  EXPECT_EQ(r.diagnostics[0].message, "expected integer 1..65535, got \"x\"");
  EXPECT_EQ(r.diagnostics[0].code, DiagnosticCode::kType);
  EXPECT_EQ(r.diagnostics[0].location.toString(), "/c/talon.json:1:12");
}

TEST(ConfigValidator, AgentIds) {
  EXPECT_TRUE(isValidAgentId("main"));
  EXPECT_TRUE(isValidAgentId("_x-1"));
  EXPECT_TRUE(isValidAgentId(std::string(64, 'a')));
  EXPECT_FALSE(isValidAgentId(std::string(65, 'a')));
  EXPECT_FALSE(isValidAgentId(""));
  EXPECT_FALSE(isValidAgentId("-x"));
  EXPECT_FALSE(isValidAgentId("Main"));
  EXPECT_FALSE(isValidAgentId("a b"));
  EXPECT_EQ(normalizeAgentId(" Main "), "main");
  EXPECT_EQ(normalizeAgentId("Ops Bot!!"), "ops-bot");
  EXPECT_EQ(normalizeAgentId("--x--"), "x");
  EXPECT_EQ(normalizeAgentId(""), "main");
  EXPECT_EQ(normalizeAgentId("!!!"), "main");
  EXPECT_EQ(normalizeAgentId(std::string(70, 'b')), std::string(64, 'b'));
}

TEST(OpenClawKeyPaths, ListIsSortedAndCoversTheSubset) {
  auto paths = openClawKeyPaths();
  ASSERT_GT(paths.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  EXPECT_TRUE(std::adjacent_find(paths.begin(), paths.end()) == paths.end());
  for (std::string_view p :
       {"$schema", "gateway.port", "gateway.auth.token", "gateway.http.endpoints.chatCompletions.enabled",
        "agents.entries.*.workspace", "bindings[].match.peer.kind", "models.providers.*.models[].contextWindow",
        "models.providers.*.headers.*", "session.dmScope", "agents.ownership"}) {
    EXPECT_TRUE(isOpenClawKeyPath(p)) << p;
  }
  EXPECT_FALSE(isOpenClawKeyPath("gateway.bogus"));
  EXPECT_FALSE(
      isOpenClawKeyPath("gateway"
                        ".port.x"));
}

TEST(ConfigValidator, LoggingLevelMapsOpenClawNamesToTalons) {
  EXPECT_EQ(validate("{ logging: { level: 'fatal' } }").config.logging.level, "critical");
  EXPECT_EQ(validate("{ logging: { level: 'silent' } }").config.logging.level, "off");
  EXPECT_EQ(validate("{ logging: { level: 'debug' } }").config.logging.level, "debug");
  EXPECT_EQ(validate("{}").config.logging.level, "");
  ValidationResult bad = validate("{ logging: { level: 'verbose' } }");
  EXPECT_FALSE(bad.valid());
  EXPECT_EQ(bad.config.logging.level, "");
}

}  // namespace
}  // namespace talon::config

namespace talon::config {
namespace {

// gateway.roles (OpenClaw docs/gateway/operator-scopes.md "Named operator roles", zod
// GatewayOperatorRoleDefinitionSchema).
TEST(ConfigValidatorRoles, DefinitionsAreReadWithOpenClawsRules) {
  ValidationResult r = validate(R"({
    agents: { ownership: 'explicit', entries: { main: {}, ops: {} } },
    gateway: { roles: { default: ' guest ', definitions: {
      guest: { scopes: ['operator.read', 'operator.read'], agents: [' OPS '], sessions: { others: 'write' },
               sandbox: 'inherit' },
      maintainer: { scopes: ['operator.read', 'operator.write', 'operator.approvals'], agents: '*',
                    sessions: { others: 'write' } },
    } } },
  })");
  ASSERT_FALSE(hasErrors(r.diagnostics)) << messages(r);
  const auto& roles = r.config.gateway.roles;
  EXPECT_TRUE(roles.configured);
  EXPECT_EQ(roles.defaultRole, "guest");
  ASSERT_EQ(roles.definitions.size(), 2u);
  EXPECT_EQ(roles.definitions.at("guest").scopes, (std::vector<std::string>{"operator.read"}));
  EXPECT_EQ(roles.definitions.at("guest").agents, (std::optional<std::vector<std::string>>({"ops"})));
  EXPECT_FALSE(roles.definitions.at("maintainer").agents);
}

TEST(ConfigValidatorTrustedProxy, ModeAndIdentityScopesAreRead) {
  ValidationResult r = validate(R"({
    gateway: { bind: 'lan', trustedProxies: ['10.0.0.1'], auth: {
      mode: 'trusted-proxy',
      identityScopes: { 'Admin@Example.com': ['operator.admin', 'operator.admin'], 'svc-1': [] },
      trustedProxy: { userHeader: ' x-forwarded-user ', requiredHeaders: ['x-forwarded-proto'],
                      allowUsers: ['nick@example.com'], allowLoopback: true,
                      deviceAutoApprove: { enabled: false, scopes: ['operator.read'] } },
    } },
  })");
  ASSERT_FALSE(hasErrors(r.diagnostics)) << messages(r);
  const auto& a = r.config.gateway.auth;
  EXPECT_EQ(a.mode, "trusted-proxy");
  ASSERT_TRUE(a.trustedProxy);
  EXPECT_EQ(a.trustedProxy->userHeader, "x-forwarded-user");
  EXPECT_EQ(a.trustedProxy->requiredHeaders, (std::vector<std::string>{"x-forwarded-proto"}));
  EXPECT_EQ(a.trustedProxy->allowUsers, (std::vector<std::string>{"nick@example.com"}));
  EXPECT_TRUE(a.trustedProxy->allowLoopback);
  EXPECT_FALSE(a.trustedProxy->deviceAutoApprove);
  EXPECT_EQ(a.trustedProxy->deviceAutoApproveScopes, (std::vector<std::string>{"operator.read"}));
  ASSERT_EQ(a.identityScopes.size(), 2u);
  EXPECT_EQ(a.identityScopes[0].first, "Admin@Example.com");
  EXPECT_EQ(a.identityScopes[0].second, (std::vector<std::string>{"operator.admin"}));
  EXPECT_TRUE(a.identityScopes[1].second.empty());
}

TEST(ConfigValidatorTrustedProxy, KeysOutsideTheModeWarn) {
  ValidationResult r = validate(R"({
    gateway: { auth: { mode: 'none', trustedProxy: { userHeader: 'x-u' }, identityScopes: { a: ['operator.read'] } } },
  })");
  ASSERT_FALSE(hasErrors(r.diagnostics)) << messages(r);
  int warnings = 0;
  for (const auto& d : r.diagnostics) {
    if (!d.isError() && d.message.find("has no effect") != std::string::npos) ++warnings;
  }
  EXPECT_EQ(warnings, 2) << messages(r);
}

TEST(ConfigValidatorRoles, RefusalsNameTheirPath) {
  struct Case {
    const char* text;
    const char* path;
    const char* needle;
  };
  const Case cases[] = {
      {"{gateway: {roles: {definitions: {a: {scopes: [], agents: '*', sessions: {others: 'write'}}}}}}",
       "gateway.roles.default", "required"},
      {"{gateway: {roles: {default: 'b', definitions: {a: {scopes: [], agents: '*', sessions: {others: 'write'}}}}}}",
       "gateway.roles.default", "must name a configured role definition"},
      {"{gateway: {roles: {default: 'a', definitions: {}}}}", "gateway.roles.definitions", "at least one"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {agents: '*', sessions: {others: 'write'}}}}}}",
       "gateway.roles.definitions.a.scopes", "required"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {scopes: ['operator.root'], agents: '*', sessions: {others: "
       "'write'}}}}}}",
       "gateway.roles.definitions.a.scopes[0]", "operator.root"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {scopes: [], agents: ['Bad Id!'], sessions: {others: "
       "'write'}}}}}}",
       "gateway.roles.definitions.a.agents[0]", "invalid agent id"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {scopes: [], agents: '*', sessions: {others: 'view'}}}}}}",
       "gateway.roles.definitions.a.sessions.others", "not supported by Talon yet"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {scopes: [], agents: '*', sessions: {others: 'write'}, "
       "sandbox: 'required'}}}}}",
       "gateway.roles.definitions.a.sandbox", "not supported by Talon yet"},
      {"{gateway: {roles: {default: 'a', definitions: {a: {scopes: [], agents: '*', sessions: {others: 'write'}, "
       "accessPolicyPlugin: 'visitor-access'}}}}}",
       "gateway.roles.definitions.a", "accessPolicyPlugin"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: 'x-u'}, "
       "identityScopes: {'a@example.com': ['operator.read', 'operator.root']}}}}",
       "gateway.auth.identityScopes[\"a@example.com\"][1]", "operator.root"},
      {"{gateway: {auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: 'x-u'}}}}", "gateway.trustedProxies",
       "required when gateway.auth.mode is \"trusted-proxy\""},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy'}}}", "gateway.auth.trustedProxy",
       "required when gateway.auth.mode is \"trusted-proxy\""},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: ' '}}}}",
       "gateway.auth.trustedProxy.userHeader", "non-blank"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {}}}}",
       "gateway.auth.trustedProxy.userHeader", "required when gateway.auth.mode"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', token: 'x', trustedProxy: {userHeader: "
       "'x-u'}}}}",
       "gateway.auth.token", "mutually exclusive"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: 'x-u', "
       "deviceAutoApprove: {enabled: true}}}}}",
       "gateway.auth.trustedProxy.deviceAutoApprove.enabled", "not supported by Talon yet"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: 'x-u', "
       "deviceAutoApprove: {scopes: ['operator.nope']}}}}}",
       "gateway.auth.trustedProxy.deviceAutoApprove.scopes[0]", "operator.nope"},
      {"{gateway: {trustedProxies: ['10.0.0.1'], auth: {mode: 'trusted-proxy', trustedProxy: {userHeader: 'x-u', "
       "requiredHeaders: ['']}}}}",
       "gateway.auth.trustedProxy.requiredHeaders[0]", ""},
  };
  for (const auto& c : cases) {
    ValidationResult r = validate(c.text);
    bool found = false;
    for (const auto& d : r.diagnostics) {
      if (d.isError() && d.path.rfind(c.path, 0) == 0 && d.message.find(c.needle) != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << c.text << "\n" << messages(r);
  }
}

}  // namespace
}  // namespace talon::config
