// `auth`: model credential profiles and their rotation order (OpenClaw docs/gateway/config-secrets-env.md
// "Auth storage", docs/concepts/model-failover.md "Auth storage" and "Rotation order"; dist zod-schema
// `auth: strictObject({profiles: record(strictObject({provider, mode, email?, displayName?})), order:
// record(array(string))})`). OpenClaw keeps each profile's credential in its per-agent SQLite store; Talon
// has no such store, so the credential is the Talon-only `apiKey` (mode "api_key") or `token` (mode
// "token") of the profile, a SecretInput. An api_key profile without `apiKey` uses its provider's own key.
// Modes "oauth" and "aws-sdk" need a login flow Talon does not have: reported as not supported yet.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kModes[] = {"api_key", "token", "oauth", "aws-sdk"};
constexpr std::string_view kModesUnsupported[] = {"oauth", "aws-sdk"};

std::string lowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void readProfile(ConfigReader& r, const ConfigNode& node, std::string_view id, const json::value& value,
                 AuthConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  AuthProfileConfig p;
  p.id = std::string(id);
  std::optional<ConfigNode> secretNode;
  std::string secretKey;
  auto readSecret = [&](std::string_view key) {
    return [&, key](const ConfigNode& c, const json::value& x) {
      SecretInput s = r.secret(c, x);
      p.hasSecret = s.present;
      p.secret = s.value;
      p.unavailable = s.unavailable;
      p.secretRef = s.ref;
      secretNode = c;
      secretKey = std::string(key);
    };
  };
  r.readObject(node, *o,
               {
                   {"provider",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x, /*nonEmpty=*/true)) p.provider = lowerCase(*s);
                    }},
                   {"mode",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.enumeration(c, x, kModes, kModesUnsupported)) p.mode = *s;
                    }},
                   {"email",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x)) p.email = *s;
                    }},
                   {"displayName",
                    [&](const ConfigNode& c, const json::value& x) {
                      if (auto s = r.string(c, x)) p.displayName = *s;
                    }},
                   {"apiKey", readSecret("apiKey")},
                   {"token", readSecret("token")},
               });
  r.require(node, *o, "provider", "string");
  r.require(node, *o, "mode", R"("api_key" | "aws-sdk" | "oauth" | "token")");
  if (secretNode && !p.mode.empty()) {
    const bool fits = (p.mode == "api_key" && secretKey == "apiKey") || (p.mode == "token" && secretKey == "token");
    if (!fits) {
      r.error(*secretNode, DiagnosticCode::kValue,
              fmt::format("{} does not apply to mode {} (api_key profiles take apiKey, token profiles token)",
                          secretKey, r.quoted(p.mode)));
    }
  }
  if (p.mode == "token" && !p.hasSecret) {
    r.error(node, DiagnosticCode::kValue,
            "a token profile needs `token` in Talon (Talon has no stored credentials; OpenClaw keeps them in its "
            "per-agent auth store)");
  }
  out.profiles.push_back(std::move(p));
}

void readAuth(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  AuthConfig& out = config.auth;
  std::vector<std::pair<ConfigNode, std::string>> orderNodes;  // (entry node, provider)
  r.readObject(node, value,
               {
                   {"profiles",
                    [&](const ConfigNode& c, const json::value& x) {
                      const json::object* m = r.object(c, x);
                      if (m == nullptr) return;
                      for (const auto& kv : *m) {
                        std::string_view id(kv.key().data(), kv.key().size());
                        readProfile(r, r.child(c, id, "*"), id, kv.value(), out);
                      }
                    }},
                   {"order",
                    [&](const ConfigNode& c, const json::value& x) {
                      const json::object* m = r.object(c, x);
                      if (m == nullptr) return;
                      for (const auto& kv : *m) {
                        std::string_view provider(kv.key().data(), kv.key().size());
                        ConfigNode pn = r.child(c, provider, "*");
                        auto ids = r.stringArray(pn, kv.value());
                        if (!ids) continue;
                        std::string key = lowerCase(std::string(provider));
                        for (std::size_t i = 0; i < ids->size(); ++i) orderNodes.emplace_back(r.item(pn, i), key);
                        auto& list = out.order[key];
                        list.insert(list.end(), ids->begin(), ids->end());
                      }
                    }},
               });
  // Every id of an order names a profile of that provider.
  std::map<std::string, std::size_t> seen;  // per provider: entries checked so far
  for (const auto& [n, provider] : orderNodes) {
    const std::string& id = out.order[provider][seen[provider]++];
    auto it =
        std::find_if(out.profiles.begin(), out.profiles.end(), [&](const AuthProfileConfig& p) { return p.id == id; });
    if (it == out.profiles.end()) {
      r.warning(n, DiagnosticCode::kValue,
                fmt::format("auth profile {} is not in auth.profiles: Talon has no stored profiles, so it is skipped",
                            r.quoted(id)));
    } else if (!it->provider.empty() && it->provider != provider) {
      r.error(n, DiagnosticCode::kValue,
              fmt::format("auth profile {} belongs to provider {}, not {}", r.quoted(id), r.quoted(it->provider),
                          r.quoted(provider)));
    }
  }
}

}  // namespace

extern const ConfigSection kAuthSection;
const ConfigSection kAuthSection{"auth", readAuth};

}  // namespace talon::config
