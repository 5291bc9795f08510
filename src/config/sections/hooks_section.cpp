// `hooks`: the generic HTTP ingress (OpenClaw docs/gateway/config-hooks.md; rules of OpenClaw 2026.9.6
// dist/hooks-*.mjs resolveHooksConfig and normalizeHookMapping). Implemented: enabled, token, path,
// allowedAgentIds, defaultSessionKey, allowRequestSessionKey, allowedSessionKeyPrefixes and mappings
// (id, match.path, match.source, action "agent", wakeMode "now", name, agentId, sessionKey, sessionMode,
// messageTemplate, timeoutSeconds). Every other OpenClaw key (gmail, presets, transformsDir, internal,
// a mapping's deliver/channel/to/model/thinking/forEach/transform/textTemplate/...) is reported as not
// supported yet by ConfigReader::readObject. `hooks.signing` is Talon's own (docs/webhooks.md).
#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "base/text.h"
#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kActions[] = {"agent", "wake"};
constexpr std::string_view kActionsUnsupported[] = {"wake"};
constexpr std::string_view kWakeModes[] = {"now", "next-heartbeat"};
constexpr std::string_view kWakeModesUnsupported[] = {"next-heartbeat"};
constexpr std::string_view kSessionModes[] = {"isolated", "persistent"};

std::string toLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// OpenClaw's normalizeHookMatchPath: trimmed, leading and trailing slashes removed.
std::string normalizeMatchPath(std::string_view raw) {
  std::string s = trimWhitespace(raw);
  auto b = s.find_first_not_of('/');
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of('/');
  return s.substr(b, e - b + 1);
}

/// True when `s` holds a `{{ ... }}` expression (OpenClaw's hasHookTemplateExpressions).
bool hasTemplate(std::string_view s) {
  static const std::regex kExpr(R"(\{\{\s*[^}]+\s*\}\})");
  return std::regex_search(s.begin(), s.end(), kExpr);
}

/// A secret that the hooks section holds as a plain string: a string or an env ref. File, exec and
/// store refs are not supported here (OpenClaw does not take SecretRef objects for hooks.token at all).
std::string readSecretString(ConfigReader& r, const ConfigNode& node, const json::value& value, bool& present) {
  SecretInput in = r.secret(node, value);
  present = in.present;
  if (in.ref) {
    r.error(node, DiagnosticCode::kValue,
            "a file, exec or store secret ref is not supported by Talon here yet: use a string or an env ref "
            "(\"${VAR}\")");
    return {};
  }
  return in.value;
}

void readMapping(ConfigReader& r, const ConfigNode& node, const json::value& value, std::size_t index,
                 HookMappingConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  auto text = [&](std::string& field, bool nonEmpty = false) {
    return [&r, &field, nonEmpty](const ConfigNode& c, const json::value& x) {
      if (auto s = r.string(c, x, nonEmpty)) field = *s;
    };
  };
  r.readObject(node, *o,
               {
                   {"id", text(out.id)},
                   {"match",
                    [&](const ConfigNode& c, const json::value& x) {
                      r.readObject(c, x,
                                   {{"path",
                                     [&](const ConfigNode& p, const json::value& y) {
                                       if (auto s = r.string(p, y)) out.matchPath = normalizeMatchPath(*s);
                                     }},
                                    {"source", [&](const ConfigNode& p, const json::value& y) {
                                       if (auto s = r.string(p, y)) out.matchSource = trimWhitespace(*s);
                                     }}});
                    }},
                   {"action",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto a = r.enumeration(c, x, kActions, kActionsUnsupported)) out.action = *a;
                    }},
                   {"wakeMode",
                    [&](const ConfigNode& c, const json::value& x) {
                      // "now" is what Talon does anyway (the run starts at once); "next-heartbeat" needs heartbeats.
                      r.enumeration(c, x, kWakeModes, kWakeModesUnsupported);
                    }},
                   {"name", text(out.name)},
                   {"agentId",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x)) out.agentId = trimWhitespace(*s);
                    }},
                   {"sessionKey", text(out.sessionKey)},
                   {"sessionMode",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto m = r.enumeration(c, x, kSessionModes)) out.sessionMode = *m;
                    }},
                   {"messageTemplate", text(out.messageTemplate)},
                   {"timeoutSeconds",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto n = r.integer(c, x, 1, kMaxSafeInteger, "> 0")) out.timeoutSeconds = *n;
                    }},
               });
  out.id = trimWhitespace(out.id);
  if (out.id.empty()) out.id = fmt::format("mapping-{}", index + 1);
}

void readSigning(ConfigReader& r, const ConfigNode& node, const json::value& value, HooksSigningConfig& out,
                 std::optional<ConfigNode>& secretNode) {
  // Talon-only (OpenClaw has no signature key for hooks): docs/webhooks.md.
  r.readObject(node, value,
               {{"secret",
                 [&](const ConfigNode& c, const json::value& x) {
                   bool present = false;
                   out.secret = readSecretString(r, c, x, present);
                   secretNode = c;
                 }},
                {"required",
                 [&](const ConfigNode& c, const json::value& x) {
                   if (auto b = r.boolean(c, x)) out.required = *b;
                 }},
                {"toleranceSeconds", [&](const ConfigNode& c, const json::value& x) {
                   if (auto n = r.integer(c, x, 1, 86'400, "1..86400 (s)")) out.toleranceSeconds = *n;
                 }}});
}

void readHooks(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  HooksConfig& out = config.hooks;
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  bool tokenPresent = false;
  std::optional<ConfigNode> signingSecretNode;
  std::optional<ConfigNode> defaultKeyNode;
  std::optional<ConfigNode> prefixesNode;
  r.readObject(
      node, *o,
      {
          {"enabled",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.boolean(c, x)) out.enabled = *b;
           }},
          {"token", [&](const ConfigNode& c,
                        const json::value& x) { out.token = trimWhitespace(readSecretString(r, c, x, tokenPresent)); }},
          {"path",
           [&](const ConfigNode& c, const json::value& x) {
             auto s = r.string(c, x);
             if (!s) return;
             std::string p = trimWhitespace(*s);
             if (p.empty()) return;  // OpenClaw: a blank path is the default
             if (p.front() != '/') p.insert(p.begin(), '/');
             while (p.size() > 1 && p.back() == '/') p.pop_back();
             if (p == "/") {
               r.error(c, DiagnosticCode::kValue, "hooks.path may not be '/'");
               return;
             }
             out.path = p;
           }},
          {"allowedAgentIds",
           [&](const ConfigNode& c, const json::value& x) {
             auto ids = r.stringArray(c, x);
             if (!ids) return;
             std::vector<std::string> list;
             bool any = false;
             for (const auto& id : *ids) {
               std::string t = trimWhitespace(id);
               if (t == "*") any = true;
               if (!t.empty()) list.push_back(toLowerAscii(t));
             }
             if (any) return;  // "*" allows every agent (as omitting the key)
             out.allowedAgentIds = std::move(list);
           }},
          {"defaultSessionKey",
           [&](const ConfigNode& c, const json::value& x) {
             defaultKeyNode = c;
             if (auto s = r.string(c, x)) out.defaultSessionKey = trimWhitespace(*s);
           }},
          {"allowRequestSessionKey",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto b = r.boolean(c, x)) out.allowRequestSessionKey = *b;
           }},
          {"allowedSessionKeyPrefixes",
           [&](const ConfigNode& c, const json::value& x) {
             prefixesNode = c;
             auto prefixes = r.stringArray(c, x);
             if (!prefixes) return;
             for (const auto& p : *prefixes) {
               std::string t = toLowerAscii(trimWhitespace(p));
               if (t.empty()) continue;
               if (std::find(out.allowedSessionKeyPrefixes.begin(), out.allowedSessionKeyPrefixes.end(), t) ==
                   out.allowedSessionKeyPrefixes.end()) {
                 out.allowedSessionKeyPrefixes.push_back(t);
               }
             }
           }},
          {"mappings",
           [&](const ConfigNode& c, const json::value& x) {
             const json::array* a = r.array(c, x, "array of hook mappings");
             if (a == nullptr) return;
             for (std::size_t i = 0; i < a->size(); ++i) {
               HookMappingConfig m;
               readMapping(r, r.item(c, i), (*a)[i], i, m);
               out.mappings.push_back(std::move(m));
             }
           }},
          {"signing",
           [&](const ConfigNode& c, const json::value& x) { readSigning(r, c, x, out.signing, signingSecretNode); }},
      });

  // OpenClaw's resolveHooksConfig refuses these at start; Talon reports them when the config loads.
  auto prefixAllows = [&](std::string_view key) {
    std::string k = toLowerAscii(key);
    return std::any_of(out.allowedSessionKeyPrefixes.begin(), out.allowedSessionKeyPrefixes.end(),
                       [&](const std::string& p) { return k.rfind(p, 0) == 0; });
  };
  bool restricted = !out.allowedSessionKeyPrefixes.empty();
  if (out.enabled && out.token.empty()) {
    r.error(r.child(node, "token"), DiagnosticCode::kValue, "hooks.enabled requires hooks.token");
  }
  if (restricted && !out.defaultSessionKey.empty() && !prefixAllows(out.defaultSessionKey)) {
    r.error(defaultKeyNode ? *defaultKeyNode : node, DiagnosticCode::kValue,
            "hooks.defaultSessionKey must match hooks.allowedSessionKeyPrefixes");
  }
  if (restricted && out.defaultSessionKey.empty() && !prefixAllows("hook:example")) {
    r.error(prefixesNode ? *prefixesNode : node, DiagnosticCode::kValue,
            "hooks.allowedSessionKeyPrefixes must include 'hook:' when hooks.defaultSessionKey is unset");
  }
  if (!restricted) {
    // OpenClaw: only mappings not shadowed by an earlier catch-all count.
    std::vector<const HookMappingConfig*> effective;
    for (const auto& m : out.mappings) {
      bool shadowed = std::any_of(effective.begin(), effective.end(), [&](const HookMappingConfig* e) {
        if (!e->matchPath.empty() && e->matchPath != m.matchPath) return false;
        return e->matchSource.empty() || e->matchSource == m.matchSource;
      });
      if (shadowed) continue;
      effective.push_back(&m);
      if (hasTemplate(m.sessionKey)) {
        r.error(node, DiagnosticCode::kValue,
                "hooks.allowedSessionKeyPrefixes is required when a hook mapping sessionKey uses templates, even "
                "if hooks.allowRequestSessionKey=true");
        break;
      }
    }
  }
  if (out.signing.required && out.signing.secret.empty()) {
    r.error(signingSecretNode ? *signingSecretNode : r.child(node, "signing"), DiagnosticCode::kValue,
            "hooks.signing.required needs hooks.signing.secret");
  }
}

}  // namespace

extern const ConfigSection kHooksSection;
const ConfigSection kHooksSection{"hooks", readHooks};

}  // namespace talon::config
