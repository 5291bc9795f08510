#include "net/client_address.h"

#include <fmt/format.h>

namespace talon::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// An X-Forwarded-For hop or X-Real-IP value as an address: "1.2.3.4", "1.2.3.4:5678", "[::1]:80", "::1".
std::optional<std::string> hopAddress(std::string_view raw) {
  raw = trim(raw);
  if (raw.empty()) return std::nullopt;
  if (raw.front() == '[') {
    auto end = raw.find(']');
    if (end == std::string_view::npos) return std::nullopt;
    raw = raw.substr(1, end - 1);
  } else if (auto colon = raw.find(':');
             colon != std::string_view::npos && raw.rfind(':') == colon && raw.find('.') != std::string_view::npos) {
    raw = raw.substr(0, colon);  // IPv4 with a port
  }
  if (!IpAddress::parse(raw)) return std::nullopt;
  return std::string(raw);
}

}  // namespace

Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const auto& e : entries) {
    auto range = IpCidr::parse(trim(e));
    if (!range) {
      return fail(ErrorCode::kConfigInvalid,
                  fmt::format("gateway.trustedProxies: \"{}\" is not an IP address or CIDR range", e));
    }
    out.ranges_.push_back(*range);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view address) const {
  auto a = IpAddress::parse(address);
  if (!a) return false;
  for (const auto& r : ranges_) {
    if (r.contains(*a)) return true;
  }
  return false;
}

ClientAddress resolveClientAddress(std::string_view peer, bool peerIsLoopback, const ForwardedHeaders& headers,
                                   const TrustedProxies& proxies, bool allowRealIpFallback) {
  ClientAddress out{std::string(peer), peerIsLoopback && !headers.any};
  if (proxies.empty() || !proxies.contains(peer)) return out;
  std::vector<std::string> chain;
  std::string_view rest = headers.forwardedFor;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (auto hop = hopAddress(rest.substr(0, comma))) chain.push_back(std::move(*hop));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    auto a = IpAddress::parse(*it);
    if (a->isLoopback() || proxies.contains(*it)) continue;
    out.address = *it;
    return out;
  }
  if (allowRealIpFallback) {
    if (auto real = hopAddress(headers.realIp)) out.address = std::move(*real);
  }
  return out;
}

}  // namespace talon::net
