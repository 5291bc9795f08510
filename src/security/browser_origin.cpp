#include "security/browser_origin.h"

#include <algorithm>
#include <cctype>

#include "base/ip_cidr.h"

namespace talon::security {
namespace {

std::string lowerTrimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct ParsedOrigin {
  std::string origin;    // "http://127.0.0.1:18789"
  std::string host;      // "127.0.0.1:18789" (with port, as the Host header carries it)
  std::string hostName;  // "127.0.0.1"
};

// OpenClaw parseOrigin: /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]+\/?$/i, no user info, not "null".
std::optional<ParsedOrigin> parseOrigin(std::string_view raw) {
  std::string v = lowerTrimmed(raw);
  if (v.empty() || v == "null") return std::nullopt;
  auto sep = v.find("://");
  if (sep == std::string::npos || sep == 0 || !std::isalpha(static_cast<unsigned char>(v[0]))) return std::nullopt;
  for (std::size_t i = 1; i < sep; ++i) {
    char c = v[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '-') return std::nullopt;
  }
  std::string host = v.substr(sep + 3);
  if (!host.empty() && host.back() == '/') host.pop_back();
  if (host.empty() || host.find_first_of("/?#\\@") != std::string::npos) return std::nullopt;
  // new URL() drops a scheme's default port from the origin.
  const std::string scheme = v.substr(0, sep);
  auto dropDefault = [&](std::string_view port) {
    if (host.size() > port.size() && host.compare(host.size() - port.size(), port.size(), port) == 0) {
      host.resize(host.size() - port.size());
    }
  };
  if (scheme == "http" || scheme == "ws") dropDefault(":80");
  if (scheme == "https" || scheme == "wss") dropDefault(":443");
  ParsedOrigin out;
  out.origin = scheme + "://" + host;
  out.hostName = hostNameOf(host);
  out.host = std::move(host);
  return out;
}

bool isTrustedSameOriginHost(std::string_view hostHeader, bool isLocalClient) {
  std::string name = hostNameOf(hostHeader);
  if (name.empty()) return false;
  if (isLoopbackHost(name)) return isLocalClient;
  if (IpAddress::parse(name)) return isPrivateOrLoopbackAddress(name);
  auto endsWith = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return endsWith(".local") || endsWith(".ts.net");
}

}  // namespace

std::string_view originMatchName(OriginMatch m) {
  switch (m) {
    case OriginMatch::kAllowlist:
      return "allowlist";
    case OriginMatch::kHostHeaderFallback:
      return "host-header-fallback";
    case OriginMatch::kPrivateSameOrigin:
      return "private-same-origin";
    case OriginMatch::kLocalLoopback:
      return "local-loopback";
  }
  return "allowlist";
}

std::string hostNameOf(std::string_view hostHeader) {
  std::string host = lowerTrimmed(hostHeader);
  if (host.empty()) return host;
  if (host.front() == '[') {
    auto end = host.find(']');
    if (end != std::string::npos) return host.substr(1, end - 1);
  }
  if (std::count(host.begin(), host.end(), ':') > 1) return host;  // a bare IPv6 literal
  return host.substr(0, host.find(':'));
}

bool isLoopbackHost(std::string_view hostName) {
  std::string name = lowerTrimmed(hostName);
  while (!name.empty() && name.back() == '.') name.pop_back();
  if (name == "localhost") return true;
  auto ip = IpAddress::parse(name);
  return ip && ip->isLoopback();
}

bool isPrivateOrLoopbackAddress(std::string_view ip) {
  auto address = IpAddress::parse(ip);
  if (!address) return false;
  static constexpr std::string_view kRanges[] = {"127.0.0.0/8",    "10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16",
                                                 "169.254.0.0/16", "100.64.0.0/10", "::1/128",       "fe80::/10",
                                                 "fc00::/7",       "fec0::/10"};
  return std::any_of(std::begin(kRanges), std::end(kRanges),
                     [&](std::string_view r) { return IpCidr::parse(r)->contains(*address); });
}

OriginDecision checkBrowserOrigin(const BrowserOriginRequest& request, const BrowserOriginPolicy& policy) {
  auto parsed = parseOrigin(request.origin);
  if (!parsed) return {false, OriginMatch::kAllowlist, "origin missing or invalid"};
  for (const auto& allowed : policy.allowedOrigins) {
    if (allowed == "*" || allowed == parsed->origin) return {true, OriginMatch::kAllowlist, {}};
  }
  std::string requestHost = lowerTrimmed(request.host);
  if (policy.allowHostHeaderOriginFallback && !requestHost.empty() && parsed->host == requestHost) {
    return {true, OriginMatch::kHostHeaderFallback, {}};
  }
  if (!requestHost.empty() && parsed->host == requestHost &&
      isTrustedSameOriginHost(requestHost, request.isLocalClient)) {
    return {true, OriginMatch::kPrivateSameOrigin, {}};
  }
  if (request.isLocalClient && isLoopbackHost(parsed->hostName)) return {true, OriginMatch::kLocalLoopback, {}};
  return {false, OriginMatch::kAllowlist, "origin not allowed"};
}

}  // namespace talon::security
