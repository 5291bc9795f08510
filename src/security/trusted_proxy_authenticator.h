#pragma once
// `gateway.auth.mode: "trusted-proxy"` as an Authenticator: an identity-aware reverse proxy (Pomerium,
// oauth2-proxy, Caddy, ...) authenticates the user and names them in a header; the gateway believes that
// header only from the proxy. It takes the shared secret's place at the bottom of the chain
//   RateLimited → Audited → Device → TrustedProxy
// (named operator tokens are not in it: token auth is refused beside trusted-proxy, as in OpenClaw).
// Source: OpenClaw 2026.9.6 docs/gateway/trusted-proxy-auth.md ("Runtime rules, in order of
// evaluation", "Per-identity scope grants", "Operator scopes header"), dist/auth-*.mjs
// (authorizeTrustedProxy, authorizeGatewayConnectCore), dist/ingress-attribution-*.mjs,
// dist/message-handler-*.mjs (resolveEffectiveConnectionScopes, applyConnectionScopeCap),
// dist/operator-identity-scopes-*.mjs, dist/http-auth-utils-*.mjs (resolveTrustedHttpOperatorScopes).
//
// Rules, in OpenClaw's order (the first that fails is the reason, audited and counted by the failed-auth
// rate limit like any refused credential):
//  1. attribution: a request that carries forwarded headers (Forwarded, X-Real-IP, X-Forwarded-*) from a
//     listed proxy must name a non-loopback client in them (PeerOrigin::remoteAddress as the transport
//     resolved it, net/client_address.h); forwarded headers from an unlisted peer are refused too:
//     proxy_attribution_required;
//  2. the socket peer must be in gateway.trustedProxies: trusted_proxy_untrusted_source;
//  3. a loopback peer only with trustedProxy.allowLoopback: trusted_proxy_loopback_source;
//  4. a non-loopback peer that is one of the host's own interface addresses (getifaddrs) is refused:
//     trusted_proxy_local_interface_source (trusted_proxy_local_interface_check_failed when the
//     addresses cannot be read);
//  5. each requiredHeaders entry present and non-blank: trusted_proxy_missing_header_<name>;
//  6. userHeader present and non-blank: trusted_proxy_user_missing;
//  7. allowUsers, when non-empty, lists the trimmed user: trusted_proxy_user_not_allowed;
//  8. a user accepted on a request that was not attributed to a proxy (a direct loopback request
//     without forwarded headers): proxy_attribution_required.
// A direct loopback caller (PeerOrigin::isLoopback) that offers gateway.auth.password passes by it
// when one is configured (OpenClaw's local-direct password fallback for internal callers).
//
// Granted: method "trusted-proxy", Principal::proxyIdentity set.
//  - connect: an operator gets the identityScopes grant of the user (email keys matched
//    case-insensitively, other keys exactly), capped by the upgrade request's `x-openclaw-scopes`
//    header when present (present but empty: no scopes); its self-declared scopes are not granted. A
//    paired device adds its authorized scopes before the cap (withIdentityScopes, applied by the device
//    Authenticator). Role node or worker gets no scopes.
//  - HTTP: the scopes `x-openclaw-scopes` declares (known operator scope names only; present but empty:
//    none), or httpSharedSecretScopes() when the header is absent. The Authorization header is not
//    read except for the local password fallback.
// Refusals answer at once (OpenClaw does not delay them: nothing secret is being guessed). A connect is
// refused with INVALID_REQUEST "unauthorized" (proxy_attribution_required: OpenClaw's attribution
// message), details {code: AUTH_UNAUTHORIZED (AUTH_IDENTITY_HEADER_REQUIRED for a missing required
// header), authReason, canRetryWithDeviceToken: false, recommendedNextStep: "review_auth_configuration"};
// an HTTP request with kUnauthenticated "Unauthorized" (internal message: the reason), or
// kPermissionDenied with OpenClaw's attribution message for proxy_attribution_required (403).
//
// Thread rules: immutable after create(); every method may be called from any thread at once.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ip_cidr.h"
#include "config/config_model.h"
#include "security/authenticator.h"
#include "security/secret.h"

namespace talon::security {

/// The addresses of the host's own network interfaces, or an error when they cannot be read.
using InterfaceAddressSource = std::function<Result<std::vector<IpAddress>>()>;

/// The host's interface addresses from getifaddrs(3) (IPv4 and IPv6, loopback included). Errors: kIo
/// naming errno.
Result<std::vector<IpAddress>> hostInterfaceAddresses();

/// The identityScopes grant of `user`: the entry whose key equals it exactly, else (for a user that
/// contains '@') the first email key equal ignoring ASCII case; empty when none matches.
/// OpenClaw dist/operator-identity-scopes-*.mjs resolveIdentityOperatorScopes.
std::vector<std::string> identityScopesFor(const std::vector<std::pair<std::string, std::vector<std::string>>>& grants,
                                           std::string_view user);

/// `x-openclaw-scopes` as a set of names: comma-separated, trimmed, blanks dropped; nullopt when the
/// header is absent.
std::optional<std::vector<std::string>> declaredScopes(std::span<const std::pair<std::string, std::string>> headers);

/// The scopes of a trusted-proxy connect: `deviceScopes` (those a paired device is authorized for; empty
/// without a device) united with identity.identityScopes, then narrowed to identity.scopeCap when set.
/// Order: the device's first, then the identity's new ones.
std::vector<std::string> withIdentityScopes(const std::vector<std::string>& deviceScopes,
                                            const ProxyIdentity& identity);

class TrustedProxyAuthenticator final : public Authenticator {
 public:
  /// From `gateway.auth` (mode "trusted-proxy", `trustedProxy` set: config validation guarantees both)
  /// and `gateway.trustedProxies`. `interfaces` defaults to hostInterfaceAddresses. Errors:
  /// kFailedPrecondition naming the missing key (trustedProxy, its userHeader, gateway.trustedProxies),
  /// kConfigInvalid for an entry of trustedProxies that is not an address or CIDR range.
  static Result<std::unique_ptr<TrustedProxyAuthenticator>> create(const config::GatewayAuthConfig& auth,
                                                                   const std::vector<std::string>& trustedProxies,
                                                                   InterfaceAddressSource interfaces = {});

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override;

  /// The rules 1-8 above for one request: the user, or the refusal reason (OpenClaw's name, e.g.
  /// "trusted_proxy_loopback_source").
  Expected<std::string, std::string> verify(const PeerOrigin& origin) const;

 private:
  TrustedProxyAuthenticator() = default;

  config::TrustedProxyAuthConfig config_;
  std::vector<std::pair<std::string, std::vector<std::string>>> identityScopes_;
  std::vector<IpCidr> proxies_;
  Secret password_;  // gateway.auth.password for direct local callers; empty when not configured
  InterfaceAddressSource interfaces_;
};

}  // namespace talon::security
