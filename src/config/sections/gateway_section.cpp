// `gateway`: port, mode, bind, auth (with rateLimit, trustedProxy, identityScopes), trustedProxies,
// allowRealIpFallback, HTTP endpoints, limits, metrics, probes, controlUi (WebChat page and browser origins), reload
// mode, roles (OpenClaw docs/gateway/configuration.md, docs/gateway/config-gateway.md). Defaults (config_model.h
// GatewayConfig): port 18789, mode "local", bind "loopback", auth mode "token" (from the configured secret when the
// mode is not set), chat completions off.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "base/ip_cidr.h"
#include "config/alerts_config.h"
#include "config/config_sections.h"
#include "config/config_validator.h"
#include "config/gateway_exposure.h"

namespace talon::config {

namespace {

constexpr std::string_view kGatewayModes[] = {"local", "remote"};
constexpr std::string_view kGatewayModesUnsupported[] = {"remote"};
constexpr std::string_view kBindValues[] = {"auto", "lan", "loopback", "custom", "tailnet"};
constexpr std::string_view kBindUnsupported[] = {"tailnet"};
constexpr std::string_view kAuthModes[] = {"none", "token", "password", "trusted-proxy"};
// OpenClaw accepts only these (docs/gateway/configuration/hot-reload.md); legacy "hot"/"restart" are
// errors there too until `doctor --fix` maps them.
constexpr std::string_view kReloadModes[] = {"hybrid", "off"};

std::string trimmedText(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// `gateway.http`: only endpoints.chatCompletions.enabled so far.
void readHttp(ConfigReader& r, const ConfigNode& node, const json::value& value, GatewayConfig& out) {
  r.readObject(node, value,
               {{"endpoints", [&](const ConfigNode& e, const json::value& endpoints) {
                   r.readObject(e, endpoints,
                                {{"chatCompletions", [&](const ConfigNode& c, const json::value& cc) {
                                    r.readObject(c, cc, {{"enabled", [&](const ConfigNode& en, const json::value& b) {
                                                            if (auto on = r.boolean(en, b)) {
                                                              out.chatCompletionsEnabled = *on;
                                                            }
                                                          }}});
                                  }}});
                 }}});
}

// A browser origin as OpenClaw's parseOrigin accepts it: scheme "://" host[:port], nothing after but
// an optional '/' (dist/origin-check-*.mjs). Returns it lower-cased without the trailing '/'.
std::optional<std::string> normaliseOrigin(std::string_view raw) {
  std::string v(raw);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(v.begin());
  if (v == "*") return v;
  auto sep = v.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  if (!std::isalpha(static_cast<unsigned char>(v[0]))) return std::nullopt;
  for (std::size_t i = 1; i < sep; ++i) {
    char c = v[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '-') return std::nullopt;
  }
  if (v.size() > sep + 3 && v.back() == '/') v.pop_back();
  std::string_view host = std::string_view(v).substr(sep + 3);
  if (host.empty() || host.find_first_of("/?#\\@") != std::string_view::npos) return std::nullopt;
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

// `gateway.controlUi` (OpenClaw docs/web/control-ui.md): enabled, basePath, allowedOrigins,
// dangerouslyAllowHostHeaderOriginFallback. Its other OpenClaw keys are reported as not supported yet.
void readControlUi(ConfigReader& r, const ConfigNode& node, const json::value& value, ControlUiConfig& out) {
  r.readObject(
      node, value,
      {{"enabled",
        [&](const ConfigNode& c, const json::value& x) {
          if (auto b = r.boolean(c, x)) out.enabled = *b;
        }},
       {"basePath",
        [&](const ConfigNode& c, const json::value& x) {
          auto p = r.string(c, x);
          if (!p) return;
          // OpenClaw normalizeControlUiBasePath: trimmed, "" or "/" is none, a leading '/' added, one
          // trailing '/' dropped.
          std::string v = *p;
          while (!v.empty() && v.back() == ' ') v.pop_back();
          while (!v.empty() && v.front() == ' ') v.erase(v.begin());
          if (v.empty() || v == "/") return;
          if (v.front() != '/') v.insert(v.begin(), '/');
          if (v.back() == '/') v.pop_back();
          if (v.find_first_of("?#\\ ") != std::string::npos || v.find("//") != std::string::npos) {
            r.error(c, DiagnosticCode::kValue,
                    fmt::format("{}: expected a URL path prefix such as \"/talon\"", ConfigReader::quoted(*p)));
            return;
          }
          out.basePath = v;
        }},
       {"allowedOrigins",
        [&](const ConfigNode& c, const json::value& x) {
          const json::array* a = r.array(c, x, "array of origins");
          if (a == nullptr) return;
          for (std::size_t i = 0; i < a->size(); ++i) {
            ConfigNode item = r.item(c, i);
            auto entry = r.string(item, (*a)[i], true);
            if (!entry) continue;
            auto origin = normaliseOrigin(*entry);
            if (!origin) {
              r.error(item, DiagnosticCode::kValue,
                      fmt::format("{}: expected an origin (scheme://host[:port], e.g. \"https://chat.example.com\") "
                                  "or \"*\"",
                                  ConfigReader::quoted(*entry)));
              continue;
            }
            out.allowedOrigins.push_back(*origin);
          }
        }},
       {"dangerouslyAllowHostHeaderOriginFallback", [&](const ConfigNode& c, const json::value& x) {
          if (auto b = r.boolean(c, x)) out.allowHostHeaderOriginFallback = *b;
        }}});
}

// `gateway.auth.rateLimit` (OpenClaw's keys and defaults: config_model.h AuthRateLimitConfig).
void readRateLimit(ConfigReader& r, const ConfigNode& node, const json::value& value, AuthRateLimitConfig& out) {
  constexpr int64_t kDay = 86'400'000;
  r.readObject(node, value,
               {{"maxAttempts",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 1, 1'000'000, "1..1000000")) out.maxAttempts = *n;
                 }},
                {"windowMs",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 1, kDay, "1..86400000 (ms)")) out.windowMs = *n;
                 }},
                {"lockoutMs",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 0, kDay, "0..86400000 (ms)")) out.lockoutMs = *n;
                 }},
                {"exemptLoopback", [&](const ConfigNode& c, const json::value& x) {
                   if (auto b = r.boolean(c, x)) out.exemptLoopback = *b;
                 }}});
}

// The closed operator scope set of `gateway.roles.definitions.*.scopes` (OpenClaw dist/zod-schema-*.mjs
// OperatorScopeSchema; the same names as protocol/scopes.h, which config may not include:
// security/operator_roles_test.cpp checks the two lists agree).
constexpr std::string_view kOperatorScopeNames[] = {
    "operator.admin",     "operator.read",      "operator.write",   "operator.sessions.read", "operator.sessions.write",
    "operator.approvals", "operator.questions", "operator.pairing", "operator.talk",          "operator.talk.secrets"};
constexpr std::string_view kSessionsOthers[] = {"none", "view", "suggest", "write"};
// Talon has no per-person session ownership: every session is shared, which is "write".
constexpr std::string_view kSessionsOthersUnsupported[] = {"none", "view", "suggest"};
constexpr std::string_view kSandboxValues[] = {"inherit", "required"};
constexpr std::string_view kSandboxUnsupported[] = {"required"};
constexpr std::size_t kMaxRoleNameLength = 128;

// An array of operator scope names from the closed set (kOperatorScopeNames); an unknown name is an
// error at its item's path. Duplicates are dropped.
std::vector<std::string> readOperatorScopeList(ConfigReader& r, const ConfigNode& node, const json::value& value) {
  std::vector<std::string> scopes;
  const json::array* a = r.array(node, value, "array of operator scopes");
  if (a == nullptr) return scopes;
  for (std::size_t i = 0; i < a->size(); ++i) {
    ConfigNode item = r.item(node, i);
    auto scope = r.enumeration(item, (*a)[i], kOperatorScopeNames);
    if (scope && std::find(scopes.begin(), scopes.end(), *scope) == scopes.end()) scopes.push_back(*scope);
  }
  return scopes;
}

// `gateway.auth.trustedProxy` (OpenClaw docs/gateway/trusted-proxy-auth.md). `userHeader` is required
// only in mode "trusted-proxy" (checked by readGateway, which knows the mode). deviceAutoApprove is
// not implemented: `enabled: true` is refused rather than accepted and ignored.
void readTrustedProxy(ConfigReader& r, const ConfigNode& node, const json::value& value, TrustedProxyAuthConfig& out) {
  auto nonBlankList = [&](const ConfigNode& c, const json::value& x, std::vector<std::string>& into) {
    const json::array* a = r.array(c, x, "array of strings");
    if (a == nullptr) return;
    for (std::size_t i = 0; i < a->size(); ++i) {
      ConfigNode item = r.item(c, i);
      auto v = r.string(item, (*a)[i], true);
      if (!v) continue;
      std::string t = trimmedText(*v);
      if (t.empty()) {
        r.error(item, DiagnosticCode::kValue, "expected a non-blank string");
        continue;
      }
      into.push_back(std::move(t));
    }
  };
  r.readObject(
      node, value,
      {{"userHeader",
        [&](const ConfigNode& c, const json::value& x) {
          auto h = r.string(c, x);
          if (!h) return;
          out.userHeader = trimmedText(*h);
          if (out.userHeader.empty()) r.error(c, DiagnosticCode::kValue, "expected a header name (non-blank)");
        }},
       {"requiredHeaders", [&](const ConfigNode& c, const json::value& x) { nonBlankList(c, x, out.requiredHeaders); }},
       {"allowUsers", [&](const ConfigNode& c, const json::value& x) { nonBlankList(c, x, out.allowUsers); }},
       {"allowLoopback",
        [&](const ConfigNode& c, const json::value& x) {
          if (auto b = r.boolean(c, x)) out.allowLoopback = *b;
        }},
       {"deviceAutoApprove", [&](const ConfigNode& c, const json::value& x) {
          r.readObject(c, x,
                       {{"enabled",
                         [&](const ConfigNode& e, const json::value& y) {
                           auto b = r.boolean(e, y);
                           if (b && *b) {
                             r.error(e, DiagnosticCode::kValue,
                                     "automatic device approval (deviceAutoApprove.enabled: true) is not supported by "
                                     "Talon yet: approve devices with `talon devices approve`");
                           }
                         }},
                        {"scopes", [&](const ConfigNode& e, const json::value& y) {
                           out.deviceAutoApproveScopes = readOperatorScopeList(r, e, y);
                         }}});
        }}});
}

// `gateway.auth.identityScopes`: identity -> operator scopes (OpenClaw docs/gateway/operator-scopes.md
// "Identity scope grants"; unknown scope names fail validation).
void readIdentityScopes(ConfigReader& r, const ConfigNode& node, const json::value& value,
                        std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  for (const auto& entry : *o) {
    const std::string key(entry.key());
    ConfigNode c = r.child(node, key, "*");
    if (trimmedText(key).empty()) {
      r.error(c, DiagnosticCode::kValue, "expected a non-blank identity as the key");
      continue;
    }
    out.emplace_back(key, readOperatorScopeList(r, c, entry.value()));
  }
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// One role definition: `scopes`, `agents` and `sessions` are required (as in OpenClaw's strict
// schema); `sandbox` only as "inherit" (the default: the agent's own sandbox mode); `accessPolicyPlugin`
// is not supported yet (Talon has no plugins), reported by readObject.
void readRoleDefinition(ConfigReader& r, const ConfigNode& node, const json::value& value, OperatorRoleConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  r.require(node, *o, "scopes", "array of operator scopes");
  r.require(node, *o, "agents", "\"*\" or an array of agent ids");
  r.require(node, *o, "sessions", "object { others }");
  r.readObject(
      node, *o,
      {
          {"scopes",
           [&](const ConfigNode& c, const json::value& x) {
             const json::array* a = r.array(c, x, "array of operator scopes");
             if (a == nullptr) return;
             for (std::size_t i = 0; i < a->size(); ++i) {
               ConfigNode item = r.item(c, i);
               auto scope = r.enumeration(item, (*a)[i], kOperatorScopeNames);
               if (!scope) continue;
               if (std::find(out.scopes.begin(), out.scopes.end(), *scope) == out.scopes.end()) {
                 out.scopes.push_back(*scope);
               }
             }
           }},
          {"agents",
           [&](const ConfigNode& c, const json::value& x) {
             if (x.is_string() && x.get_string() == "*") {
               out.agents.reset();
               return;
             }
             const json::array* a = r.array(c, x, "\"*\" or an array of agent ids");
             if (a == nullptr) return;
             std::vector<std::string> agents;
             for (std::size_t i = 0; i < a->size(); ++i) {
               ConfigNode item = r.item(c, i);
               auto id = r.string(item, (*a)[i], true);
               if (!id) continue;
               // OpenClaw: trimmed, matched case-insensitively, then normalised (lower case).
               std::string t = trimmed(*id);
               for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
               if (!isValidAgentId(t)) {
                 r.error(item, DiagnosticCode::kValue,
                         fmt::format("invalid agent id {}: expected {}", ConfigReader::quoted(*id), kAgentIdPattern));
                 continue;
               }
               std::string normalized = normalizeAgentId(t);
               if (std::find(agents.begin(), agents.end(), normalized) == agents.end()) {
                 agents.push_back(std::move(normalized));
               }
             }
             out.agents = std::move(agents);
           }},
          {"sessions",
           [&](const ConfigNode& c, const json::value& x) {
             const json::object* so = r.object(c, x);
             if (so == nullptr) return;
             r.require(c, *so, "others", "one of \"none\", \"view\", \"suggest\", \"write\"");
             r.readObject(c, *so, {{"others", [&](const ConfigNode& oc, const json::value& y) {
                                      if (auto v = r.enumeration(oc, y, kSessionsOthers, kSessionsOthersUnsupported)) {
                                        out.sessionsOthers = *v;
                                      }
                                    }}});
           }},
          {"sandbox", [&](const ConfigNode& c,
                          const json::value& x) { (void)r.enumeration(c, x, kSandboxValues, kSandboxUnsupported); }},
      });
}

// `gateway.roles` (OpenClaw docs/gateway/operator-scopes.md "Named operator roles"): `default` and a
// non-empty `definitions` are required, and `default` names a definition.
constexpr std::string_view kProbeKinds[] = {"provider", "cron", "channel"};

/// `gateway.probes` (Talon-only; docs/probes.md): an array of {name, kind, model?, prompt?, channel?,
/// accountId?, to?, text?, expect?, intervalSeconds?, timeoutSeconds?, alertAfter?}; names unique, a
/// provider probe names its model, a channel probe its channel and peer (the channel and account are
/// checked against `channels` by config_validator.cpp, after every section was read).
void readProbes(ConfigReader& r, const ConfigNode& node, const json::value& value,
                std::vector<SyntheticProbeConfig>& out) {
  const json::array* a = r.array(node, value, "array of probes");
  if (a == nullptr) return;
  std::set<std::string> names;
  for (std::size_t i = 0; i < a->size(); ++i) {
    ConfigNode item = r.item(node, i);
    const json::object* o = r.object(item, (*a)[i]);
    if (o == nullptr) continue;
    SyntheticProbeConfig p;
    bool ok = r.require(item, *o, "name", "a probe name") &&
              r.require(item, *o, "kind", "\"provider\", \"cron\" or \"channel\"");
    auto text = [&](std::string_view key, std::string& into) {
      return ConfigReader::Field{key, [&r, &into, &ok](const ConfigNode& c, const json::value& x) {
                                   if (auto v = r.string(c, x, true)) {
                                     into = *v;
                                   } else {
                                     ok = false;
                                   }
                                 }};
    };
    r.readObject(item, *o,
                 {{"name",
                   [&](const ConfigNode& c, const json::value& x) {
                     auto v = r.string(c, x, true);
                     if (!v) return void(ok = false);
                     const bool valid = std::all_of(v->begin(), v->end(), [](char ch) {
                       return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
                     });
                     if (!valid) {
                       r.error(c, DiagnosticCode::kValue,
                               fmt::format("{}: expected letters, digits, '-', '_' or '.'", ConfigReader::quoted(*v)));
                       return void(ok = false);
                     }
                     if (!names.insert(*v).second) {
                       r.error(c, DiagnosticCode::kValue,
                               fmt::format("{}: another probe has this name", ConfigReader::quoted(*v)));
                       return void(ok = false);
                     }
                     p.name = *v;
                   }},
                  {"kind",
                   [&](const ConfigNode& c, const json::value& x) {
                     if (auto v = r.enumeration(c, x, kProbeKinds)) {
                       p.kind = *v;
                     } else {
                       ok = false;
                     }
                   }},
                  text("model", p.model),
                  text("prompt", p.prompt),
                  text("channel", p.channel),
                  text("accountId", p.accountId),
                  text("to", p.to),
                  text("text", p.text),
                  text("expect", p.expect),
                  {"intervalSeconds",
                   [&](const ConfigNode& c, const json::value& x) {
                     if (auto n = r.integer(c, x, 10, 86400, "10..86400 (seconds)")) {
                       p.intervalSeconds = *n;
                     } else {
                       ok = false;
                     }
                   }},
                  {"timeoutSeconds",
                   [&](const ConfigNode& c, const json::value& x) {
                     if (auto n = r.integer(c, x, 1, 600, "1..600 (seconds)")) {
                       p.timeoutSeconds = *n;
                     } else {
                       ok = false;
                     }
                   }},
                  {"alertAfter", [&](const ConfigNode& c, const json::value& x) {
                     if (auto n = r.integer(c, x, 1, 100, "1..100 (failed runs in a row)")) {
                       p.alertAfter = *n;
                     } else {
                       ok = false;
                     }
                   }}});
    if (!ok) continue;
    if (p.kind == "provider" && p.model.empty()) {
      r.error(r.child(item, "model"), DiagnosticCode::kValue,
              "required for a provider probe: expected the model to call, \"provider/model\"");
      continue;
    }
    if (p.kind == "provider" && p.model.find('/') == std::string::npos) {
      r.error(r.child(item, "model"), DiagnosticCode::kValue,
              fmt::format("{}: expected \"provider/model\"", ConfigReader::quoted(p.model)));
      continue;
    }
    if (p.kind != "provider" && !p.model.empty()) {
      r.error(r.child(item, "model"), DiagnosticCode::kValue,
              fmt::format("a {} probe calls no model: remove \"model\"", p.kind));
      continue;
    }
    if (p.kind == "channel") {
      if (!r.require(item, *o, "channel", "the channel to probe, such as \"irc\"") ||
          !r.require(item, *o, "to", "the peer to ping: \"user:<id>\", \"group:<id>\" or \"channel:<id>\"")) {
        continue;
      }
    } else {
      bool channelKeys = false;
      for (std::string_view key : {"channel", "accountId", "to", "text", "expect"}) {
        if (o->contains(key)) {
          r.error(r.child(item, key), DiagnosticCode::kValue,
                  fmt::format("a {} probe sends on no channel: remove \"{}\"", p.kind, key));
          channelKeys = true;
        }
      }
      if (channelKeys) continue;
    }
    out.push_back(std::move(p));
  }
}

void readRoles(ConfigReader& r, const ConfigNode& node, const json::value& value, GatewayRolesConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  out.configured = true;
  r.require(node, *o, "default", "a role name");
  r.require(node, *o, "definitions", "object of role definitions");
  std::optional<ConfigNode> defaultNode;
  bool definitionsRead = false;
  r.readObject(node, *o,
               {
                   {"default",
                    [&](const ConfigNode& c, const json::value& x) {
                      defaultNode = c;
                      if (auto name = r.string(c, x)) out.defaultRole = trimmed(*name);
                    }},
                   {"definitions",
                    [&](const ConfigNode& c, const json::value& x) {
                      const json::object* d = r.object(c, x);
                      if (d == nullptr) return;
                      definitionsRead = true;
                      if (d->empty()) {
                        r.error(c, DiagnosticCode::kValue,
                                "gateway.roles.definitions must contain at least one role definition");
                      }
                      for (const auto& kv : *d) {
                        std::string_view key(kv.key().data(), kv.key().size());
                        ConfigNode dc = r.child(c, key, "*");
                        std::string name = trimmed(key);
                        if (name.empty() || name.size() > kMaxRoleNameLength) {
                          r.error(dc, DiagnosticCode::kValue,
                                  fmt::format("invalid role name {}: expected 1..{} characters",
                                              ConfigReader::quoted(key), kMaxRoleNameLength));
                          continue;
                        }
                        OperatorRoleConfig role;
                        readRoleDefinition(r, dc, kv.value(), role);
                        out.definitions[name] = std::move(role);
                      }
                    }},
               });
  if (defaultNode && definitionsRead && !out.defaultRole.empty() && !out.definitions.contains(out.defaultRole)) {
    r.error(*defaultNode, DiagnosticCode::kValue, "gateway.roles.default must name a configured role definition");
  } else if (defaultNode && out.defaultRole.empty()) {
    r.error(*defaultNode, DiagnosticCode::kValue, "expected a role name (1..128 characters)");
  }
}

/// What `talon gateway run` refuses, reported here so `talon config validate` reports it too: a
/// known weak secret (any bind); beyond loopback (gateway_exposure.h), auth mode "none" or a secret
/// weaker than exposedSecretWeakness() allows. Messages never contain the secret.
void checkExposure(ConfigReader& r, const ConfigNode& modeNode, const SecretInput* active, const GatewayConfig& out) {
  bool exposed = bindsBeyondLoopback(out);
  if (exposed && out.auth.mode == "none") {
    r.error(modeNode, DiagnosticCode::kValue,
            fmt::format("gateway.bind \"{}\" listens beyond loopback, where auth mode \"none\" is refused: set "
                        "gateway.auth.mode to \"token\" or \"password\" (or bind \"loopback\")",
                        out.bind));
  }
  if (active == nullptr || active->value.empty()) return;  // absent (a token is generated) or unresolved
  auto weakness = exposed ? exposedSecretWeakness(active->value) : knownWeakSecretReason(active->value);
  if (weakness) {
    r.error(active->node, DiagnosticCode::kValue,
            fmt::format("the gateway {} is too weak{}: {}; generate one with `openssl rand -hex 32`", out.auth.mode,
                        exposed ? fmt::format(" for gateway.bind \"{}\"", out.bind) : "", *weakness));
  }
}

/// Mode "trusted-proxy" needs gateway.trustedProxies and gateway.auth.trustedProxy.userHeader, and
/// refuses a shared token beside it (OpenClaw assertGatewayAuthConfigured: the two are mutually
/// exclusive). The trusted-proxy keys in another mode do nothing: a warning says so.
void checkTrustedProxyMode(ConfigReader& r, const ConfigNode& node, const ConfigNode& modeNode,
                           const std::optional<ConfigNode>& authNode, const std::optional<ConfigNode>& trustedProxyNode,
                           const std::optional<ConfigNode>& identityScopesNode, const SecretInput& token,
                           const SecretInput& password, const GatewayConfig& out) {
  if (out.auth.mode != "trusted-proxy") {
    if (trustedProxyNode) {
      r.warning(*trustedProxyNode, DiagnosticCode::kValue,
                fmt::format("has no effect: gateway.auth.mode is \"{}\", not \"trusted-proxy\"", out.auth.mode));
    }
    if (identityScopesNode) {
      r.warning(*identityScopesNode, DiagnosticCode::kValue,
                fmt::format("has no effect: identity grants need a verified identity (gateway.auth.mode "
                            "\"trusted-proxy\"), and gateway.auth.mode is \"{}\"",
                            out.auth.mode));
    }
    return;
  }
  if (out.trustedProxies.empty()) {
    r.error(r.child(node, "trustedProxies"), DiagnosticCode::kValue,
            "required when gateway.auth.mode is \"trusted-proxy\": list the reverse proxy's address(es)");
  }
  if (!out.auth.trustedProxy) {
    r.error(authNode ? r.child(*authNode, "trustedProxy") : modeNode, DiagnosticCode::kValue,
            "required when gateway.auth.mode is \"trusted-proxy\": set gateway.auth.trustedProxy.userHeader");
  } else if (out.auth.trustedProxy->userHeader.empty()) {
    r.error(r.child(*trustedProxyNode, "userHeader"), DiagnosticCode::kValue,
            "required when gateway.auth.mode is \"trusted-proxy\": the header carrying the authenticated user");
  }
  if (token.present) {
    r.error(token.node, DiagnosticCode::kValue,
            "gateway auth mode is trusted-proxy, but a shared token is also configured: remove gateway.auth.token "
            "(trusted-proxy and token auth are mutually exclusive)");
  }
  // The optional password lets direct local callers in (OpenClaw's local-direct password fallback); it
  // must be as strong as a password-mode one.
  if (!password.value.empty()) {
    bool exposed = bindsBeyondLoopback(out);
    auto weakness = exposed ? exposedSecretWeakness(password.value) : knownWeakSecretReason(password.value);
    if (weakness) {
      r.error(password.node, DiagnosticCode::kValue,
              fmt::format("the gateway password is too weak{}: {}; generate one with `openssl rand -hex 32`",
                          exposed ? fmt::format(" for gateway.bind \"{}\"", out.bind) : "", *weakness));
    }
  }
}

void readGateway(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  GatewayConfig& out = config.gateway;
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  std::optional<std::string> authMode;
  SecretInput token;
  SecretInput password;
  std::optional<ConfigNode> authNode;
  std::optional<ConfigNode> trustedProxyNode;
  std::optional<ConfigNode> identityScopesNode;
  r.readObject(
      node, *o,
      {
          {"port",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto p = r.integer(c, x, 1, 65535, "1..65535")) out.port = static_cast<int>(*p);
           }},
          {"mode",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto m = r.enumeration(c, x, kGatewayModes, kGatewayModesUnsupported)) out.mode = *m;
           }},
          {"bind",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.enumeration(c, x, kBindValues, kBindUnsupported)) out.bind = *b;
           }},
          {"customBindHost",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto h = r.string(c, x)) out.customBindHost = *h;
           }},
          {"auth",
           [&](const ConfigNode& c, const json::value& x) {
             authNode = c;
             r.readObject(
                 c, x,
                 {
                     {"mode",
                      [&](const ConfigNode& m, const json::value& y) { authMode = r.enumeration(m, y, kAuthModes); }},
                     {"token", [&](const ConfigNode& t, const json::value& y) { token = r.secret(t, y); }},
                     {"password", [&](const ConfigNode& p, const json::value& y) { password = r.secret(p, y); }},
                     {"rateLimit",
                      [&](const ConfigNode& rl, const json::value& y) { readRateLimit(r, rl, y, out.auth.rateLimit); }},
                     {"trustedProxy",
                      [&](const ConfigNode& tp, const json::value& y) {
                        trustedProxyNode = tp;
                        readTrustedProxy(r, tp, y, out.auth.trustedProxy.emplace());
                      }},
                     {"identityScopes",
                      [&](const ConfigNode& is, const json::value& y) {
                        identityScopesNode = is;
                        readIdentityScopes(r, is, y, out.auth.identityScopes);
                      }},
                 });
           }},
          {"trustedProxies",
           [&](const ConfigNode& c, const json::value& x) {
             const json::array* a = r.array(c, x, "array of IP addresses or CIDR ranges");
             if (a == nullptr) return;
             for (std::size_t i = 0; i < a->size(); ++i) {
               ConfigNode item = r.item(c, i);
               auto entry = r.string(item, (*a)[i], true);
               if (!entry) continue;
               if (!IpCidr::parse(*entry)) {
                 r.error(item, DiagnosticCode::kValue,
                         fmt::format("{}: expected an IP address or CIDR range (e.g. \"10.0.0.1\", \"10.0.0.0/8\")",
                                     ConfigReader::quoted(*entry)));
                 continue;
               }
               out.trustedProxies.push_back(*entry);
             }
           }},
          {"limits",
           [&](const ConfigNode& c, const json::value& x) {
             // Talon-only (OpenClaw has no message size key): docs/config.md.
             r.readObject(c, x, {{"maxMessageBytes", [&](const ConfigNode& m, const json::value& y) {
                                    if (auto n = r.integer(m, y, 1, int64_t{1} << 30, "1..1073741824 (bytes)")) {
                                      out.limits.maxMessageBytes = *n;
                                    }
                                  }}});
           }},
          {"idempotency",
           [&](const ConfigNode& c, const json::value& x) {
             // Talon-only (OpenClaw's dedupe TTL is a fixed 5 minutes in memory): docs/config.md.
             r.readObject(c, x, {{"ttlSeconds", [&](const ConfigNode& m, const json::value& y) {
                                    if (auto n = r.integer(m, y, 1, 30 * 86400, "1..2592000 (seconds)")) {
                                      out.idempotency.ttlSeconds = *n;
                                    }
                                  }}});
           }},
          {"channelHealth",
           [&](const ConfigNode& c, const json::value& x) {
             // Talon-only (OpenClaw retired its channel health knobs): docs/channels.md.
             r.readObject(c, x,
                          {{"checkIntervalSeconds",
                            [&](const ConfigNode& m, const json::value& y) {
                              if (auto n = r.integer(m, y, 1, 86400, "1..86400 (seconds)")) {
                                out.channelHealth.checkIntervalSeconds = *n;
                              }
                            }},
                           {"staleEventThresholdSeconds",
                            [&](const ConfigNode& m, const json::value& y) {
                              if (auto n = r.integer(m, y, 0, 30 * 86400, "0..2592000 (seconds)")) {
                                out.channelHealth.staleEventThresholdSeconds = *n;
                              }
                            }},
                           {"recovery", [&](const ConfigNode& m, const json::value& y) {
                              readChannelRecoveryConfig(r, m, y, out.channelHealth.recovery);
                            }}});
           }},
          // Talon-only: docs/alerts.md.
          {"alerts", [&](const ConfigNode& c, const json::value& x) { readAlertsConfig(r, c, x, out.alerts); }},
          {"metrics",
           [&](const ConfigNode& c, const json::value& x) {
             // Talon-only (OpenClaw serves no /metrics): docs/metrics.md.
             r.readObject(c, x, {{"allowUnauthenticatedLoopback", [&](const ConfigNode& m, const json::value& y) {
                                    if (auto b = r.boolean(m, y)) out.metrics.allowUnauthenticatedLoopback = *b;
                                  }}});
           }},
          {"probes", [&](const ConfigNode& c, const json::value& x) { readProbes(r, c, x, out.probes); }},
          {"allowRealIpFallback",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.boolean(c, x)) out.allowRealIpFallback = *b;
           }},
          {"http", [&](const ConfigNode& c, const json::value& x) { readHttp(r, c, x, out); }},
          {"controlUi", [&](const ConfigNode& c, const json::value& x) { readControlUi(r, c, x, out.controlUi); }},
          {"roles", [&](const ConfigNode& c, const json::value& x) { readRoles(r, c, x, out.roles); }},
          {"reload",
           [&](const ConfigNode& c, const json::value& x) {
             r.readObject(c, x, {{"mode", [&](const ConfigNode& m, const json::value& y) {
                                    if (auto v = r.enumeration(m, y, kReloadModes)) out.reloadMode = *v;
                                  }}});
           }},
      });
  if (out.bind == "custom" && out.customBindHost.empty()) {
    r.error(r.child(node, "customBindHost"), DiagnosticCode::kValue,
            "required when gateway.bind is \"custom\": expected the address to listen on");
  }
  // Auth mode: explicit, else from which secret is configured (OpenClaw: with both, it must be explicit).
  ConfigNode modeNode = authNode ? r.child(*authNode, "mode") : r.child(node, "auth");
  if (authMode) {
    out.auth.mode = *authMode;
  } else if (token.present && password.present) {
    r.error(modeNode, DiagnosticCode::kValue,
            "both gateway.auth.token and gateway.auth.password are set: set gateway.auth.mode explicitly");
  } else if (password.present) {
    out.auth.mode = "password";
  } else {
    out.auth.mode = "token";
  }
  out.auth.token = token.value;
  out.auth.password = password.value;
  out.auth.tokenRef = token.ref;
  out.auth.passwordRef = password.ref;
  // An unresolved secret of the active mode: `config validate` has warned (SecretInput, OpenClaw's
  // wording); the gateway refuses to start on it (requireGatewayAuthSecret), as OpenClaw fails startup
  // on an unresolved gateway auth ref.
  const SecretInput* active = out.auth.mode == "token" ? &token : out.auth.mode == "password" ? &password : nullptr;
  if (active != nullptr && active->present && !active->unavailable.empty()) {
    out.auth.secretUnavailable = active->unavailable;
    out.auth.secretPath = active->node.path;
  }
  checkExposure(r, modeNode, active, out);
  checkTrustedProxyMode(r, node, modeNode, authNode, trustedProxyNode, identityScopesNode, token, password, out);
}

}  // namespace

extern const ConfigSection kGatewaySection;
const ConfigSection kGatewaySection{"gateway", readGateway};

}  // namespace talon::config
