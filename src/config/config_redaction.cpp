#include "config/config_redaction.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace talon::config {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// /x.?y/i on an already lower-cased string.
bool containsWithOptionalGap(std::string_view s, std::string_view a, std::string_view b) {
  for (std::size_t i = s.find(a); i != std::string_view::npos; i = s.find(a, i + 1)) {
    std::string_view rest = s.substr(i + a.size());
    if (rest.substr(0, b.size()) == b) return true;
    if (rest.size() > b.size() && rest.substr(1, b.size()) == b) return true;
  }
  return false;
}

bool isPlaceholder(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return true;
  // OpenClaw ENV_VAR_PLACEHOLDER_PATTERN: /^\$\{[^}]*\}$/
  return s.size() >= 3 && s.substr(0, 2) == "${" && s.back() == '}' &&
         s.substr(2, s.size() - 3).find('}') == std::string_view::npos;
}

bool isSecretRef(const json::object& o) {
  auto source = o.find("source");
  auto id = o.find("id");
  return source != o.end() && source->value().is_string() && id != o.end() && id->value().is_string();
}

// Everything concrete below a secret key.
json::value redactAll(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return isPlaceholder(std::string_view(v.get_string())) ? v : json::value(kRedactedSentinel);
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return json::value(kRedactedSentinel);
    case json::kind::object: {
      const auto& o = v.get_object();
      if (isSecretRef(o)) {
        json::object copy = o;
        if (!isPlaceholder(std::string_view(o.at("id").get_string()))) copy["id"] = kRedactedSentinel;
        return copy;
      }
      json::object out;
      for (const auto& kv : o) out[kv.key()] = redactAll(kv.value());
      return out;
    }
    case json::kind::array: {
      json::array out;
      for (const auto& item : v.get_array()) out.push_back(redactAll(item));
      return out;
    }
    default:
      return v;
  }
}

// OpenClaw's SENSITIVE_URL_QUERY_PARAM_NAMES (packages/net-policy redact-sensitive-url).
bool isSensitiveQueryName(std::string name) {
  static constexpr std::string_view kNames[] = {"token",
                                                "key",
                                                "api_key",
                                                "apikey",
                                                "secret",
                                                "access_token",
                                                "auth_token",
                                                "password",
                                                "pass",
                                                "passwd",
                                                "auth",
                                                "jwt",
                                                "session",
                                                "id_token",
                                                "code",
                                                "client_secret",
                                                "app_secret",
                                                "hook_token",
                                                "refresh_token",
                                                "signature",
                                                "x_amz_signature",
                                                "x_amz_security_token",
                                                "private_key",
                                                "credential",
                                                "authorization",
                                                "sig",
                                                "x_api_key",
                                                "x_access_token",
                                                "x_auth_token"};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '-' ? '_' : std::tolower(c); });
  for (std::string_view n : kNames) {
    if (name == n) return true;
  }
  // OpenClaw SUFFIXED_OR_SCOPED_TOKEN_QUERY_PARAM_RE: /(?:^|_)token(?:_[a-f0-9]{16,})?$/
  std::size_t us = name.rfind('_');
  if (us != std::string::npos && name.size() - us - 1 >= 16 &&
      std::all_of(name.begin() + static_cast<std::ptrdiff_t>(us) + 1, name.end(),
                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    name.resize(us);
  }
  return name == "token" || endsWith(name, "_token");
}

// Redacts every string that carries URL credentials; recurses into objects and arrays.
json::value redactUrls(const json::value& v) {
  if (v.is_string()) return hasUrlCredentials(std::string_view(v.get_string())) ? json::value(kRedactedSentinel) : v;
  return v;
}

bool isSecretHeaderName(std::string_view name) {
  std::string l = lower(name);
  return isSecretKey(name) || l == "authorization" || l == "proxy-authorization" || l == "cookie";
}

json::value redact(const json::value& v, int depthInProviders, bool inHeaders) {
  if (v.is_array()) {
    json::array out;
    for (const auto& item : v.get_array()) out.push_back(redact(item, -1, false));
    return out;
  }
  if (!v.is_object()) return redactUrls(v);
  json::object out;
  for (const auto& kv : v.get_object()) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (isSecretKey(key) || (inHeaders && isSecretHeaderName(key))) {
      out[kv.key()] = redactAll(kv.value());
      continue;
    }
    // Track models.providers.<id>.headers to catch Authorization-style headers.
    int nextDepth = -1;
    if (depthInProviders == 0 && key == "providers") nextDepth = 1;
    if (depthInProviders == 1) nextDepth = 2;
    bool nextHeaders = depthInProviders == 2 && key == "headers";
    out[kv.key()] = redact(kv.value(), nextDepth, nextHeaders);
  }
  return out;
}

}  // namespace

bool hasUrlCredentials(std::string_view s) {
  auto stop = [](char c) {
    return c == '/' || c == '?' || c == '#' || c == '\\' || std::isspace(static_cast<unsigned char>(c));
  };
  for (std::size_t at = s.find("://"); at != std::string_view::npos; at = s.find("://", at + 3)) {
    std::size_t begin = at + 3;
    std::size_t end = begin;
    while (end < s.size() && !stop(s[end])) ++end;
    if (s.substr(begin, end - begin).find('@') != std::string_view::npos) return true;
    // The query: name=value pairs up to the fragment or white space.
    std::size_t q = end;
    while (q < s.size() && s[q] != '?' && s[q] != '#' && !std::isspace(static_cast<unsigned char>(s[q]))) ++q;
    if (q >= s.size() || s[q] != '?') continue;
    std::size_t i = q + 1;
    while (i < s.size() && s[i] != '#' && !std::isspace(static_cast<unsigned char>(s[i]))) {
      std::size_t amp = i;
      while (amp < s.size() && s[amp] != '&' && s[amp] != '#' && !std::isspace(static_cast<unsigned char>(s[amp]))) {
        ++amp;
      }
      std::string_view pair = s.substr(i, amp - i);
      std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && eq + 1 < pair.size() &&
          isSensitiveQueryName(std::string(pair.substr(0, eq)))) {
        return true;
      }
      i = amp < s.size() && s[amp] == '&' ? amp + 1 : amp;
    }
  }
  return false;
}

bool isSecretKey(std::string_view key) {
  std::string l = lower(key);
  static constexpr std::string_view kNotSecret[] = {
      "maxtokens",   "maxoutputtokens", "maxinputtokens", "maxcompletiontokens", "contexttokens",
      "totaltokens", "tokencount",      "tokenlimit",     "tokenbudget",         "passwordfile"};
  for (std::string_view suffix : kNotSecret) {
    if (endsWith(l, suffix)) return false;
  }
  return endsWith(l, "token") || l.find("password") != std::string::npos || l.find("secret") != std::string::npos ||
         containsWithOptionalGap(l, "api", "key") || containsWithOptionalGap(l, "encrypt", "key") ||
         containsWithOptionalGap(l, "private", "key") || endsWith(l, "serviceaccount") ||
         endsWith(l, "serviceaccountref");
}

json::value redactConfigSecrets(const json::value& config) {
  if (!config.is_object()) return redact(config, -1, false);
  json::object out;
  for (const auto& kv : config.get_object()) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (isSecretKey(key)) {
      out[kv.key()] = redactAll(kv.value());
    } else {
      out[kv.key()] = redact(kv.value(), key == "models" ? 0 : -1, false);
    }
  }
  return out;
}

}  // namespace talon::config
