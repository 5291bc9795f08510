#include "config/config_validator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <span>

#include "config/openclaw_key_paths.h"

namespace talon::config {

bool isValidAgentId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto lowerDigitUnderscore = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; };
  if (!lowerDigitUnderscore(id[0])) return false;
  return std::all_of(id.begin() + 1, id.end(), [&](char c) { return lowerDigitUnderscore(c) || c == '-'; });
}

std::string normalizeAgentId(std::string_view id) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!id.empty() && isSpace(id.front())) id.remove_prefix(1);
  while (!id.empty() && isSpace(id.back())) id.remove_suffix(1);
  std::string out;
  bool inInvalidRun = false;
  for (char c : id) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool valid = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-';
    if (valid) {
      out += l;
      inInvalidRun = false;
    } else if (!inInvalidRun) {
      out += '-';
      inInvalidRun = true;
    }
  }
  std::size_t first = out.find_first_not_of('-');
  if (first == std::string::npos) return std::string(kDefaultAgentId);
  out.erase(0, first);
  out.erase(out.find_last_not_of('-') + 1);
  if (out.size() > 64) out.resize(64);
  return out.empty() ? std::string(kDefaultAgentId) : out;
}

TalonConfig defaultTalonConfig() {
  TalonConfig c;
  AgentEntryConfig main;
  main.id = std::string(kDefaultAgentId);
  c.agents.entries.push_back(std::move(main));
  return c;
}

namespace {

constexpr std::string_view kGatewayModes[] = {"local", "remote"};
constexpr std::string_view kGatewayModesUnsupported[] = {"remote"};
constexpr std::string_view kBindValues[] = {"auto", "lan", "loopback", "custom", "tailnet"};
constexpr std::string_view kBindUnsupported[] = {"tailnet"};
constexpr std::string_view kAuthModes[] = {"none", "token", "password", "trusted-proxy"};
constexpr std::string_view kAuthModesUnsupported[] = {"trusted-proxy"};
constexpr std::string_view kDmScopes[] = {"main", "per-peer", "per-channel-peer", "per-account-channel-peer"};
constexpr std::string_view kGroupScopes[] = {"main", "per-group"};
constexpr std::string_view kPeerKinds[] = {"direct", "group", "channel"};
constexpr std::string_view kBindingTypes[] = {"route", "acp"};
constexpr std::string_view kBindingTypesUnsupported[] = {"acp"};
constexpr std::string_view kProviderApis[] = {
    "openai-completions", "openai-responses",        "openai-chatgpt-responses",
    "anthropic-messages", "google-generative-ai",    "google-vertex",
    "github-copilot",     "bedrock-converse-stream", "ollama",
    "pi-messages",        "azure-openai-responses"};
/// The provider APIs Talon's providers implement (src/gateway/providers).
constexpr std::string_view kProviderApisSupported[] = {"openai-completions"};
constexpr std::string_view kSecretSources[] = {"env", "file", "exec", "store"};
constexpr std::string_view kSecretSourcesUnsupported[] = {"file", "exec", "store"};
/// Providers that may omit baseUrl (the provider implementation supplies its public endpoint), like
/// OpenClaw's bundled providers.
constexpr std::string_view kBundledProviders[] = {"openai", "anthropic", "ollama"};
constexpr int64_t kMaxSafeInteger = 9007199254740991;  // JavaScript Number.MAX_SAFE_INTEGER

template <std::size_t N>
bool contains(const std::string_view (&list)[N], std::string_view v) {
  return std::find(std::begin(list), std::end(list), v) != std::end(list);
}

std::string quoted(std::string_view s) { return json::serialize(json::value(json::string_view(s.data(), s.size()))); }

std::string quotedList(std::span<const std::string_view> list) {
  std::string out;
  for (std::string_view v : list) {
    if (!out.empty()) out += ", ";
    out += quoted(v);
  }
  return out;
}

bool isAsciiUpperIdChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// `^[A-Z][A-Z0-9_]{0,127}$`: env secret ref ids.
bool isEnvSecretId(std::string_view id) {
  if (id.empty() || id.size() > 128 || !(id[0] >= 'A' && id[0] <= 'Z')) return false;
  return std::all_of(id.begin(), id.end(), isAsciiUpperIdChar);
}

// `^[a-z][a-z0-9_-]{0,63}$`: secret provider aliases.
bool isSecretProviderAlias(std::string_view p) {
  if (p.empty() || p.size() > 64 || !(p[0] >= 'a' && p[0] <= 'z')) return false;
  return std::all_of(p.begin(), p.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

std::string trimmed(std::string_view s) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// OpenClaw parseEnvTemplateSecretRef: "${NAME}" or "$NAME" (NAME = [A-Z][A-Z0-9_]{0,127}) after trim.
std::optional<std::string> envTemplateSecretName(std::string_view value) {
  std::string t = trimmed(value);
  std::string_view s(t);
  if (s.size() >= 4 && s.substr(0, 2) == "${" && s.back() == '}') {
    std::string_view name = s.substr(2, s.size() - 3);
    if (isEnvSecretId(name)) return std::string(name);
    return std::nullopt;
  }
  if (s.size() >= 2 && s[0] == '$' && isEnvSecretId(s.substr(1))) return std::string(s.substr(1));
  return std::nullopt;
}

std::optional<int64_t> asInteger(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) >= 9.2e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::string describe(const json::value& v, bool secret = false) {
  switch (v.kind()) {
    case json::kind::string: {
      if (secret) return "a string";
      const auto& s = v.get_string();
      std::string_view sv(s.data(), s.size());
      if (sv.size() > 60) return quoted(sv.substr(0, 57)) + "...";
      return quoted(sv);
    }
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: {
      if (secret) return "a number";
      if (v.is_double()) {
        double d = v.get_double();
        if (std::isnan(d)) return "NaN";
        if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
        return fmt::format("{}", d);  // shortest round-trip form, e.g. 80.5
      }
      return json::serialize(v);
    }
    case json::kind::bool_:
      return secret ? "a boolean" : (v.get_bool() ? "true" : "false");
    case json::kind::null:
      return "null";
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
  }
  return "a value";
}

struct Ctx {
  std::string path;         // concrete config path (SourceMap syntax)
  std::string schema;       // OpenClaw key path pattern (`*` for map keys, `[]` for items)
  SourceLocation location;  // this node's key (or element) location, else the nearest ancestor's
};

struct SecretValue {
  bool present = false;
  std::string value;
  std::string unavailable;  // why there is no value (unset env var), empty when resolved
  Ctx ctx;
};

using Handler = std::function<void(const Ctx&, const json::value&)>;
struct Field {
  std::string_view key;
  Handler handler;
};

class Validator {
 public:
  Validator(const SourceMap& map, const Environment& env, const std::set<std::string>* substitutedPaths)
      : map_(map), env_(env), substitutedPaths_(substitutedPaths) {}

  ValidationResult run(const json::value& root) {
    ValidationResult result;
    result.config = TalonConfig{};
    Ctx ctx{"", "", {}};
    if (const SourceLocation* l = map_.find("")) ctx.location = *l;
    const json::object* o = expectObject(ctx, root);
    if (o != nullptr) {
      visitObject(ctx, *o,
                  {
                      {kSchemaKey, [&](const Ctx& c, const json::value& v) { expectString(c, v); }},
                      {"meta", [&](const Ctx& c, const json::value& v) { meta(c, v); }},
                      {"gateway", [&](const Ctx& c, const json::value& v) { gateway(c, v, result.config.gateway); }},
                      {"agents", [&](const Ctx& c, const json::value& v) { agents(c, v, result.config.agents); }},
                      {"bindings", [&](const Ctx& c, const json::value& v) { bindings(c, v, result.config.bindings); }},
                      {"session", [&](const Ctx& c, const json::value& v) { session(c, v, result.config.session); }},
                      {"models", [&](const Ctx& c, const json::value& v) { models(c, v, result.config.providers); }},
                  });
    }
    crossChecks(result.config);
    result.diagnostics = std::move(diags_);
    return result;
  }

 private:
  // --- plumbing ---------------------------------------------------------------------------------

  Ctx child(const Ctx& parent, std::string_view key, std::string_view schemaKey) const {
    Ctx c;
    c.path = appendPathKey(parent.path, key);
    c.schema = parent.schema.empty() ? std::string(schemaKey) : parent.schema + "." + std::string(schemaKey);
    const SourceLocation* l = map_.find(c.path);
    c.location = l != nullptr ? *l : parent.location;
    return c;
  }

  Ctx item(const Ctx& parent, std::size_t index) const {
    Ctx c;
    c.path = appendPathIndex(parent.path, index);
    c.schema = parent.schema + "[]";
    const SourceLocation* l = map_.find(c.path);
    c.location = l != nullptr ? *l : parent.location;
    return c;
  }

  void add(Severity severity, const Ctx& ctx, DiagnosticCode code, std::string message) {
    diags_.push_back(Diagnostic{severity, code, ctx.path, ctx.location, std::move(message)});
  }
  void error(const Ctx& ctx, DiagnosticCode code, std::string message) {
    add(Severity::kError, ctx, code, std::move(message));
  }
  void warning(const Ctx& ctx, DiagnosticCode code, std::string message) {
    add(Severity::kWarning, ctx, code, std::move(message));
  }

  // Visits the members in document order; keys without a handler are unknown or unsupported.
  void visitObject(const Ctx& ctx, const json::object& o, std::initializer_list<Field> fields) {
    for (const auto& kv : o) {
      std::string_view key(kv.key().data(), kv.key().size());
      auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& fl) { return fl.key == key; });
      Ctx c = child(ctx, key, key);
      if (f != fields.end()) {
        f->handler(c, kv.value());
      } else {
        unknownKey(ctx, c, key);
      }
    }
  }

  void unknownKey(const Ctx& parent, const Ctx& c, std::string_view key) {
    if (isOpenClawKeyPath(c.schema)) {
      error(c, DiagnosticCode::kUnsupportedKey,
            fmt::format("OpenClaw key {} is not supported by Talon yet", quoted(key)));
    } else {
      Ctx at = parent;
      at.location = c.location;
      error(at, DiagnosticCode::kUnknownKey, fmt::format("Unrecognized key: {}", quoted(key)));
    }
  }

  // An object whose members are visited with `fields`; a type error otherwise.
  void withObject(const Ctx& ctx, const json::value& v, std::initializer_list<Field> fields) {
    if (const json::object* o = expectObject(ctx, v)) visitObject(ctx, *o, fields);
  }

  // Requires `key` in `o`; reports it missing otherwise.
  bool require(const Ctx& ctx, const json::object& o, std::string_view key, std::string_view expected) {
    if (o.contains(key)) return true;
    error(child(ctx, key, key), DiagnosticCode::kValue, fmt::format("required: expected {}", expected));
    return false;
  }

  const json::object* expectObject(const Ctx& ctx, const json::value& v) {
    if (v.is_object()) return &v.get_object();
    error(ctx, DiagnosticCode::kType, "expected object, got " + describe(v));
    return nullptr;
  }

  std::optional<std::string> expectString(const Ctx& ctx, const json::value& v, bool nonEmpty = false,
                                          bool secret = false) {
    if (!v.is_string()) {
      error(ctx, DiagnosticCode::kType,
            fmt::format("expected {}string, got {}", nonEmpty ? "non-empty " : "", describe(v, secret)));
      return std::nullopt;
    }
    std::string s(v.get_string());
    if (nonEmpty && s.empty()) {
      error(ctx, DiagnosticCode::kValue, "expected non-empty string, got \"\"");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> expectBool(const Ctx& ctx, const json::value& v) {
    if (v.is_bool()) return v.get_bool();
    error(ctx, DiagnosticCode::kType, "expected boolean, got " + describe(v));
    return std::nullopt;
  }

  // An integer in [min, max]; `range` is how the bounds are printed ("1..65535", "> 0").
  std::optional<int64_t> expectInteger(const Ctx& ctx, const json::value& v, int64_t min, int64_t max,
                                       std::string_view range) {
    if (!v.is_number()) {
      error(ctx, DiagnosticCode::kType, fmt::format("expected integer {}, got {}", range, describe(v)));
      return std::nullopt;
    }
    auto i = asInteger(v);
    if (!i || *i < min || *i > max) {
      error(ctx, DiagnosticCode::kValue, fmt::format("expected integer {}, got {}", range, describe(v)));
      return std::nullopt;
    }
    return i;
  }

  template <std::size_t N, std::size_t M>
  std::optional<std::string> expectEnum(const Ctx& ctx, const json::value& v, const std::string_view (&allowed)[N],
                                        const std::string_view (&unsupported)[M]) {
    auto list = [&] {
      std::string out;
      for (std::string_view a : allowed) {
        if (contains(unsupported, a)) continue;
        if (!out.empty()) out += ", ";
        out += quoted(a);
      }
      return out;
    };
    if (!v.is_string()) {
      error(ctx, DiagnosticCode::kType, fmt::format("expected one of {}, got {}", list(), describe(v)));
      return std::nullopt;
    }
    std::string s(v.get_string());
    if (contains(unsupported, s)) {
      error(ctx, DiagnosticCode::kValue,
            fmt::format("{} is not supported by Talon yet (supported: {})", quoted(s), list()));
      return std::nullopt;
    }
    if (!contains(allowed, s)) {
      error(ctx, DiagnosticCode::kValue, fmt::format("expected one of {}, got {}", list(), describe(v)));
      return std::nullopt;
    }
    return s;
  }
  template <std::size_t N>
  std::optional<std::string> expectEnum(const Ctx& ctx, const json::value& v, const std::string_view (&allowed)[N]) {
    static constexpr std::string_view kNone[] = {std::string_view()};
    return expectEnum(ctx, v, allowed, kNone);
  }

  std::optional<std::vector<std::string>> expectStringArray(const Ctx& ctx, const json::value& v) {
    if (!v.is_array()) {
      error(ctx, DiagnosticCode::kType, "expected array of strings, got " + describe(v));
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (auto s = expectString(item(ctx, i), a[i])) {
        out.push_back(*s);
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // SecretInput (OpenClaw secretref-contract): a string (after `${VAR}` substitution; "${NAME}" left
  // by a missing variable and the "$NAME" shorthand are env refs) or {source, provider, id}.
  SecretValue secretInput(const Ctx& ctx, const json::value& v) {
    SecretValue out;
    out.ctx = ctx;
    if (v.is_string()) {
      out.present = true;
      std::string s(v.get_string());
      bool literal = substitutedPaths_ != nullptr && substitutedPaths_->count(ctx.path) > 0;
      if (auto name = literal ? std::nullopt : envTemplateSecretName(s)) {
        const std::string* value = findEnv(env_, *name);
        if (value == nullptr || value->empty()) {
          out.unavailable = fmt::format("env var \"{}\" is not set", *name);
          // "${NAME}" already produced a substitution warning; "$NAME" has not.
          if (trimmed(s).rfind("${", 0) != 0) {
            warning(ctx, DiagnosticCode::kEnv,
                    fmt::format("Missing env var \"{}\" - feature using this value will be unavailable", *name));
          }
        } else {
          out.value = *value;
        }
        return out;
      }
      out.value = std::move(s);
      return out;
    }
    if (!v.is_object()) {
      error(ctx, DiagnosticCode::kType,
            "expected string or secret ref {source, provider, id}, got " + describe(v, /*secret=*/true));
      return out;
    }
    const auto& o = v.get_object();
    std::optional<std::string> source;
    std::optional<std::string> provider;
    std::optional<std::string> id;
    visitObject(ctx, o,
                {
                    {"source",
                     [&](const Ctx& c, const json::value& x) {
                       source = expectEnum(c, x, kSecretSources, kSecretSourcesUnsupported);
                     }},
                    {"provider",
                     [&](const Ctx& c, const json::value& x) {
                       provider = expectString(c, x);
                       if (provider && !isSecretProviderAlias(*provider)) {
                         error(c, DiagnosticCode::kValue,
                               fmt::format("expected a provider alias matching ^[a-z][a-z0-9_-]{{0,63}}$, got {}",
                                           describe(x)));
                       }
                     }},
                    {"id", [&](const Ctx& c, const json::value& x) { id = expectString(c, x); }},
                });
    bool haveAll = require(ctx, o, "source", "\"env\"");
    haveAll = require(ctx, o, "provider", "string") && haveAll;
    haveAll = require(ctx, o, "id", "string") && haveAll;
    if (!haveAll || !source || !id) return out;
    out.present = true;
    if (!isEnvSecretId(*id)) {
      error(child(ctx, "id", "id"), DiagnosticCode::kValue,
            fmt::format("expected an env var name matching ^[A-Z][A-Z0-9_]{{0,127}}$, got {}", quoted(*id)));
      return out;
    }
    const std::string* value = findEnv(env_, *id);
    if (value == nullptr || value->empty()) {
      out.unavailable = fmt::format("env var \"{}\" is not set", *id);
      warning(ctx, DiagnosticCode::kEnv,
              fmt::format("Missing env var \"{}\" - feature using this value will be unavailable", *id));
    } else {
      out.value = *value;
    }
    return out;
  }

  void modelRef(const Ctx& ctx, const json::value& v, ModelRef& out) {
    if (v.is_string()) {
      out.primary = std::string(v.get_string());
      return;
    }
    if (!v.is_object()) {
      error(ctx, DiagnosticCode::kType,
            "expected string \"provider/model\" or {primary, fallbacks}, got " + describe(v));
      return;
    }
    visitObject(ctx, v.get_object(),
                {
                    {"primary",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectString(c, x)) out.primary = *s;
                     }},
                    {"fallbacks",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto a = expectStringArray(c, x)) out.fallbacks = *a;
                     }},
                });
  }

  // --- sections ---------------------------------------------------------------------------------

  // OpenClaw's write bookkeeping (`meta.lastTouchedVersion`, `meta.migrations.*` markers): checked,
  // kept in the effective config, no effect on Talon.
  void meta(const Ctx& ctx, const json::value& v) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    visitObject(ctx, *o,
                {
                    {"lastTouchedVersion", [&](const Ctx& c, const json::value& x) { expectString(c, x); }},
                    {"migrations",
                     [&](const Ctx& c, const json::value& x) {
                       const json::object* m = expectObject(c, x);
                       if (m == nullptr) return;
                       auto marker = [&](const Ctx& k, const json::value& y) {
                         if (!y.is_bool() || !y.get_bool()) {
                           error(k, y.is_bool() ? DiagnosticCode::kValue : DiagnosticCode::kType,
                                 "expected true, got " + describe(y));
                         }
                       };
                       visitObject(c, *m, {{"modelPolicyAllowlist", marker}, {"utilityModelSeparation", marker}});
                     }},
                });
  }

  void gateway(const Ctx& ctx, const json::value& v, GatewayConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    std::optional<Ctx> bindCtx;
    std::optional<std::string> authMode;
    SecretValue token;
    SecretValue password;
    std::optional<Ctx> authCtx;
    visitObject(ctx, *o,
                {
                    {"port",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto p = expectInteger(c, x, 1, 65535, "1..65535")) out.port = static_cast<int>(*p);
                     }},
                    {"mode",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto m = expectEnum(c, x, kGatewayModes, kGatewayModesUnsupported)) out.mode = *m;
                     }},
                    {"bind",
                     [&](const Ctx& c, const json::value& x) {
                       bindCtx = c;
                       if (auto b = expectEnum(c, x, kBindValues, kBindUnsupported)) out.bind = *b;
                     }},
                    {"customBindHost",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto h = expectString(c, x)) out.customBindHost = *h;
                     }},
                    {"auth",
                     [&](const Ctx& c, const json::value& x) {
                       authCtx = c;
                       const json::object* a = expectObject(c, x);
                       if (a == nullptr) return;
                       visitObject(
                           c, *a,
                           {
                               {"mode",
                                [&](const Ctx& m, const json::value& y) {
                                  authMode = expectEnum(m, y, kAuthModes, kAuthModesUnsupported);
                                }},
                               {"token", [&](const Ctx& t, const json::value& y) { token = secretInput(t, y); }},
                               {"password", [&](const Ctx& p, const json::value& y) { password = secretInput(p, y); }},
                           });
                     }},
                    {"http", [&](const Ctx& c, const json::value& x) { gatewayHttp(c, x, out); }},
                });
    if (out.bind == "custom" && out.customBindHost.empty()) {
      error(child(ctx, "customBindHost", "customBindHost"), DiagnosticCode::kValue,
            "required when gateway.bind is \"custom\": expected the address to listen on");
    }
    // Auth mode: explicit, else from which secret is configured (OpenClaw: with both, it must be explicit).
    Ctx modeCtx = authCtx ? child(*authCtx, "mode", "mode") : child(ctx, "auth", "auth");
    if (authMode) {
      out.auth.mode = *authMode;
    } else if (token.present && password.present) {
      error(modeCtx, DiagnosticCode::kValue,
            "both gateway.auth.token and gateway.auth.password are set: set gateway.auth.mode explicitly");
    } else if (password.present) {
      out.auth.mode = "password";
    } else {
      out.auth.mode = "token";
    }
    out.auth.token = token.value;
    out.auth.password = password.value;
    // The secret of the active mode must resolve: OpenClaw fails startup on an unresolved gateway auth ref.
    for (const SecretValue* s : {&token, &password}) {
      if (!s->present || s->unavailable.empty()) continue;
      bool active = (s == &token && out.auth.mode == "token") || (s == &password && out.auth.mode == "password");
      if (active) {
        error(s->ctx, DiagnosticCode::kEnv, s->unavailable + " (the gateway auth secret must resolve)");
      }
    }
  }

  // `gateway.http`: only endpoints.chatCompletions.enabled so far.
  void gatewayHttp(const Ctx& ctx, const json::value& v, GatewayConfig& out) {
    withObject(ctx, v, {{"endpoints", [&](const Ctx& e, const json::value& endpoints) {
                           withObject(e, endpoints,
                                      {{"chatCompletions", [&](const Ctx& c, const json::value& cc) {
                                          withObject(c, cc, {{"enabled", [&](const Ctx& en, const json::value& b) {
                                                                if (auto on = expectBool(en, b)) {
                                                                  out.chatCompletionsEnabled = *on;
                                                                }
                                                              }}});
                                        }}});
                         }}});
  }

  void agents(const Ctx& ctx, const json::value& v, AgentsConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    agentsCtx_ = ctx;
    visitObject(ctx, *o,
                {
                    {"ownership",
                     [&](const Ctx& c, const json::value& x) {
                       ownershipCtx_ = c;
                       static constexpr std::string_view kOwnership[] = {"explicit"};
                       if (auto s = expectEnum(c, x, kOwnership)) out.ownership = *s;
                     }},
                    {"defaults", [&](const Ctx& c, const json::value& x) { agentDefaults(c, x, out.defaults); }},
                    {"entries",
                     [&](const Ctx& c, const json::value& x) {
                       entriesCtx_ = c;
                       const json::object* e = expectObject(c, x);
                       if (e == nullptr) return;
                       for (const auto& kv : *e) {
                         std::string_view id(kv.key().data(), kv.key().size());
                         Ctx ec = child(c, id, "*");
                         AgentEntryConfig entry;
                         entry.id = std::string(id);
                         if (!isValidAgentId(id)) {
                           error(ec, DiagnosticCode::kValue,
                                 fmt::format("invalid agent id {}: expected {}", quoted(id), kAgentIdPattern));
                         }
                         agentEntry(ec, kv.value(), entry);
                         out.entries.push_back(std::move(entry));
                       }
                     }},
                });
  }

  void agentDefaults(const Ctx& ctx, const json::value& v, AgentDefaultsConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    visitObject(ctx, *o,
                {
                    {"model", [&](const Ctx& c, const json::value& x) { modelRef(c, x, out.model); }},
                    {"workspace",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectString(c, x)) out.workspace = *s;
                     }},
                    {"maxConcurrent",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto i = expectInteger(c, x, 1, std::numeric_limits<int>::max(), "> 0")) {
                         out.maxConcurrent = static_cast<int>(*i);
                       }
                     }},
                    {"timeoutSeconds",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto i = expectInteger(c, x, 0, kMaxSafeInteger, ">= 0")) out.timeoutSeconds = *i;
                     }},
                });
  }

  void agentEntry(const Ctx& ctx, const json::value& v, AgentEntryConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    visitObject(ctx, *o,
                {
                    {"name",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectString(c, x)) out.name = *s;
                     }},
                    {"workspace",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectString(c, x)) out.workspace = *s;
                     }},
                    {"model", [&](const Ctx& c, const json::value& x) { modelRef(c, x, out.model); }},
                });
  }

  void bindings(const Ctx& ctx, const json::value& v, std::vector<BindingConfig>& out) {
    if (!v.is_array()) {
      error(ctx, DiagnosticCode::kType, "expected array, got " + describe(v));
      return;
    }
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      Ctx bc = item(ctx, i);
      const json::object* o = expectObject(bc, a[i]);
      if (o == nullptr) continue;
      BindingConfig b;
      bool usable = true;
      visitObject(bc, *o,
                  {
                      {"type",
                       [&](const Ctx& c, const json::value& x) {
                         if (!expectEnum(c, x, kBindingTypes, kBindingTypesUnsupported)) usable = false;
                       }},
                      {"agentId",
                       [&](const Ctx& c, const json::value& x) {
                         if (auto s = expectString(c, x, /*nonEmpty=*/true)) {
                           b.agentId = *s;
                           bindingAgents_.emplace_back(c, *s);
                         } else {
                           usable = false;
                         }
                       }},
                      {"comment",
                       [&](const Ctx& c, const json::value& x) {
                         if (auto s = expectString(c, x)) b.comment = *s;
                       }},
                      {"match",
                       [&](const Ctx& c, const json::value& x) {
                         if (!bindingMatch(c, x, b.match)) usable = false;
                       }},
                      {"session",
                       [&](const Ctx& c, const json::value& x) {
                         const json::object* so = expectObject(c, x);
                         if (so == nullptr) return;
                         visitObject(c, *so,
                                     {
                                         {"dmScope",
                                          [&](const Ctx& d, const json::value& y) {
                                            if (auto s = expectEnum(d, y, kDmScopes)) b.dmScope = *s;
                                          }},
                                         {"groupScope",
                                          [&](const Ctx& g, const json::value& y) {
                                            if (auto s = expectEnum(g, y, kGroupScopes)) b.groupScope = *s;
                                          }},
                                     });
                       }},
                  });
      if (!require(bc, *o, "agentId", "string")) usable = false;
      if (!require(bc, *o, "match", "object {channel, ...}")) usable = false;
      if (usable) out.push_back(std::move(b));
    }
  }

  bool bindingMatch(const Ctx& ctx, const json::value& v, BindingMatch& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return false;
    bool ok = true;
    auto optionalString = [&](std::optional<std::string>& field) {
      return [&](const Ctx& c, const json::value& x) {
        if (auto s = expectString(c, x)) {
          field = *s;
        } else {
          ok = false;
        }
      };
    };
    visitObject(ctx, *o,
                {
                    {"channel",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectString(c, x, /*nonEmpty=*/true)) {
                         out.channel = *s;
                       } else {
                         ok = false;
                       }
                     }},
                    {"accountId", optionalString(out.accountId)},
                    {"peer",
                     [&](const Ctx& c, const json::value& x) {
                       const json::object* p = expectObject(c, x);
                       if (p == nullptr) {
                         ok = false;
                         return;
                       }
                       PeerMatch peer;
                       bool peerOk = true;
                       visitObject(c, *p,
                                   {
                                       {"kind",
                                        [&](const Ctx& k, const json::value& y) {
                                          if (y.is_string() && y.get_string() == "dm") {
                                            warning(k, DiagnosticCode::kValue,
                                                    "peer kind \"dm\" is a legacy alias of \"direct\"; use \"direct\"");
                                            peer.kind = "direct";
                                          } else if (auto s = expectEnum(k, y, kPeerKinds)) {
                                            peer.kind = *s;
                                          } else {
                                            peerOk = false;
                                          }
                                        }},
                                       {"id",
                                        [&](const Ctx& k, const json::value& y) {
                                          if (auto s = expectString(k, y, /*nonEmpty=*/true)) {
                                            peer.id = *s;
                                          } else {
                                            peerOk = false;
                                          }
                                        }},
                                   });
                       peerOk = require(c, *p, "kind", "one of \"direct\", \"group\", \"channel\"") && peerOk;
                       peerOk = require(c, *p, "id", "string") && peerOk;
                       if (peerOk) {
                         out.peer = std::move(peer);
                       } else {
                         ok = false;
                       }
                     }},
                    {"guildId", optionalString(out.guildId)},
                    {"teamId", optionalString(out.teamId)},
                    {"roles",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto r = expectStringArray(c, x)) {
                         out.roles = *r;
                       } else {
                         ok = false;
                       }
                     }},
                });
    if (!require(ctx, *o, "channel", "non-empty string")) ok = false;
    return ok;
  }

  void session(const Ctx& ctx, const json::value& v, SessionConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    visitObject(ctx, *o,
                {
                    {"dmScope",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectEnum(c, x, kDmScopes)) out.dmScope = *s;
                     }},
                    {"groupScope",
                     [&](const Ctx& c, const json::value& x) {
                       if (auto s = expectEnum(c, x, kGroupScopes)) out.groupScope = *s;
                     }},
                });
  }

  void models(const Ctx& ctx, const json::value& v, std::vector<ProviderConfig>& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return;
    visitObject(ctx, *o, {{"providers", [&](const Ctx& c, const json::value& x) {
                             const json::object* p = expectObject(c, x);
                             if (p == nullptr) return;
                             for (const auto& kv : *p) {
                               std::string_view id(kv.key().data(), kv.key().size());
                               Ctx pc = child(c, id, "*");
                               ProviderConfig provider;
                               provider.id = std::string(id);
                               if (id.empty()) error(pc, DiagnosticCode::kValue, "expected a non-empty provider id");
                               if (providerConfig(pc, kv.value(), provider)) out.push_back(std::move(provider));
                             }
                           }}});
  }

  bool providerConfig(const Ctx& ctx, const json::value& v, ProviderConfig& out) {
    const json::object* o = expectObject(ctx, v);
    if (o == nullptr) return false;
    bool apiSet = false;
    visitObject(
        ctx, *o,
        {
            {"baseUrl",
             [&](const Ctx& c, const json::value& x) {
               if (auto s = expectString(c, x)) out.baseUrl = *s;
             }},
            {"apiKey",
             [&](const Ctx& c, const json::value& x) {
               SecretValue s = secretInput(c, x);
               out.apiKey = s.value;
               out.apiKeyUnavailable = s.unavailable;
             }},
            {"api",
             [&](const Ctx& c, const json::value& x) {
               static constexpr std::string_view kUnsupported[] = {
                   "openai-responses", "openai-chatgpt-responses", "anthropic-messages",      "google-generative-ai",
                   "google-vertex",    "github-copilot",           "bedrock-converse-stream", "ollama",
                   "pi-messages",      "azure-openai-responses"};
               static_assert(std::size(kUnsupported) + std::size(kProviderApisSupported) == std::size(kProviderApis));
               if (auto s = expectEnum(c, x, kProviderApis, kUnsupported)) {
                 out.api = *s;
                 apiSet = true;
               }
             }},
            {"headers",
             [&](const Ctx& c, const json::value& x) {
               const json::object* h = expectObject(c, x);
               if (h == nullptr) return;
               for (const auto& kv : *h) {
                 std::string_view name(kv.key().data(), kv.key().size());
                 SecretValue s = secretInput(child(c, name, "*"), kv.value());
                 if (s.present && s.unavailable.empty()) out.headers[std::string(name)] = s.value;
               }
             }},
            {"timeoutSeconds",
             [&](const Ctx& c, const json::value& x) {
               if (auto i = expectInteger(c, x, 1, kMaxSafeInteger, "> 0")) out.timeoutSeconds = *i;
             }},
            {"maxTokens",
             [&](const Ctx& c, const json::value& x) {
               if (auto i = expectInteger(c, x, 1, kMaxSafeInteger, "> 0")) out.maxTokens = *i;
             }},
            {"models",
             [&](const Ctx& c, const json::value& x) {
               if (!x.is_array()) {
                 error(c, DiagnosticCode::kType, "expected array, got " + describe(x));
                 return;
               }
               const auto& a = x.get_array();
               for (std::size_t i = 0; i < a.size(); ++i) {
                 Ctx mc = item(c, i);
                 const json::object* m = expectObject(mc, a[i]);
                 if (m == nullptr) continue;
                 ProviderModelConfig model;
                 visitObject(mc, *m,
                             {
                                 {"id",
                                  [&](const Ctx& k, const json::value& y) {
                                    if (auto s = expectString(k, y, /*nonEmpty=*/true)) model.id = *s;
                                  }},
                                 {"name",
                                  [&](const Ctx& k, const json::value& y) {
                                    if (auto s = expectString(k, y, /*nonEmpty=*/true)) model.name = *s;
                                  }},
                                 {"contextWindow",
                                  [&](const Ctx& k, const json::value& y) {
                                    if (auto n = expectInteger(k, y, 1, kMaxSafeInteger, "> 0"))
                                      model.contextWindow = *n;
                                  }},
                                 {"maxTokens",
                                  [&](const Ctx& k, const json::value& y) {
                                    if (auto n = expectInteger(k, y, 1, kMaxSafeInteger, "> 0")) model.maxTokens = *n;
                                  }},
                             });
                 bool complete = require(mc, *m, "id", "non-empty string");
                 complete = require(mc, *m, "name", "non-empty string") && complete;
                 if (complete && !model.id.empty() && !model.name.empty()) out.models.push_back(std::move(model));
               }
             }},
        });
    if (!apiSet && (out.id == "anthropic" || out.id == "ollama")) {
      // OpenClaw defaults these providers to their native APIs, which Talon does not speak yet.
      error(ctx, DiagnosticCode::kValue,
            fmt::format("provider \"{}\" defaults to api \"{}\", which is not supported by Talon yet; set api: "
                        "\"openai-completions\" for its OpenAI-compatible endpoint",
                        out.id, out.id == "anthropic" ? "anthropic-messages" : "ollama"));
    }
    // OpenClaw's rule for custom (non-bundled) providers, same wording.
    for (std::string_view required : {std::string_view("baseUrl"), std::string_view("models")}) {
      if (o->contains(required) || contains(kBundledProviders, out.id)) continue;
      error(child(ctx, required, required), DiagnosticCode::kValue,
            fmt::format("custom model providers must declare {0}; provider overlays without {0} are only supported "
                        "for bundled providers ({1})",
                        required, quotedList(kBundledProviders)));
    }
    return true;
  }

  // --- cross references ---------------------------------------------------------------------------

  void crossChecks(TalonConfig& config) {
    auto& entries = config.agents.entries;
    if (entries.size() >= 2 && config.agents.ownership != "explicit") {
      Ctx at = ownershipCtx_ ? *ownershipCtx_ : (entriesCtx_ ? *entriesCtx_ : (agentsCtx_ ? *agentsCtx_ : Ctx{}));
      at.path = "agents.ownership";
      error(at, DiagnosticCode::kValue, "multi-agent rosters require agents.ownership=\"explicit\"");
    }
    std::set<std::string> known;
    for (const auto& e : entries) known.insert(normalizeAgentId(e.id));
    if (entries.empty()) known.insert(std::string(kDefaultAgentId));
    for (const auto& [ctx, agentId] : bindingAgents_) {
      if (!known.count(normalizeAgentId(agentId))) {
        error(ctx, DiagnosticCode::kValue,
              fmt::format("Unknown agent id {} (not in agents.entries).", quoted(agentId)));
      }
    }
    for (auto& b : config.bindings) {
      std::string n = normalizeAgentId(b.agentId);
      if (known.count(n)) b.agentId = n;
    }
    if (entries.empty()) {
      AgentEntryConfig main;
      main.id = std::string(kDefaultAgentId);
      entries.push_back(std::move(main));
    }
  }

  const SourceMap& map_;
  const Environment& env_;
  const std::set<std::string>* substitutedPaths_;
  std::vector<Diagnostic> diags_;
  std::optional<Ctx> agentsCtx_;
  std::optional<Ctx> ownershipCtx_;
  std::optional<Ctx> entriesCtx_;
  std::vector<std::pair<Ctx, std::string>> bindingAgents_;
};

}  // namespace

ValidationResult validateEffectiveConfig(const json::value& effective, const SourceMap& sourceMap,
                                         const Environment& env, const std::set<std::string>* substitutedPaths) {
  Validator validator(sourceMap, env, substitutedPaths);
  return validator.run(effective);
}

}  // namespace talon::config
