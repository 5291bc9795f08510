// `secrets`: secret providers and defaults (OpenClaw docs/gateway/secrets/secretref-contract.md,
// "Provider config"). `secrets.providers.<alias>{source, ...}` says how refs naming `alias` are read;
// `secrets.defaults.{env,file,exec,store}` names the default alias per source. The values are read by
// security/secret_resolver.h; this section only checks the shapes. `pluginIntegration` and
// `egressProxy` are OpenClaw keys Talon does not implement (reported as not supported yet).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "config/config_sections.h"

namespace talon::config {

namespace {

constexpr std::string_view kSources[] = {"env", "file", "exec", "store"};
constexpr std::string_view kFileModes[] = {"json", "singleValue"};
constexpr int64_t kMaxTimeoutMs = 120000;
constexpr int64_t kMaxBytesLimit = 20 * 1024 * 1024;

bool isAlias(std::string_view p) {
  if (p.empty() || p.size() > 64 || !(p[0] >= 'a' && p[0] <= 'z')) return false;
  return std::all_of(p.begin(), p.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

// The keys each source accepts besides `source`.
bool keyApplies(std::string_view source, std::string_view key) {
  static const std::set<std::string_view> kFile = {"path", "mode", "timeoutMs", "maxBytes"};
  static const std::set<std::string_view> kExec = {"command",    "args",      "passEnv",           "env",
                                                   "jsonOnly",   "timeoutMs", "noOutputTimeoutMs", "maxOutputBytes",
                                                   "trustedDirs"};
  if (source == "env") return key == "allowlist";
  if (source == "file") return kFile.count(key) > 0;
  if (source == "exec") return kExec.count(key) > 0;
  return false;  // store: no settings
}

void readProvider(ConfigReader& r, const ConfigNode& node, std::string_view alias, const json::value& value,
                  SecretsConfig& out) {
  const json::object* o = r.object(node, value);
  if (o == nullptr) return;
  SecretProviderConfig p;
  p.alias = std::string(alias);
  std::vector<std::pair<std::string, ConfigNode>> keys;
  auto seen = [&](const ConfigNode& c) { keys.emplace_back(c.path.substr(c.path.rfind('.') + 1), c); };
  auto timeout = [&](const ConfigNode& c, const json::value& x, int64_t& into) {
    seen(c);
    if (auto i = r.integer(c, x, 1, kMaxTimeoutMs, "1..120000")) into = *i;
  };
  auto bytes = [&](const ConfigNode& c, const json::value& x, int64_t& into) {
    seen(c);
    if (auto i = r.integer(c, x, 1, kMaxBytesLimit, "1..20971520")) into = *i;
  };
  r.readObject(
      node, *o,
      {
          {"source",
           [&](const ConfigNode& c, const json::value& x) {
             if (auto s = r.enumeration(c, x, kSources)) p.source = *s;
           }},
          {"allowlist",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             p.allowlist = r.stringArray(c, x);
           }},
          {"path",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto s = r.string(c, x, /*nonEmpty=*/true)) p.path = *s;
           }},
          {"mode",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto s = r.enumeration(c, x, kFileModes)) p.mode = *s;
           }},
          {"timeoutMs", [&](const ConfigNode& c, const json::value& x) { timeout(c, x, p.timeoutMs); }},
          {"maxBytes", [&](const ConfigNode& c, const json::value& x) { bytes(c, x, p.maxBytes); }},
          {"command",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             auto s = r.string(c, x, /*nonEmpty=*/true);
             if (s && s->front() != '/') {
               r.error(c, DiagnosticCode::kValue, fmt::format("expected an absolute path, got {}", r.quoted(*s)));
             } else if (s) {
               p.command = *s;
             }
           }},
          {"args",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto a = r.stringArray(c, x)) p.args = *a;
           }},
          {"passEnv",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto a = r.stringArray(c, x)) p.passEnv = *a;
           }},
          {"env",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto m = r.stringMap(c, x)) p.env = *m;
           }},
          {"trustedDirs",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto a = r.stringArray(c, x)) p.trustedDirs = *a;
           }},
          {"jsonOnly",
           [&](const ConfigNode& c, const json::value& x) {
             seen(c);
             if (auto b = r.boolean(c, x)) p.jsonOnly = *b;
           }},
          {"noOutputTimeoutMs",
           [&](const ConfigNode& c, const json::value& x) {
             int64_t v = 0;
             timeout(c, x, v);
             if (v > 0) p.noOutputTimeoutMs = v;
           }},
          {"maxOutputBytes", [&](const ConfigNode& c, const json::value& x) { bytes(c, x, p.maxOutputBytes); }},
      });
  if (!r.require(node, *o, "source", "\"env\" | \"file\" | \"exec\" | \"store\"") || p.source.empty()) return;
  for (const auto& [key, c] : keys) {
    if (!keyApplies(p.source, key)) {
      r.error(c, DiagnosticCode::kValue, fmt::format("\"{}\" does not apply to a \"{}\" provider", key, p.source));
    }
  }
  if (p.source == "file" && p.path.empty()) r.require(node, *o, "path", "non-empty string");
  if (p.source == "exec" && p.command.empty()) r.require(node, *o, "command", "absolute path");
  out.providers[p.alias] = std::move(p);
}

void readSecrets(ConfigReader& r, const ConfigNode& node, const json::value& value, TalonConfig& config) {
  SecretsConfig& out = config.secrets;
  r.readObject(node, value,
               {
                   {"providers",
                    [&](const ConfigNode& c, const json::value& x) {
                      const json::object* o = r.object(c, x);
                      if (o == nullptr) return;
                      for (const auto& kv : *o) {
                        std::string_view alias(kv.key().data(), kv.key().size());
                        ConfigNode pc = r.child(c, alias, "*");
                        if (!isAlias(alias)) {
                          r.error(pc, DiagnosticCode::kValue,
                                  fmt::format("expected a provider alias matching ^[a-z][a-z0-9_-]{{0,63}}$, got {}",
                                              r.quoted(alias)));
                          continue;
                        }
                        readProvider(r, pc, alias, kv.value(), out);
                      }
                    }},
                   {"defaults",
                    [&](const ConfigNode& c, const json::value& x) {
                      auto alias = [&](std::string& into) {
                        return [&](const ConfigNode& d, const json::value& y) {
                          auto s = r.string(d, y);
                          if (s && !isAlias(*s)) {
                            r.error(d, DiagnosticCode::kValue,
                                    fmt::format("expected a provider alias matching ^[a-z][a-z0-9_-]{{0,63}}$, got {}",
                                                r.quoted(*s)));
                          } else if (s) {
                            into = *s;
                          }
                        };
                      };
                      r.readObject(c, x,
                                   {{"env", alias(out.defaultEnv)},
                                    {"file", alias(out.defaultFile)},
                                    {"exec", alias(out.defaultExec)},
                                    {"store", alias(out.defaultStore)}});
                    }},
               });
}

}  // namespace

extern const ConfigSection kSecretsSection;
const ConfigSection kSecretsSection{"secrets", readSecrets};

}  // namespace talon::config
