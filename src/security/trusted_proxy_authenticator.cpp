#include "security/trusted_proxy_authenticator.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/ascii.h"

namespace talon::security {
namespace {

constexpr std::string_view kProxyAttributionRequired = "proxy_attribution_required";
/// OpenClaw dist/message-handler-*.mjs formatGatewayAuthFailureMessage.
constexpr std::string_view kAttributionConnectMessage =
    "unauthorized: proxy client attribution is required (configure gateway.trustedProxies narrowly and make the "
    "proxy overwrite or safely rebuild forwarded client headers)";
/// OpenClaw dist/http-common-*.mjs sendGatewayAuthFailure.
constexpr std::string_view kAttributionHttpMessage =
    "Proxy client attribution is required. Configure gateway.trustedProxies narrowly and make the proxy overwrite or "
    "safely rebuild forwarded client headers.";
constexpr std::string_view kMissingHeaderPrefix = "trusted_proxy_missing_header_";

std::string_view trimProxyText(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool sameAddress(const IpAddress& a, const IpAddress& b) {
  if (a.v4 != b.v4) return false;
  return a.v4 ? std::equal(a.bytes.begin(), a.bytes.begin() + 4, b.bytes.begin()) : a.bytes == b.bytes;
}

/// Forwarded, X-Real-IP or any X-Forwarded-* (OpenClaw dist/net-*.mjs hasForwardedRequestHeaders).
bool hasForwardedHeaders(std::span<const std::pair<std::string, std::string>> headers) {
  constexpr std::string_view kPrefix = "x-forwarded-";
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreAsciiCase(name, "forwarded") || equalsIgnoreAsciiCase(name, "x-real-ip")) return true;
    if (name.size() > kPrefix.size() &&
        equalsIgnoreAsciiCase(std::string_view(name).substr(0, kPrefix.size()), kPrefix)) {
      return true;
    }
  }
  return false;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

ConnectAuthFailure proxyConnectFailure(std::string_view reason) {
  const bool attribution = reason == kProxyAttributionRequired;
  const bool missingHeader = reason.rfind(kMissingHeaderPrefix, 0) == 0;
  const std::string message = attribution ? std::string(kAttributionConnectMessage) : std::string("unauthorized");
  ConnectAuthFailure f;
  f.error = Error(ErrorCode::kUnauthenticated, "trusted-proxy auth refused: " + std::string(reason), message);
  f.error.details = {{"code", missingHeader ? "AUTH_IDENTITY_HEADER_REQUIRED" : "AUTH_UNAUTHORIZED"},
                     {"authReason", reason},
                     {"canRetryWithDeviceToken", false},
                     {"recommendedNextStep", "review_auth_configuration"}};
  f.delay = std::chrono::milliseconds(0);
  return f;
}

Error proxyHttpFailure(std::string_view reason) {
  if (reason == kProxyAttributionRequired) {
    Error e(ErrorCode::kPermissionDenied, "trusted-proxy auth refused: " + std::string(reason),
            std::string(kAttributionHttpMessage));
    e.details = {{"type", kProxyAttributionRequired}};
    return e;
  }
  return Error(ErrorCode::kUnauthenticated, "trusted-proxy auth refused: " + std::string(reason), "Unauthorized");
}

}  // namespace

Result<std::vector<IpAddress>> hostInterfaceAddresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return fail(ErrorCode::kIo, "getifaddrs: " + std::error_code(errno, std::generic_category()).message());
  }
  std::vector<IpAddress> out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    IpAddress a;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      std::memcpy(a.bytes.data(), &in->sin_addr, 4);
      a.v4 = true;
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      std::memcpy(a.bytes.data(), &in6->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(a);
  }
  ::freeifaddrs(list);
  return out;
}

std::vector<std::string> identityScopesFor(const std::vector<std::pair<std::string, std::vector<std::string>>>& grants,
                                           std::string_view user) {
  for (const auto& [key, scopes] : grants) {
    if (key == user) return scopes;
  }
  if (user.find('@') == std::string_view::npos) return {};
  for (const auto& [key, scopes] : grants) {
    if (key.find('@') != std::string::npos && equalsIgnoreAsciiCase(key, user)) return scopes;
  }
  return {};
}

std::optional<std::vector<std::string>> declaredScopes(std::span<const std::pair<std::string, std::string>> headers) {
  auto raw = findHeader(headers, "x-openclaw-scopes");
  if (!raw) return std::nullopt;
  std::vector<std::string> out;
  std::string_view rest = *raw;
  while (true) {
    const auto comma = rest.find(',');
    std::string_view part = trimProxyText(rest.substr(0, comma));
    if (!part.empty() && std::find(out.begin(), out.end(), part) == out.end()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> withIdentityScopes(const std::vector<std::string>& deviceScopes,
                                            const ProxyIdentity& identity) {
  std::vector<std::string> all = deviceScopes;
  for (const auto& s : identity.identityScopes) {
    if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
  }
  if (!identity.scopeCap) return all;
  std::vector<std::string> capped;
  for (auto& s : all) {
    if (std::find(identity.scopeCap->begin(), identity.scopeCap->end(), s) != identity.scopeCap->end()) {
      capped.push_back(std::move(s));
    }
  }
  return capped;
}

Result<std::unique_ptr<TrustedProxyAuthenticator>> TrustedProxyAuthenticator::create(
    const config::GatewayAuthConfig& auth, const std::vector<std::string>& trustedProxies,
    InterfaceAddressSource interfaces) {
  if (!auth.trustedProxy) {
    return fail(ErrorCode::kFailedPrecondition,
                "gateway auth mode is trusted-proxy, but no trustedProxy config was provided (set "
                "gateway.auth.trustedProxy)");
  }
  if (trimProxyText(auth.trustedProxy->userHeader).empty()) {
    return fail(ErrorCode::kFailedPrecondition,
                "gateway auth mode is trusted-proxy, but trustedProxy.userHeader is empty (set "
                "gateway.auth.trustedProxy.userHeader)");
  }
  if (trustedProxies.empty()) {
    return fail(ErrorCode::kFailedPrecondition,
                "gateway auth mode is trusted-proxy, but gateway.trustedProxies is empty (list the proxy's address)");
  }
  std::unique_ptr<TrustedProxyAuthenticator> a(new TrustedProxyAuthenticator());
  for (const auto& entry : trustedProxies) {
    auto cidr = IpCidr::parse(entry);
    if (!cidr) {
      return fail(ErrorCode::kConfigInvalid,
                  "gateway.trustedProxies: \"" + entry + "\" is not an IP address or CIDR range");
    }
    a->proxies_.push_back(*cidr);
  }
  a->config_ = *auth.trustedProxy;
  a->identityScopes_ = auth.identityScopes;
  a->password_ = Secret(auth.password);
  a->interfaces_ = interfaces ? std::move(interfaces) : InterfaceAddressSource(hostInterfaceAddresses);
  return a;
}

Expected<std::string, std::string> TrustedProxyAuthenticator::verify(const PeerOrigin& origin) const {
  const auto peer = IpAddress::parse(origin.socketAddress);
  const bool peerTrusted =
      peer && std::any_of(proxies_.begin(), proxies_.end(), [&](const IpCidr& c) { return c.contains(*peer); });
  const bool peerLoopback = peer && peer->isLoopback();
  // 1. Attribution (OpenClaw resolveGatewayIngressAttribution): forwarded headers must come from a listed
  // proxy and name a non-loopback client; the transport resolved that client into remoteAddress, which
  // is the peer itself when the headers named none.
  bool attributed = false;
  if (hasForwardedHeaders(origin.headers)) {
    if (!peerTrusted) return Unexpected(std::string(kProxyAttributionRequired));
    const auto client = IpAddress::parse(origin.remoteAddress);
    if (!client || client->isLoopback() || origin.remoteAddress == origin.socketAddress) {
      return Unexpected(std::string(kProxyAttributionRequired));
    }
    attributed = true;
  }
  // 2-4. The source.
  if (!peerTrusted) return Unexpected(std::string("trusted_proxy_untrusted_source"));
  if (peerLoopback && !config_.allowLoopback) return Unexpected(std::string("trusted_proxy_loopback_source"));
  if (!peerLoopback) {
    auto local = interfaces_();
    if (!local) return Unexpected(std::string("trusted_proxy_local_interface_check_failed"));
    for (const auto& a : *local) {
      if (sameAddress(a, *peer)) return Unexpected(std::string("trusted_proxy_local_interface_source"));
    }
  }
  // 5-7. The headers and the user.
  for (const auto& name : config_.requiredHeaders) {
    auto v = findHeader(origin.headers, name);
    if (!v || trimProxyText(*v).empty()) return Unexpected(std::string(kMissingHeaderPrefix) + lowerAscii(name));
  }
  auto userValue = findHeader(origin.headers, config_.userHeader);
  const std::string_view user = userValue ? trimProxyText(*userValue) : std::string_view();
  if (user.empty()) return Unexpected(std::string("trusted_proxy_user_missing"));
  if (!config_.allowUsers.empty() &&
      std::find(config_.allowUsers.begin(), config_.allowUsers.end(), user) == config_.allowUsers.end()) {
    return Unexpected(std::string("trusted_proxy_user_not_allowed"));
  }
  // 8. A user named on a request no proxy forwarded.
  if (!attributed) return Unexpected(std::string(kProxyAttributionRequired));
  return std::string(user);
}

Expected<Principal, ConnectAuthFailure> TrustedProxyAuthenticator::authenticateConnect(
    const protocol::ConnectParams& params, protocol::Role role, const PeerOrigin& origin) const {
  auto user = verify(origin);
  if (!user) {
    // OpenClaw's local-direct password fallback for internal callers that do not pass the proxy.
    if (origin.isLoopback && !password_.empty() && params.auth.password && !params.auth.password->empty()) {
      if (!password_.equals(*params.auth.password)) {
        ConnectAuthFailure refused;
        refused.reason = protocol::AuthFailure::kPasswordMismatch;
        refused.error = protocol::authFailureError(refused.reason, params.client.id, params.client.mode, true);
        return Unexpected(std::move(refused));
      }
      protocol::ScopeGrantInput grant;
      grant.isLoopback = true;
      grant.sharedSecretAuth = true;
      grant.clientId = params.client.id;
      grant.clientMode = params.client.mode;
      grant.role = role;
      grant.requested = params.scopes;
      Principal principal;
      principal.role = role;
      principal.grantedScopes = protocol::grantScopes(grant);
      principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
      principal.method = "password";
      return principal;
    }
    return Unexpected(proxyConnectFailure(user.error()));
  }
  ProxyIdentity identity;
  identity.user = std::move(*user);
  if (role == protocol::Role::kOperator) identity.identityScopes = identityScopesFor(identityScopes_, identity.user);
  identity.scopeCap = declaredScopes(origin.headers);
  Principal principal;
  principal.role = role;
  // A connect without a device: its self-declared scopes are cleared; only the identity's grant counts.
  principal.grantedScopes = withIdentityScopes({}, identity);
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = "trusted-proxy";
  principal.proxyIdentity = std::move(identity);
  return principal;
}

Result<Principal> TrustedProxyAuthenticator::authenticateHttp(std::string_view authorization,
                                                              const PeerOrigin& origin) const {
  auto user = verify(origin);
  if (!user) {
    if (origin.isLoopback && !password_.empty() && !authorization.empty()) {
      auto token = parseBearerToken(authorization);
      if (!token) return fail(token.error());
      if (!password_.equals(*token)) {
        return fail(ErrorCode::kUnauthenticated, "bearer token does not match the gateway password", "Unauthorized");
      }
      Principal principal;
      principal.grantedScopes = httpSharedSecretScopes();
      principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
      principal.method = "password";
      return principal;
    }
    return fail(proxyHttpFailure(user.error()));
  }
  Principal principal;
  principal.role = protocol::Role::kOperator;
  auto declared = declaredScopes(origin.headers);
  principal.grantedScopes =
      declared ? protocol::grantableScopes(protocol::Role::kOperator, *declared) : httpSharedSecretScopes();
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = "trusted-proxy";
  ProxyIdentity identity;
  identity.user = std::move(*user);
  identity.scopeCap = std::move(declared);
  principal.proxyIdentity = std::move(identity);
  return principal;
}

}  // namespace talon::security
