#include "config/gateway_exposure.h"

#include <fmt/format.h>

#include <bitset>

namespace talon::config {
namespace {

bool isLoopbackHost(std::string_view host) {
  return host == "::1" || host == "localhost" || host == "[::1]" || host.substr(0, 4) == "127.";
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

bool bindsBeyondLoopback(const GatewayConfig& gateway) {
  if (gateway.bind == "loopback") return false;
  if (gateway.bind == "custom") return !isLoopbackHost(gateway.customBindHost);
  return true;  // lan, auto (and anything Talon does not know, to be safe)
}

std::optional<std::string> knownWeakSecretReason(std::string_view secret) {
  auto t = trimmed(secret);
  if (t == "undefined" || t == "null") {
    return fmt::format("it is the literal string \"{}\" (an unset value coerced to text)", t);
  }
  if (t == "change-me-now" || t == "change-me-to-a-long-random-token" || t == "change-me-to-a-strong-password") {
    return std::string("it is a published example placeholder");
  }
  return std::nullopt;
}

std::optional<std::string> exposedSecretWeakness(std::string_view secret) {
  if (auto known = knownWeakSecretReason(secret)) return known;
  if (secret.size() < kMinExposedSecretLength) {
    return fmt::format("it has {} characters; at least {} are required when the gateway listens beyond loopback",
                       secret.size(), kMinExposedSecretLength);
  }
  std::bitset<256> seen;
  for (unsigned char c : secret) seen.set(c);
  if (seen.count() < kMinExposedSecretDistinctChars) {
    return fmt::format(
        "it uses {} distinct characters; at least {} are required when the gateway listens beyond "
        "loopback",
        seen.count(), kMinExposedSecretDistinctChars);
  }
  return std::nullopt;
}

}  // namespace talon::config
