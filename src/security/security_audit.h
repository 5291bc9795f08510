#pragma once
// `talon security audit`: checks of the configuration and the state on disk for what exposes a gateway,
// each with a stable id, a severity and a remediation. Ids follow OpenClaw's audit-check catalogue where
// it has the same check (OpenClaw 2026.9.6 docs/gateway/security/audit-checks.md); Talon-only checks
// are prefixed with the area they concern as OpenClaw's are.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "config/config_model.h"

namespace talon::security {

enum class FindingSeverity { kInfo, kWarn, kCritical };

/// "info" / "warn" / "critical".
std::string_view findingSeverityName(FindingSeverity severity);

/// One finding. `detail` and `remediation` never contain a secret value.
struct Finding {
  std::string id;  // stable, e.g. "gateway.bind_no_auth"
  FindingSeverity severity = FindingSeverity::kWarn;
  std::string title;
  std::string detail;       // what was found (paths, counts, config keys)
  std::string remediation;  // what to do
  /// {"id", "severity", "title", "detail", "remediation"}.
  json::object toJson() const;
};

/// What the audit looks at.
struct SecurityAuditInput {
  const config::TalonConfig* config = nullptr;
  /// The root config file's text as written (LoadedConfig::raw; "" when absent): used to tell a secret
  /// written in the file from one given by `${VAR}` or a secret ref. `$include`d files are not examined.
  std::string_view rawConfig;
  std::filesystem::path configPath;  // may not exist
  std::filesystem::path stateDir;    // may not exist
};

/// Runs every check; findings in check order. Checks (id — severity):
///  gateway.bind_no_auth — critical: beyond loopback with auth mode "none";
///  gateway.token_placeholder_value / gateway.password_placeholder_value — critical: a value OpenClaw
///    refuses ("undefined", "null", a published placeholder);
///  gateway.token_too_short / gateway.password_too_short — critical beyond loopback, warn on loopback:
///    the active secret fails config::exposedSecretWeakness (length 24, 8 distinct characters);
///  gateway.auth_no_rate_limit — warn: beyond loopback with rateLimit.maxAttempts above 100;
///  gateway.real_ip_fallback_enabled — warn: allowRealIpFallback with trusted proxies;
///  gateway.trusted_proxy_auth — critical: auth mode "trusted-proxy" (OpenClaw's reminder);
///  gateway.trusted_proxy_allow_loopback — warn: trustedProxy.allowLoopback is true;
///  gateway.trusted_proxy_no_allowlist — warn: trusted-proxy mode with an empty trustedProxy.allowUsers;
///  gateway.identity_scopes_admin — warn (Talon-only): gateway.auth.identityScopes grants operator.admin;
///  gateway.trusted_proxies_missing — info: beyond loopback with no trusted proxies (behind a reverse
///    proxy, every client then shares the proxy's address for the rate limit);
///  config.secrets.gateway_token_in_config / config.secrets.gateway_password_in_config /
///  config.secrets.provider_api_key_in_config — warn: a secret written literally in the root file;
///  hooks.* (with hooks.enabled; OpenClaw's checks and wording): hooks.token_too_short — warn (< 24
///    characters); hooks.token_reuse_gateway_token — critical (hooks.token is the active gateway token or
///    password); hooks.default_session_key_unset — warn; hooks.allowed_agent_ids_unrestricted,
///    hooks.request_session_key_enabled, hooks.request_session_key_prefixes_missing — warn, critical
///    beyond loopback; config.secrets.hooks_token_in_config — info: a literal hooks.token in the file;
///  channels.<provider>.dm.open — critical: a channel's or account's own dmPolicy is "open" (OpenClaw's
///    id and wording, dist/audit-channel-*.mjs); channels.<provider>.dm.open_invalid — warn: "open"
///    without "*" in the effective allowFrom;
///  security.exposure.open_groups_with_runtime_or_fs — warn: a DM or group policy is "open" while the
///    agents have the file tools and no sandbox (OpenClaw's id; critical there only with exec-style
///    runtime tools, which Talon does not have; Talon's file tools are workspace-confined);
///  security.exposure.group_agent_tools_unsandboxed — warn (Talon-only): an agent bound to a group or
///    channel peer has the file-write tools and no sandbox;
///  fs.state_dir.perms_world_writable — critical; fs.state_dir.perms_group_writable — warn;
///  fs.state_dir.perms_readable — warn (group or others can read);
///  fs.config.perms_writable — critical; fs.config.perms_world_readable — critical;
///  fs.config.perms_group_readable — warn;
///  fs.state_file.perms_readable — warn: gateway.token or the database readable by group or others.
std::vector<Finding> auditSecurity(const SecurityAuditInput& input);

}  // namespace talon::security
