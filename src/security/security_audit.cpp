#include "security/security_audit.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "config/gateway_exposure.h"
#include "config/json5.h"

namespace talon::security {
namespace {

/// Mode bits of `p` (not following a final symlink is not needed here); nullopt when it does not exist.
std::optional<mode_t> modeOf(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return st.st_mode;
}

std::string octal(mode_t m) { return fmt::format("{:04o}", m & 07777); }

/// The string at `path` (dotted) in the root file as written, when it is a plain string.
std::optional<std::string> literalAt(const json::value& root, std::initializer_list<std::string_view> path) {
  const json::value* v = &root;
  for (auto key : path) {
    if (!v->is_object()) return std::nullopt;
    v = v->as_object().if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr) return std::nullopt;
  }
  if (!v->is_string()) return std::nullopt;
  return std::string(v->as_string().data(), v->as_string().size());
}

/// A literal secret: a non-empty string that is not `${VAR}` / `$VAR` substitution.
bool isLiteralSecret(const std::optional<std::string>& s) {
  return s && !s->empty() && s->find('$') == std::string::npos;
}

/// "Telegram" for "telegram" (OpenClaw titles findings with the channel plugin's label).
std::string channelLabel(const std::string& id) {
  std::string label = id;
  if (!label.empty() && label[0] >= 'a' && label[0] <= 'z') label[0] = static_cast<char>(label[0] - 'a' + 'A');
  return label;
}

bool listsWildcard(const std::optional<std::vector<std::string>>& list) {
  return list && std::find(list->begin(), list->end(), "*") != list->end();
}

/// Open inbound policies (OpenClaw dist/audit-channel-*.mjs warnDmPolicy and audit.nondeep.runtime-*.mjs
/// collectExposureMatrixFindings): `channels.<provider>.dm.open` (critical) for each channel or account
/// whose own dmPolicy is "open", `channels.<provider>.dm.open_invalid` (warn) when its effective allowFrom
/// lacks "*"; then `security.exposure.open_groups_with_runtime_or_fs` when any DM or group policy is open:
/// every Talon agent has the file tools read/write/edit and Talon has no sandbox. Talon's file tools are
/// always confined to the agent's workspace (OpenClaw's `tools.fs.workspaceOnly: true`), but write/edit
/// still reach the workspace files that shape later turns (AGENTS.md, memory), so it stays a warning
/// (OpenClaw: critical only with runtime tools such as exec, which Talon does not have).
void auditOpenInbound(const config::TalonConfig& cfg, std::vector<Finding>& out) {
  std::vector<std::string> openPolicies;
  for (const auto& channel : cfg.channels.entries) {
    const std::string base = "channels." + channel.id;
    auto inspect = [&](const config::ChannelAccessConfig& scope, const std::string& path,
                       const std::optional<std::vector<std::string>>& inheritedAllow) {
      if (scope.groupPolicy && *scope.groupPolicy == "open") openPolicies.push_back(path + ".groupPolicy");
      if (!scope.dmPolicy || *scope.dmPolicy != "open") return;
      openPolicies.push_back(path + ".dmPolicy");
      const std::string allowFromKey = path + ".allowFrom";
      out.push_back(
          Finding{fmt::format("channels.{}.dm.open", channel.id), FindingSeverity::kCritical,
                  channelLabel(channel.id) + " DMs are open", path + ".dmPolicy=\"open\" allows anyone to DM the bot.",
                  "Use pairing/allowlist; if you really need open DMs, ensure " + allowFromKey + " includes \"*\"."});
      if (!listsWildcard(scope.allowFrom ? scope.allowFrom : inheritedAllow)) {
        out.push_back(
            Finding{fmt::format("channels.{}.dm.open_invalid", channel.id), FindingSeverity::kWarn,
                    channelLabel(channel.id) + " DM config looks inconsistent",
                    "\"open\" requires " + allowFromKey + " to include \"*\".",
                    "add \"*\" to " + allowFromKey + ", or set " + path + ".dmPolicy to \"pairing\" or \"allowlist\""});
      }
    };
    inspect(channel.access, base, std::nullopt);
    for (const auto& [accountId, access] : channel.accounts) {
      inspect(access, base + ".accounts." + accountId, channel.access.allowFrom);
    }
  }
  if (cfg.channels.defaultGroupPolicy && *cfg.channels.defaultGroupPolicy == "open") {
    openPolicies.push_back("channels.defaults.groupPolicy");
  }
  if (openPolicies.empty()) return;
  std::string policies;
  for (const auto& p : openPolicies) policies += "\n- " + p;
  std::string contexts;
  for (const auto& agent : cfg.agents.entries) {
    contexts += fmt::format(
        "\n- agents.entries.{} (sandbox=off; runtime=[off]; fs=[read, write, edit]; fs.workspaceOnly=true)", agent.id);
  }
  out.push_back(Finding{"security.exposure.open_groups_with_runtime_or_fs", FindingSeverity::kWarn,
                        "Open group/DM policy with runtime/filesystem tools exposed",
                        "Found inbound policy=\"open\" at:" + policies + "\nRisky tool exposure contexts:" + contexts +
                            "\nPrompt injection in open conversations can trigger file actions in these contexts "
                            "(Talon has no sandbox; its file tools stay inside each agent's workspace).",
                        "Set each listed group/DM policy to \"allowlist\" or \"pairing\"; keep agents that must "
                        "face open conversations on workspaces holding nothing they should not change."});
}

/// Agents bound to a group or channel peer (`bindings[].match.peer.kind` "group"/"channel"), which all
/// have Talon's file-write tools (write, edit) and run without a sandbox (Talon has none):
/// `security.exposure.group_agent_tools_unsandboxed` (Talon-only id; OpenClaw's nearest check is
/// security.exposure.open_groups_with_runtime_or_fs, which needs an open policy), warn.
void auditGroupFacingAgents(const config::TalonConfig& cfg, std::vector<Finding>& out) {
  std::vector<std::string> lines;
  for (const auto& b : cfg.bindings) {
    if (!b.match.peer || (b.match.peer->kind != "group" && b.match.peer->kind != "channel")) continue;
    lines.push_back(fmt::format("bindings[{}]: agent \"{}\" ← {} {} {} (sandbox=off; fs=[read, write, edit])", b.index,
                                b.agentId, b.match.channel, b.match.peer->kind, b.match.peer->id));
  }
  if (lines.empty()) return;
  std::string detail = "Agents answer group conversations with file-write tools and no sandbox:";
  for (const auto& l : lines) detail += "\n- " + l;
  out.push_back(Finding{"security.exposure.group_agent_tools_unsandboxed", FindingSeverity::kWarn,
                        "Group-facing agent with file-write tools and no sandbox", detail,
                        "Bind groups to an agent whose workspace holds nothing a group member should be able to "
                        "change, keep the groups on groupPolicy \"allowlist\" with requireMention, and restrict "
                        "groupAllowFrom to trusted senders."});
}

/// Trusted-proxy auth (OpenClaw's ids and wording, dist/audit-*.mjs; gateway.trusted_proxy_no_proxies
/// and gateway.trusted_proxy_no_user_header cannot occur: config validation refuses those configs; nor
/// can the deviceAutoApprove findings, as Talon refuses deviceAutoApprove.enabled) and identityScopes
/// grants of operator.admin (Talon-only: OpenClaw has no such check).
void auditTrustedProxy(const config::GatewayAuthConfig& auth, std::vector<Finding>& out) {
  auto add = [&](std::string id, FindingSeverity s, std::string title, std::string detail, std::string fix) {
    out.push_back(Finding{std::move(id), s, std::move(title), std::move(detail), std::move(fix)});
  };
  if (auth.mode == "trusted-proxy") {
    add("gateway.trusted_proxy_auth", FindingSeverity::kCritical, "Trusted-proxy auth mode enabled",
        "gateway.auth.mode=\"trusted-proxy\" delegates authentication to a reverse proxy. Ensure your proxy "
        "handles auth correctly and that gateway.trustedProxies only contains IPs of your actual proxy servers.",
        "verify that the proxy terminates TLS and authenticates users, that gateway.trustedProxies lists only its "
        "addresses, and that direct access to the gateway port is blocked (docs/gateway.md \"Trusted-proxy "
        "auth\")");
    const bool allowLoopback = auth.trustedProxy && auth.trustedProxy->allowLoopback;
    if (allowLoopback) {
      add("gateway.trusted_proxy_allow_loopback", FindingSeverity::kWarn,
          "Trusted-proxy auth allows loopback proxy sources",
          "gateway.auth.trustedProxy.allowLoopback=true allows loopback-source requests from configured "
          "gateway.trustedProxies entries to satisfy trusted-proxy auth: any local process can claim any user.",
          "enable this only when a same-host reverse proxy is the intended trust boundary; keep direct gateway "
          "access private to the host and make the proxy strip or overwrite identity headers");
    }
    if (!auth.trustedProxy || auth.trustedProxy->allowUsers.empty()) {
      add("gateway.trusted_proxy_no_allowlist", FindingSeverity::kWarn,
          "Trusted-proxy auth allows all authenticated users",
          "gateway.auth.trustedProxy.allowUsers is empty, so any user authenticated by your proxy can access the "
          "gateway.",
          "set gateway.auth.trustedProxy.allowUsers to the users who may connect");
    }
  }
  std::vector<std::string> admins;
  for (const auto& [identity, scopes] : auth.identityScopes) {
    if (std::find(scopes.begin(), scopes.end(), "operator.admin") != scopes.end()) admins.push_back(identity);
  }
  if (!admins.empty()) {
    std::string list;
    for (const auto& a : admins) list += (list.empty() ? "" : ", ") + a;
    add("gateway.identity_scopes_admin", FindingSeverity::kWarn, "Identity scope grants give full admin",
        fmt::format("gateway.auth.identityScopes grants operator.admin to {} identit{}: {}", admins.size(),
                    admins.size() == 1 ? "y" : "ies", list),
        "grant operator.admin only to the few identities that need it; whoever controls the proxy's user header "
        "for them is a full administrator");
  }
}

}  // namespace

std::string_view findingSeverityName(FindingSeverity severity) {
  switch (severity) {
    case FindingSeverity::kInfo:
      return "info";
    case FindingSeverity::kWarn:
      return "warn";
    case FindingSeverity::kCritical:
      return "critical";
  }
  return "warn";
}

json::object Finding::toJson() const {
  return {{"id", id},
          {"severity", findingSeverityName(severity)},
          {"title", title},
          {"detail", detail},
          {"remediation", remediation}};
}

std::vector<Finding> auditSecurity(const SecurityAuditInput& in) {
  std::vector<Finding> out;
  auto add = [&](std::string id, FindingSeverity s, std::string title, std::string detail, std::string fix) {
    out.push_back(Finding{std::move(id), s, std::move(title), std::move(detail), std::move(fix)});
  };
  const config::GatewayConfig& g = in.config->gateway;
  const bool exposed = config::bindsBeyondLoopback(g);

  if (exposed && g.auth.mode == "none") {
    add("gateway.bind_no_auth", FindingSeverity::kCritical, "Remote bind without shared secret",
        fmt::format("gateway.bind is \"{}\" and gateway.auth.mode is \"none\"", g.bind),
        "set gateway.auth.mode to \"token\" (with a generated token) or bind \"loopback\"");
  }
  for (std::string_view kind : {"token", "password"}) {
    // Trusted-proxy mode's optional password lets direct local callers in: it is checked as well.
    if (g.auth.mode != kind && !(kind == "password" && g.auth.mode == "trusted-proxy")) continue;
    const std::string& secret = kind == "token" ? g.auth.token : g.auth.password;
    if (secret.empty()) continue;  // not configured (a token is generated) or unresolved
    if (auto known = config::knownWeakSecretReason(secret)) {
      add(fmt::format("gateway.{}_placeholder_value", kind), FindingSeverity::kCritical,
          fmt::format("Gateway {} is a known non-secret value", kind), fmt::format("gateway.auth.{}: {}", kind, *known),
          "generate a secret with `openssl rand -hex 32`");
    } else if (auto weak = config::exposedSecretWeakness(secret)) {
      add(fmt::format("gateway.{}_too_short", kind), exposed ? FindingSeverity::kCritical : FindingSeverity::kWarn,
          fmt::format("Shared {} is easy to brute force", kind), fmt::format("gateway.auth.{}: {}", kind, *weak),
          exposed ? "generate a secret with `openssl rand -hex 32` (the gateway refuses to start with this one)"
                  : "generate a secret with `openssl rand -hex 32` before binding beyond loopback");
    }
  }
  if (exposed && g.auth.rateLimit.maxAttempts > 100) {
    add("gateway.auth_no_rate_limit", FindingSeverity::kWarn, "Exposed auth with a lax failed-auth limit",
        fmt::format("gateway.auth.rateLimit.maxAttempts is {}", g.auth.rateLimit.maxAttempts),
        "keep gateway.auth.rateLimit.maxAttempts at OpenClaw's default of 10");
  }
  if (g.allowRealIpFallback && !g.trustedProxies.empty()) {
    add("gateway.real_ip_fallback_enabled", FindingSeverity::kWarn, "X-Real-IP is trusted as a fallback",
        "gateway.allowRealIpFallback is true",
        "make every trusted proxy set X-Forwarded-For and turn gateway.allowRealIpFallback off");
  }
  auditTrustedProxy(g.auth, out);
  if (exposed && g.trustedProxies.empty()) {
    add("gateway.trusted_proxies_missing", FindingSeverity::kInfo, "No trusted proxies configured",
        fmt::format("gateway.bind is \"{}\" and gateway.trustedProxies is empty", g.bind),
        "behind a reverse proxy, list it in gateway.trustedProxies so clients are told apart (rate limit, "
        "audit); otherwise ignore");
  }

  // The hooks ingress (OpenClaw collectHooksHardeningFindings, dist/audit.nondeep.runtime-*.mjs).
  if (const config::HooksConfig& h = in.config->hooks; h.enabled) {
    if (!h.token.empty() && h.token.size() < 24) {
      add("hooks.token_too_short", FindingSeverity::kWarn, "Hooks token looks short",
          fmt::format("hooks.token is {} chars; prefer a long random token.", h.token.size()),
          "generate one with `openssl rand -hex 32`");
    }
    const bool tokenReuse = g.auth.mode == "token" && !g.auth.token.empty() && h.token == g.auth.token;
    const bool passwordReuse = g.auth.mode == "password" && !g.auth.password.empty() && h.token == g.auth.password;
    if (!h.token.empty() && (tokenReuse || passwordReuse)) {
      add("hooks.token_reuse_gateway_token", FindingSeverity::kCritical,
          tokenReuse ? "Hooks token reuses the Gateway token" : "Hooks token reuses the Gateway password",
          tokenReuse ? "hooks.token matches gateway.auth token; compromise of hooks expands blast radius to the "
                       "Gateway API."
                     : "hooks.token matches gateway.auth password; compromise of hooks expands blast radius to "
                       "Gateway password auth.",
          "set a distinct hooks.token, then update the external hook senders");
    }
    const FindingSeverity exposure = exposed ? FindingSeverity::kCritical : FindingSeverity::kWarn;
    if (h.defaultSessionKey.empty()) {
      add("hooks.default_session_key_unset", FindingSeverity::kWarn, "hooks.defaultSessionKey is not configured",
          "Hook agent runs without explicit sessionKey use generated per-request keys. Set hooks.defaultSessionKey "
          "to keep hook ingress scoped to a known session.",
          "Set hooks.defaultSessionKey (for example, \"hook:ingress\").");
    }
    if (!h.allowedAgentIds) {
      add("hooks.allowed_agent_ids_unrestricted", exposure, "Hook agent routing allows any configured agent",
          "hooks.allowedAgentIds is unset or includes '*', so authenticated hook callers may route to any configured "
          "agent id, including the default agent when agentId is omitted.",
          "Set hooks.allowedAgentIds to an explicit allowlist (for example, [\"hooks\", \"main\"]) or [] to deny "
          "hook agent routing.");
    }
    if (h.allowRequestSessionKey) {
      add("hooks.request_session_key_enabled", exposure, "External hook payloads may override sessionKey",
          "hooks.allowRequestSessionKey=true allows `/hooks/agent` callers to choose the session key. Treat hook "
          "token holders as full-trust unless you also restrict prefixes.",
          "Set hooks.allowRequestSessionKey=false (recommended) or constrain hooks.allowedSessionKeyPrefixes.");
      if (h.allowedSessionKeyPrefixes.empty()) {
        add("hooks.request_session_key_prefixes_missing", exposure,
            "Request sessionKey override is enabled without prefix restrictions",
            "hooks.allowRequestSessionKey=true and hooks.allowedSessionKeyPrefixes is unset/empty, so request "
            "payloads can target arbitrary session key shapes.",
            "Set hooks.allowedSessionKeyPrefixes (for example, [\"hook:\"]) or disable request overrides.");
      }
    }
  }

  // Channels: open DM/group policies, group-facing agents with file tools.
  auditOpenInbound(*in.config, out);
  auditGroupFacingAgents(*in.config, out);

  // Secrets written in the root file.
  if (!in.rawConfig.empty()) {
    if (auto doc = config::parseJson5(in.rawConfig)) {
      const json::value& root = doc->value;
      if (isLiteralSecret(literalAt(root, {"gateway", "auth", "token"}))) {
        add("config.secrets.gateway_token_in_config", FindingSeverity::kWarn, "Gateway token is stored in the config",
            "gateway.auth.token is a literal in " + in.configPath.string(),
            "use \"${GATEWAY_TOKEN}\" or a secret ref ({source: \"env\", provider: \"default\", id: \"...\"})");
      }
      if (isLiteralSecret(literalAt(root, {"gateway", "auth", "password"}))) {
        add("config.secrets.gateway_password_in_config", FindingSeverity::kWarn,
            "Gateway password is stored in the config",
            "gateway.auth.password is a literal in " + in.configPath.string(),
            "use \"${GATEWAY_PASSWORD}\" or a secret ref");
      }
      if (in.config->hooks.enabled && isLiteralSecret(literalAt(root, {"hooks", "token"}))) {
        add("config.secrets.hooks_token_in_config", FindingSeverity::kInfo, "Hooks token is stored in config",
            "hooks.token is a literal in " + in.configPath.string(), "use \"${HOOKS_TOKEN}\"");
      }
      const json::object* models = root.is_object() ? getObject(root.as_object(), "models") : nullptr;
      if (const json::object* providers = models ? getObject(*models, "providers") : nullptr) {
        for (const auto& kv : *providers) {
          if (isLiteralSecret(literalAt(kv.value(), {"apiKey"}))) {
            add("config.secrets.provider_api_key_in_config", FindingSeverity::kWarn,
                "Model provider API key is stored in the config",
                fmt::format("models.providers.{}.apiKey is a literal in {}",
                            std::string(kv.key().data(), kv.key().size()), in.configPath.string()),
                "use \"${PROVIDER_API_KEY}\" or a secret ref");
          }
        }
      }
    }
  }

  // Permissions.
  if (auto m = modeOf(in.stateDir)) {
    std::string where = in.stateDir.string() + " is " + octal(*m);
    if (*m & S_IWOTH) {
      add("fs.state_dir.perms_world_writable", FindingSeverity::kCritical, "State dir is writable by others", where,
          "chmod 700 " + in.stateDir.string());
    } else if (*m & S_IWGRP) {
      add("fs.state_dir.perms_group_writable", FindingSeverity::kWarn, "State dir is writable by its group", where,
          "chmod 700 " + in.stateDir.string());
    }
    if (*m & (S_IRGRP | S_IROTH)) {
      add("fs.state_dir.perms_readable", FindingSeverity::kWarn, "State dir is readable by others", where,
          "chmod 700 " + in.stateDir.string());
    }
    for (const auto& f : {in.stateDir / "gateway.token", in.stateDir / "state" / "talon.sqlite"}) {
      if (auto fm = modeOf(f); fm && (*fm & (S_IRGRP | S_IROTH))) {
        add("fs.state_file.perms_readable", FindingSeverity::kWarn, "A state file is readable by others",
            f.string() + " is " + octal(*fm), "chmod 600 " + f.string());
      }
    }
  }
  if (auto m = modeOf(in.configPath)) {
    std::string where = in.configPath.string() + " is " + octal(*m);
    if (*m & (S_IWGRP | S_IWOTH)) {
      add("fs.config.perms_writable", FindingSeverity::kCritical, "Others can change the config", where,
          "chmod 600 " + in.configPath.string());
    }
    if (*m & S_IROTH) {
      add("fs.config.perms_world_readable", FindingSeverity::kCritical, "Config is readable by everyone", where,
          "chmod 600 " + in.configPath.string());
    } else if (*m & S_IRGRP) {
      add("fs.config.perms_group_readable", FindingSeverity::kWarn, "Config is readable by its group", where,
          "chmod 600 " + in.configPath.string());
    }
  }
  return out;
}

}  // namespace talon::security
