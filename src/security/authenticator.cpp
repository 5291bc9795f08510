#include "security/authenticator.h"

#include "base/ascii.h"

namespace talon::security {
namespace {

constexpr std::string_view kUnauthorized = "Unauthorized";

bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string_view> parseBearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer";
  const std::string_view value = trimOws(authorization);
  if (value.empty()) return fail(ErrorCode::kUnauthenticated, "no Authorization header", std::string(kUnauthorized));
  std::size_t schemeEnd = 0;
  while (schemeEnd < value.size() && !isOws(value[schemeEnd])) ++schemeEnd;
  if (!equalsIgnoreAsciiCase(value.substr(0, schemeEnd), kBearer)) {
    return fail(ErrorCode::kUnauthenticated, "Authorization scheme is not Bearer", std::string(kUnauthorized));
  }
  const std::string_view token = trimOws(value.substr(schemeEnd));
  if (token.empty()) {
    return fail(ErrorCode::kUnauthenticated, "Authorization: Bearer without a token", std::string(kUnauthorized));
  }
  return token;
}

std::optional<std::string_view> findHeader(std::span<const std::pair<std::string, std::string>> headers,
                                           std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoreAsciiCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

const std::vector<std::string>& httpSharedSecretScopes() {
  using protocol::Scope;
  static const std::vector<std::string> kScopes = [] {
    std::vector<std::string> names;
    for (Scope s : {Scope::kAdmin, Scope::kRead, Scope::kWrite, Scope::kApprovals, Scope::kQuestions, Scope::kPairing,
                    Scope::kTalkSecrets}) {
      names.emplace_back(protocol::scopeName(s));
    }
    return names;
  }();
  return kScopes;
}

}  // namespace talon::security
