#include "config/config_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "config/openclaw_key_paths.h"

namespace talon::config {

namespace {

constexpr std::string_view kSecretSources[] = {"env", "file", "exec", "store"};

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

// File ref ids: an absolute JSON pointer (RFC 6901: "~" only as "~0" or "~1") or "value".
bool isFileSecretId(std::string_view id) {
  if (id == "value") return true;
  if (id.empty() || id[0] != '/') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (id[i] == '~' && (i + 1 >= id.size() || (id[i + 1] != '0' && id[i + 1] != '1'))) return false;
  }
  return true;
}

// Exec ref ids: `^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,255}$` with no "." or ".." slash-delimited segment.
bool isExecSecretId(std::string_view id) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (id.empty() || id.size() > 256 || !alnum(id[0])) return false;
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '_' && c != ':' && c != '/' && c != '#' && c != '-') return false;
  }
  std::size_t start = 0;
  while (start <= id.size()) {
    std::size_t end = id.find('/', start);
    std::string_view seg = id.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg == "." || seg == "..") return false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return true;
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

bool listed(std::span<const std::string_view> list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

ConfigReader::ConfigReader(const SourceMap& sourceMap, const Environment& env,
                           const std::set<std::string>* substitutedPaths, std::size_t maxDiagnostics)
    : sourceMap_(sourceMap), env_(env), substitutedPaths_(substitutedPaths), maxDiagnostics_(maxDiagnostics) {}

ConfigNode ConfigReader::root() const {
  ConfigNode n;
  if (const SourceLocation* l = sourceMap_.find("")) n.location = *l;
  return n;
}

ConfigNode ConfigReader::child(const ConfigNode& parent, std::string_view key, std::string_view schemaKey) const {
  ConfigNode c;
  c.path = appendPathKey(parent.path, key);
  c.schema = parent.schema.empty() ? std::string(schemaKey) : parent.schema + "." + std::string(schemaKey);
  const SourceLocation* l = sourceMap_.find(c.path);
  c.location = l != nullptr ? *l : parent.location;
  return c;
}

ConfigNode ConfigReader::item(const ConfigNode& parent, std::size_t index) const {
  ConfigNode c;
  c.path = appendPathIndex(parent.path, index);
  c.schema = parent.schema + "[]";
  const SourceLocation* l = sourceMap_.find(c.path);
  c.location = l != nullptr ? *l : parent.location;
  return c;
}

void ConfigReader::add(Severity severity, const ConfigNode& node, DiagnosticCode code, std::string message) {
  if (severity == Severity::kError) recordedError_ = true;
  if (!recording()) {
    ++(severity == Severity::kError ? omittedErrors_ : omittedWarnings_);
    return;
  }
  diagnostics_.push_back(Diagnostic{severity, code, node.path, node.location, std::move(message)});
}

void ConfigReader::error(const ConfigNode& node, DiagnosticCode code, std::string message) {
  add(Severity::kError, node, code, std::move(message));
}

void ConfigReader::warning(const ConfigNode& node, DiagnosticCode code, std::string message) {
  add(Severity::kWarning, node, code, std::move(message));
}

bool ConfigReader::hasErrors() const { return recordedError_ || omittedErrors_ > 0; }

void ConfigReader::readObject(const ConfigNode& node, const json::object& object, std::initializer_list<Field> fields) {
  for (const auto& kv : object) {
    std::string_view key(kv.key().data(), kv.key().size());
    auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& fl) { return fl.key == key; });
    if (f != fields.end()) {
      f->read(child(node, key), kv.value());
    } else {
      unknownKey(node, key);
    }
  }
}

bool ConfigReader::readObject(const ConfigNode& node, const json::value& value, std::initializer_list<Field> fields) {
  const json::object* o = object(node, value);
  if (o == nullptr) return false;
  readObject(node, *o, fields);
  return true;
}

void ConfigReader::unknownKey(const ConfigNode& parent, std::string_view key) {
  if (!recording()) {  // past the cap: count it without building paths or messages
    recordedError_ = true;
    countError();
    return;
  }
  ConfigNode c = child(parent, key);
  if (isOpenClawKeyPath(c.schema)) {
    error(c, DiagnosticCode::kUnsupportedKey,
          fmt::format("OpenClaw key {} is not supported by Talon yet", quoted(key)));
  } else {
    ConfigNode at = parent;
    at.location = c.location;
    error(at, DiagnosticCode::kUnknownKey, fmt::format("Unrecognized key: {}", quoted(key)));
  }
}

bool ConfigReader::require(const ConfigNode& node, const json::object& object, std::string_view key,
                           std::string_view expected) {
  if (object.contains(key)) return true;
  error(child(node, key), DiagnosticCode::kValue, fmt::format("required: expected {}", expected));
  return false;
}

const json::object* ConfigReader::object(const ConfigNode& node, const json::value& value) {
  if (value.is_object()) return &value.get_object();
  error(node, DiagnosticCode::kType, "expected object, got " + describe(value));
  return nullptr;
}

const json::array* ConfigReader::array(const ConfigNode& node, const json::value& value, std::string_view expected) {
  if (value.is_array()) return &value.get_array();
  error(node, DiagnosticCode::kType, fmt::format("expected {}, got {}", expected, describe(value)));
  return nullptr;
}

std::optional<std::string> ConfigReader::string(const ConfigNode& node, const json::value& value, bool nonEmpty,
                                                bool secret) {
  if (!value.is_string()) {
    error(node, DiagnosticCode::kType,
          fmt::format("expected {}string, got {}", nonEmpty ? "non-empty " : "", describe(value, secret)));
    return std::nullopt;
  }
  std::string s(value.get_string());
  if (nonEmpty && s.empty()) {
    error(node, DiagnosticCode::kValue, "expected non-empty string, got \"\"");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> ConfigReader::boolean(const ConfigNode& node, const json::value& value) {
  if (value.is_bool()) return value.get_bool();
  error(node, DiagnosticCode::kType, "expected boolean, got " + describe(value));
  return std::nullopt;
}

std::optional<int64_t> ConfigReader::integer(const ConfigNode& node, const json::value& value, int64_t min, int64_t max,
                                             std::string_view range) {
  if (!value.is_number()) {
    error(node, DiagnosticCode::kType, fmt::format("expected integer {}, got {}", range, describe(value)));
    return std::nullopt;
  }
  auto i = asInteger(value);
  if (!i || *i < min || *i > max) {
    error(node, DiagnosticCode::kValue, fmt::format("expected integer {}, got {}", range, describe(value)));
    return std::nullopt;
  }
  return i;
}

std::optional<std::string> ConfigReader::enumeration(const ConfigNode& node, const json::value& value,
                                                     std::span<const std::string_view> allowed,
                                                     std::span<const std::string_view> unsupported) {
  auto list = [&] {
    std::string out;
    for (std::string_view a : allowed) {
      if (listed(unsupported, a)) continue;
      if (!out.empty()) out += ", ";
      out += quoted(a);
    }
    return out;
  };
  if (!value.is_string()) {
    error(node, DiagnosticCode::kType, fmt::format("expected one of {}, got {}", list(), describe(value)));
    return std::nullopt;
  }
  std::string s(value.get_string());
  if (listed(unsupported, s)) {
    error(node, DiagnosticCode::kValue,
          fmt::format("{} is not supported by Talon yet (supported: {})", quoted(s), list()));
    return std::nullopt;
  }
  if (!listed(allowed, s)) {
    error(node, DiagnosticCode::kValue, fmt::format("expected one of {}, got {}", list(), describe(value)));
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<std::string>> ConfigReader::stringArray(const ConfigNode& node, const json::value& value) {
  const json::array* a = array(node, value, "array of strings");
  if (a == nullptr) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    if (auto s = string(item(node, i), (*a)[i])) {
      out.push_back(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, std::string>> ConfigReader::stringMap(const ConfigNode& node,
                                                                          const json::value& value) {
  const json::object* o = object(node, value);
  if (o == nullptr) return std::nullopt;
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& kv : *o) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (auto s = string(child(node, key, "*"), kv.value())) {
      out[std::string(key)] = *s;
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

SecretInput ConfigReader::secret(const ConfigNode& node, const json::value& value) {
  SecretInput out;
  out.node = node;
  auto missing = [&](const std::string& name) {
    out.envVar = name;
    out.unavailable = fmt::format("env var \"{}\" is not set", name);
  };
  if (value.is_string()) {
    out.present = true;
    std::string s(value.get_string());
    bool literal = substitutedPaths_ != nullptr && substitutedPaths_->count(node.path) > 0;
    if (auto name = literal ? std::nullopt : envTemplateSecretName(s)) {
      const std::string* v = findEnv(env_, *name);
      if (v == nullptr || v->empty()) {
        missing(*name);
        // "${NAME}" already produced a substitution warning; "$NAME" has not.
        if (trimmed(s).rfind("${", 0) != 0) {
          warning(node, DiagnosticCode::kEnv,
                  fmt::format("Missing env var \"{}\" - feature using this value will be unavailable", *name));
        }
      } else {
        out.envVar = *name;
        out.value = *v;
      }
      return out;
    }
    out.value = std::move(s);
    return out;
  }
  if (!value.is_object()) {
    error(node, DiagnosticCode::kType,
          "expected string or secret ref {source, provider, id}, got " + describe(value, /*secret=*/true));
    return out;
  }
  const auto& o = value.get_object();
  std::optional<std::string> source;
  std::optional<std::string> provider;
  std::optional<std::string> id;
  readObject(
      node, o,
      {
          {"source", [&](const ConfigNode& c, const json::value& x) { source = enumeration(c, x, kSecretSources); }},
          {"provider",
           [&](const ConfigNode& c, const json::value& x) {
             provider = string(c, x);
             if (provider && !isSecretProviderAlias(*provider)) {
               error(c, DiagnosticCode::kValue,
                     fmt::format("expected a provider alias matching ^[a-z][a-z0-9_-]{{0,63}}$, got {}", describe(x)));
             }
           }},
          {"id", [&](const ConfigNode& c, const json::value& x) { id = string(c, x); }},
      });
  bool haveAll = require(node, o, "source", "\"env\" | \"file\" | \"exec\" | \"store\"");
  haveAll = require(node, o, "provider", "string") && haveAll;
  haveAll = require(node, o, "id", "string") && haveAll;
  if (!haveAll || !source || !id) return out;
  out.present = true;
  if (*source != "env") {
    ConfigNode idNode = child(node, "id");
    if (*source == "file" && !isFileSecretId(*id)) {
      error(idNode, DiagnosticCode::kValue,
            fmt::format("expected an absolute JSON pointer (\"/...\") or \"value\", got {}", quoted(*id)));
    } else if (*source == "exec" && !isExecSecretId(*id)) {
      error(idNode, DiagnosticCode::kValue,
            fmt::format("expected an id matching ^[A-Za-z0-9][A-Za-z0-9._:/#-]{{0,255}}$ without \".\" or "
                        "\"..\" path segments, got {}",
                        quoted(*id)));
    } else if (*source == "store" && !isEnvSecretId(*id)) {
      error(idNode, DiagnosticCode::kValue,
            fmt::format("expected a store secret name matching ^[A-Z][A-Z0-9_]{{0,127}}$, got {}", quoted(*id)));
    } else {
      out.ref = SecretRef{*source, provider.value_or("default"), *id, node.path};
    }
    return out;
  }
  if (!isEnvSecretId(*id)) {
    error(child(node, "id"), DiagnosticCode::kValue,
          fmt::format("expected an env var name matching ^[A-Z][A-Z0-9_]{{0,127}}$, got {}", quoted(*id)));
    return out;
  }
  const std::string* v = findEnv(env_, *id);
  if (v == nullptr || v->empty()) {
    missing(*id);
    warning(node, DiagnosticCode::kEnv,
            fmt::format("Missing env var \"{}\" - feature using this value will be unavailable", *id));
  } else {
    out.envVar = *id;
    out.value = *v;
  }
  return out;
}

std::string ConfigReader::describe(const json::value& v, bool secret) {
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

std::string ConfigReader::quoted(std::string_view s) {
  return json::serialize(json::value(json::string_view(s.data(), s.size())));
}

std::string ConfigReader::quotedList(std::span<const std::string_view> list) {
  std::string out;
  for (std::string_view v : list) {
    if (!out.empty()) out += ", ";
    out += quoted(v);
  }
  return out;
}

}  // namespace talon::config
