#include "config/env_substitution.h"

#include <fmt/format.h>

namespace talon::config {

bool isEnvVarName(std::string_view name) {
  if (name.empty()) return false;
  auto upperOrUnderscore = [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!upperOrUnderscore(name[0])) return false;
  for (char c : name.substr(1)) {
    if (!upperOrUnderscore(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

namespace {
enum class TokenKind { kNone, kEscaped, kSubstitution };
struct Token {
  TokenKind kind = TokenKind::kNone;
  std::string_view name;
  std::size_t end = 0;  // index of the closing '}'
};

// OpenClaw parseEnvTokenAt: the token starting at value[index] == '$', if any.
Token tokenAt(std::string_view value, std::size_t index) {
  char next = index + 1 < value.size() ? value[index + 1] : '\0';
  char afterNext = index + 2 < value.size() ? value[index + 2] : '\0';
  if (next == '$' && afterNext == '{') {
    std::size_t start = index + 3;
    std::size_t end = value.find('}', start);
    if (end != std::string_view::npos) {
      std::string_view name = value.substr(start, end - start);
      if (isEnvVarName(name)) return Token{TokenKind::kEscaped, name, end};
    }
  }
  if (next == '{') {
    std::size_t start = index + 2;
    std::size_t end = value.find('}', start);
    if (end != std::string_view::npos) {
      std::string_view name = value.substr(start, end - start);
      if (isEnvVarName(name)) return Token{TokenKind::kSubstitution, name, end};
    }
  }
  return Token{};
}
}  // namespace

std::string substituteEnvVars(std::string_view value, const Environment& env, std::vector<std::string>* missing) {
  if (value.find('$') == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c != '$') {
      out += c;
      continue;
    }
    Token t = tokenAt(value, i);
    if (t.kind == TokenKind::kEscaped) {
      out += "${";
      out += t.name;
      out += '}';
      i = t.end;
      continue;
    }
    if (t.kind == TokenKind::kSubstitution) {
      const std::string* v = findEnv(env, t.name);
      if (v == nullptr || v->empty()) {
        if (missing != nullptr) missing->emplace_back(t.name);
        out += "${";
        out += t.name;
        out += '}';
      } else {
        out += *v;
      }
      i = t.end;
      continue;
    }
    out += c;
  }
  return out;
}

namespace {
void substituteValue(LocatedValue& v, const SourceLocation& at, const std::string& path, const Environment& env,
                     std::vector<Diagnostic>& warnings, std::set<std::string>* substitutedPaths) {
  if (v.isObject()) {
    for (auto& m : v.members)
      substituteValue(m.value, m.keyLocation, appendPathKey(path, m.key), env, warnings, substitutedPaths);
    return;
  }
  if (v.isArray()) {
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      substituteValue(v.items[i], v.items[i].location, appendPathIndex(path, i), env, warnings, substitutedPaths);
    }
    return;
  }
  if (!v.scalar.is_string()) return;
  const auto& s = v.scalar.get_string();
  std::vector<std::string> missing;
  std::string replaced = substituteEnvVars(std::string_view(s.data(), s.size()), env, &missing);
  for (const auto& name : missing) {
    warnings.push_back(
        Diagnostic{Severity::kWarning, DiagnosticCode::kEnv, path, at,
                   fmt::format("Missing env var \"{}\" - feature using this value will be unavailable", name)});
  }
  if (substitutedPaths != nullptr && replaced != std::string_view(s.data(), s.size())) {
    substitutedPaths->insert(path);
  }
  v.scalar = json::string(replaced);
}
}  // namespace

void substituteEnvInTree(LocatedValue& root, const Environment& env, std::vector<Diagnostic>& warnings,
                         std::set<std::string>* substitutedPaths) {
  substituteValue(root, root.location, "", env, warnings, substitutedPaths);
}

}  // namespace talon::config
