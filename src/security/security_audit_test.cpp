#include "security/security_audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace talon::security {
namespace {

namespace fs = std::filesystem;

/// A fresh temp dir, removed at the end.
struct Dir {
  fs::path path;
  Dir() {
    std::string t = (fs::temp_directory_path() / "talon-audit-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::string> ids(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.id);
  return out;
}

const Finding* find(const std::vector<Finding>& findings, std::string_view id) {
  for (const auto& f : findings)
    if (f.id == id) return &f;
  return nullptr;
}

TEST(SecurityAudit, ExposedGatewayWithoutAuthIsCritical) {
  config::TalonConfig c;
  c.gateway.bind = "lan";
  c.gateway.auth.mode = "none";
  Dir d;
  auto f = auditSecurity({&c, "", d.path / "absent.json", d.path / "absent-state"});
  ASSERT_NE(find(f, "gateway.bind_no_auth"), nullptr) << ::testing::PrintToString(ids(f));
  EXPECT_EQ(find(f, "gateway.bind_no_auth")->severity, FindingSeverity::kCritical);
  EXPECT_NE(find(f, "gateway.trusted_proxies_missing"), nullptr);
}

TEST(SecurityAudit, TrustedProxyModeWithLoopbackAndAdminIdentityGrants) {
  config::TalonConfig c;
  c.gateway.bind = "lan";
  c.gateway.trustedProxies = {"127.0.0.1"};
  c.gateway.auth.mode = "trusted-proxy";
  config::TrustedProxyAuthConfig tp;
  tp.userHeader = "x-forwarded-user";
  tp.allowLoopback = true;
  c.gateway.auth.trustedProxy = tp;
  c.gateway.auth.identityScopes = {{"root@example.com", {"operator.admin"}}, {"ro@example.com", {"operator.read"}}};
  c.gateway.auth.password = "short";
  Dir d;
  auto f = auditSecurity({&c, "", d.path / "absent.json", d.path / "absent-state"});
  ASSERT_NE(find(f, "gateway.trusted_proxy_auth"), nullptr) << ::testing::PrintToString(ids(f));
  EXPECT_EQ(find(f, "gateway.trusted_proxy_auth")->severity, FindingSeverity::kCritical);
  ASSERT_NE(find(f, "gateway.trusted_proxy_allow_loopback"), nullptr);
  EXPECT_EQ(find(f, "gateway.trusted_proxy_allow_loopback")->severity, FindingSeverity::kWarn);
  EXPECT_NE(find(f, "gateway.trusted_proxy_no_allowlist"), nullptr);
  ASSERT_NE(find(f, "gateway.identity_scopes_admin"), nullptr);
  EXPECT_NE(find(f, "gateway.identity_scopes_admin")->detail.find("root@example.com"), std::string::npos);
  EXPECT_EQ(find(f, "gateway.identity_scopes_admin")->detail.find("ro@example.com"), std::string::npos);
  EXPECT_NE(find(f, "gateway.password_too_short"), nullptr);  // the local fallback password
  EXPECT_EQ(find(f, "gateway.bind_no_auth"), nullptr);

  c.gateway.auth.trustedProxy->allowLoopback = false;
  c.gateway.auth.trustedProxy->allowUsers = {"ro@example.com"};
  c.gateway.auth.identityScopes.clear();
  f = auditSecurity({&c, "", d.path / "absent.json", d.path / "absent-state"});
  EXPECT_EQ(find(f, "gateway.trusted_proxy_allow_loopback"), nullptr);
  EXPECT_EQ(find(f, "gateway.trusted_proxy_no_allowlist"), nullptr);
  EXPECT_EQ(find(f, "gateway.identity_scopes_admin"), nullptr);
  c.gateway.auth.mode = "token";
  f = auditSecurity({&c, "", d.path / "absent.json", d.path / "absent-state"});
  EXPECT_EQ(find(f, "gateway.trusted_proxy_auth"), nullptr);
}

TEST(SecurityAudit, WeakAndPlaceholderSecretsNeverQuoted) {
  config::TalonConfig c;
  c.gateway.auth.mode = "password";
  c.gateway.auth.password = "hunter2";
  Dir d;
  auto loopback = auditSecurity({&c, "", d.path / "x.json", d.path});
  ASSERT_NE(find(loopback, "gateway.password_too_short"), nullptr);
  EXPECT_EQ(find(loopback, "gateway.password_too_short")->severity, FindingSeverity::kWarn);
  c.gateway.bind = "auto";
  auto exposed = auditSecurity({&c, "", d.path / "x.json", d.path});
  EXPECT_EQ(find(exposed, "gateway.password_too_short")->severity, FindingSeverity::kCritical);
  for (const auto& f : exposed) EXPECT_EQ(json::serialize(f.toJson()).find("hunter2"), std::string::npos);
  c.gateway.auth.password = "change-me-to-a-strong-password";
  EXPECT_NE(find(auditSecurity({&c, "", d.path / "x.json", d.path}), "gateway.password_placeholder_value"), nullptr);
}

TEST(SecurityAudit, LiteralSecretsInTheFileButNotEnvReferences) {
  config::TalonConfig c;
  Dir d;
  std::string raw =
      R"({ gateway: { auth: { token: 'abc' } }, models: { providers: { a: { apiKey: 'sk-x' }, b: { apiKey: '${B_KEY}' } } } })";
  auto f = auditSecurity({&c, raw, d.path / "talon.json", d.path});
  EXPECT_NE(find(f, "config.secrets.gateway_token_in_config"), nullptr);
  int apiKeys = 0;
  for (const auto& x : f) apiKeys += x.id == "config.secrets.provider_api_key_in_config";
  EXPECT_EQ(apiKeys, 1);
  EXPECT_EQ(find(auditSecurity({&c, "{ gateway: { auth: { token: '${GW}' } } }", d.path / "t.json", d.path}),
                 "config.secrets.gateway_token_in_config"),
            nullptr);
}

TEST(SecurityAudit, HooksHardeningAsOpenClawChecksIt) {
  config::TalonConfig c;
  Dir d;
  EXPECT_EQ(find(auditSecurity({&c, "", d.path / "x.json", d.path}), "hooks.default_session_key_unset"), nullptr);
  c.hooks.enabled = true;
  c.hooks.token = "short-hook-token";
  c.gateway.auth.mode = "token";
  c.gateway.auth.token = "short-hook-token";
  c.hooks.allowRequestSessionKey = true;
  std::string raw = "{ hooks: { enabled: true, token: 'short-hook-token' } }";
  auto f = auditSecurity({&c, raw, d.path / "x.json", d.path});
  for (std::string_view id :
       {"hooks.token_too_short", "hooks.token_reuse_gateway_token", "hooks.default_session_key_unset",
        "hooks.allowed_agent_ids_unrestricted", "hooks.request_session_key_enabled",
        "hooks.request_session_key_prefixes_missing", "config.secrets.hooks_token_in_config"}) {
    EXPECT_NE(find(f, id), nullptr) << id << " " << ::testing::PrintToString(ids(f));
  }
  EXPECT_EQ(find(f, "hooks.token_reuse_gateway_token")->severity, FindingSeverity::kCritical);
  EXPECT_EQ(find(f, "hooks.allowed_agent_ids_unrestricted")->severity, FindingSeverity::kWarn);
  for (const auto& x : f) EXPECT_EQ(json::serialize(x.toJson()).find("short-hook-token"), std::string::npos);

  c.hooks.token = "a-distinct-and-long-hook-token-0123456789";
  c.hooks.defaultSessionKey = "hook:ingress";
  c.hooks.allowedAgentIds = std::vector<std::string>{"main"};
  c.hooks.allowRequestSessionKey = false;
  c.gateway.bind = "lan";
  auto hardened = auditSecurity({&c, "{ hooks: { token: '${HOOKS_TOKEN}' } }", d.path / "x.json", d.path});
  for (const auto& x : hardened) EXPECT_NE(x.id.rfind("hooks.", 0), 0u) << x.id;
}

TEST(SecurityAudit, OpenDmPolicyIsCriticalPerChannelAndAccountAsOpenClawReportsIt) {
  config::TalonConfig c;
  config::AgentEntryConfig main;
  main.id = "main";
  c.agents.entries.push_back(main);
  Dir d;
  config::ChannelConfig telegram;
  telegram.id = "telegram";
  telegram.access.dmPolicy = "pairing";
  c.channels.entries.push_back(telegram);
  auto quiet = auditSecurity({&c, "", d.path / "x.json", d.path});
  EXPECT_EQ(find(quiet, "channels.telegram.dm.open"), nullptr) << ::testing::PrintToString(ids(quiet));
  EXPECT_EQ(find(quiet, "security.exposure.open_groups_with_runtime_or_fs"), nullptr);

  c.channels.entries[0].access.dmPolicy = "open";
  c.channels.entries[0].access.allowFrom = std::vector<std::string>{"*"};
  config::ChannelAccessConfig work;
  work.dmPolicy = "open";
  work.allowFrom = std::vector<std::string>{"12345"};  // "open" without "*": inconsistent
  c.channels.entries[0].accounts["work"] = work;
  auto f = auditSecurity({&c, "", d.path / "x.json", d.path});
  std::vector<const Finding*> open;
  for (const auto& x : f)
    if (x.id == "channels.telegram.dm.open") open.push_back(&x);
  ASSERT_EQ(open.size(), 2u) << ::testing::PrintToString(ids(f));
  EXPECT_EQ(open[0]->severity, FindingSeverity::kCritical);
  EXPECT_EQ(open[0]->title, "Telegram DMs are open");
  EXPECT_EQ(open[0]->detail, "channels.telegram.dmPolicy=\"open\" allows anyone to DM the bot.");
  EXPECT_EQ(open[1]->detail, "channels.telegram.accounts.work.dmPolicy=\"open\" allows anyone to DM the bot.");
  const Finding* invalid = find(f, "channels.telegram.dm.open_invalid");
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(invalid->severity, FindingSeverity::kWarn);
  EXPECT_EQ(invalid->detail, "\"open\" requires channels.telegram.accounts.work.allowFrom to include \"*\".");

  const Finding* exposure = find(f, "security.exposure.open_groups_with_runtime_or_fs");
  ASSERT_NE(exposure, nullptr);
  EXPECT_EQ(exposure->severity, FindingSeverity::kWarn);
  EXPECT_NE(exposure->detail.find("- channels.telegram.accounts.work.dmPolicy"), std::string::npos) << exposure->detail;
  EXPECT_NE(exposure->detail.find("agents.entries.main (sandbox=off"), std::string::npos) << exposure->detail;
}

TEST(SecurityAudit, OpenGroupPolicyAloneCountsAsOpenInbound) {
  config::TalonConfig c;
  Dir d;
  config::ChannelConfig irc;
  irc.id = "irc";
  irc.access.groupPolicy = "open";
  c.channels.entries.push_back(irc);
  auto f = auditSecurity({&c, "", d.path / "x.json", d.path});
  EXPECT_EQ(find(f, "channels.irc.dm.open"), nullptr);
  const Finding* exposure = find(f, "security.exposure.open_groups_with_runtime_or_fs");
  ASSERT_NE(exposure, nullptr) << ::testing::PrintToString(ids(f));
  EXPECT_NE(exposure->detail.find("- channels.irc.groupPolicy"), std::string::npos);
}

TEST(SecurityAudit, AnAgentBoundToAGroupPeerHasFileToolsWithoutASandbox) {
  config::TalonConfig c;
  Dir d;
  config::BindingConfig direct;
  direct.agentId = "main";
  direct.match.channel = "telegram";
  direct.match.peer = config::PeerMatch{"direct", "42"};
  c.bindings.push_back(direct);
  EXPECT_EQ(find(auditSecurity({&c, "", d.path / "x.json", d.path}), "security.exposure.group_agent_tools_unsandboxed"),
            nullptr);

  config::BindingConfig group;
  group.agentId = "ops";
  group.match.channel = "telegram";
  group.match.peer = config::PeerMatch{"group", "-100200"};
  group.index = 1;
  c.bindings.push_back(group);
  auto f = auditSecurity({&c, "", d.path / "x.json", d.path});
  const Finding* g = find(f, "security.exposure.group_agent_tools_unsandboxed");
  ASSERT_NE(g, nullptr) << ::testing::PrintToString(ids(f));
  EXPECT_EQ(g->severity, FindingSeverity::kWarn);
  EXPECT_NE(g->detail.find("bindings[1]: agent \"ops\""), std::string::npos) << g->detail;
  EXPECT_EQ(g->detail.find("\"main\""), std::string::npos) << g->detail;
  EXPECT_FALSE(g->remediation.empty());
}

TEST(SecurityAudit, PermissionsOfStateDirAndConfig) {
  config::TalonConfig c;
  Dir d;
  auto cfg = d.path / "talon.json";
  std::ofstream(cfg) << "{}";
  ::chmod(d.path.c_str(), 0777);
  ::chmod(cfg.c_str(), 0644);
  auto f = auditSecurity({&c, "{}", cfg, d.path});
  EXPECT_NE(find(f, "fs.state_dir.perms_world_writable"), nullptr) << ::testing::PrintToString(ids(f));
  EXPECT_NE(find(f, "fs.state_dir.perms_readable"), nullptr);
  EXPECT_NE(find(f, "fs.config.perms_world_readable"), nullptr);
  ::chmod(d.path.c_str(), 0700);
  ::chmod(cfg.c_str(), 0600);
  EXPECT_TRUE(auditSecurity({&c, "{}", cfg, d.path}).empty());
}

}  // namespace
}  // namespace talon::security
