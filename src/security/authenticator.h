#pragma once
// The Authenticator seam (ARCHITECTURE.md "Seams"): the one place that decides who a WebSocket connect
// or an HTTP request is, with which role and scopes. The gateway's shared token/password is the first
// implementation (shared_secret_authenticator.h); device tokens, operator tokens and a trusted reverse
// proxy (trusted_proxy_authenticator.h) are further implementations chained behind this same interface.
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/expected.h"
#include "protocol/client_info.h"
#include "protocol/errors.h"
#include "protocol/handshake.h"
#include "protocol/scopes.h"

namespace talon::security {

/// OpenClaw answers a connect with bad credentials after about 270 ms, which slows down guessing
/// (reference/openclaw-protocol.md §1). The transport waits this long before sending
/// ConnectAuthFailure::error; the Authenticator itself never sleeps.
inline constexpr std::chrono::milliseconds kAuthFailureDelay{270};

/// Where a connect or request comes from, as the transport saw it.
struct PeerOrigin {
  /// The peer is on loopback (127.0.0.1 / ::1) without proxy or browser-origin headers.
  bool isLoopback = false;
  /// The client's IP address (after gateway.trustedProxies: net/client_address.h), the key of the
  /// failed-auth rate limit; may be empty.
  std::string_view remoteAddress{};
  /// The nonce of the connect.challenge this connection was sent (a device signs it); empty for HTTP.
  std::string_view challengeNonce{};
  /// The socket's peer address (the reverse proxy's when the request came through one; remoteAddress
  /// is then the client it names); empty when the transport does not tell it.
  std::string_view socketAddress{};
  /// The request's headers as received (for a connect: its WebSocket upgrade request's), read with
  /// findHeader(); empty when the transport does not pass them. Only the trusted-proxy Authenticator
  /// reads them.
  std::span<const std::pair<std::string, std::string>> headers{};
};

/// The value of the first header named `name` (ASCII case-insensitive) in `headers`; nullopt when
/// absent (a header present with an empty value is "").
std::optional<std::string_view> findHeader(std::span<const std::pair<std::string, std::string>> headers,
                                           std::string_view name);

/// The identity a trusted reverse proxy vouched for (security/trusted_proxy_authenticator.h).
struct ProxyIdentity {
  /// The user, as the proxy's user header carried it (trimmed).
  std::string user;
  /// The operator scopes gateway.auth.identityScopes grants the user (operator connects only).
  std::vector<std::string> identityScopes;
  /// The connect's `x-openclaw-scopes` header as a set of names when present (empty: no scopes).
  std::optional<std::vector<std::string>> scopeCap;
};

/// The named operator token a caller authenticated with (security/operator_token_authenticator.h).
struct OperatorTokenGrant {
  /// The token's name (never the token).
  std::string name;
  /// The role it was granted: its own, or gateway.roles.default when its own is no longer defined.
  std::string role;
  /// The role's scope ceiling (operator scope names); every grant of the connection is narrowed to it.
  std::vector<std::string> ceiling;
  /// The agents the role may run; nullopt: every agent.
  std::optional<std::vector<std::string>> agents;
};

/// Who is calling: the outcome of a successful authentication.
struct Principal {
  protocol::Role role = protocol::Role::kOperator;
  /// The granted scopes as a set, for per-request checks (protocol::authorize).
  protocol::ScopeSet scopes;
  /// The granted scopes as names, as hello-ok's auth.scopes carries them: only names of the closed
  /// operator set that the role may hold (protocol::grantableScopes), in the order requested.
  std::vector<std::string> grantedScopes;
  /// How the caller proved who it is, as hello-ok's auth.method names it: "token", "password", "none",
  /// "device-token", "trusted-proxy".
  std::string method;
  /// The verified device identity of the connect (security/device_identity.h); empty without one.
  std::string deviceId;
  /// A device token issued at this connect, for hello-ok's auth.deviceToken; empty when none is issued
  /// (the device already holds its token). Never logged or audited.
  std::string issuedDeviceToken;
  /// Set when the credential was a named operator token (method "token", as OpenClaw's closed set has it).
  std::optional<OperatorTokenGrant> operatorToken;
  /// Set when a trusted proxy authenticated the caller (method "trusted-proxy").
  std::optional<ProxyIdentity> proxyIdentity;
};

/// A connect refused for its credentials.
struct ConnectAuthFailure {
  /// OpenClaw's auth reason (token_missing, token_mismatch, password_missing, password_mismatch).
  protocol::AuthFailure reason = protocol::AuthFailure::kTokenMissing;
  /// protocol::authFailureError(reason, client id, client mode, origin.isLoopback): answer the connect
  /// with it after `delay`, then close with 1008 and `closeReason` (error.publicMessage() when empty).
  Error error;
  /// How long the transport waits before answering: kAuthFailureDelay for a credential guess, 0 for a
  /// refusal that is no guess (a bad device signature, pairing required), as OpenClaw answers those at once.
  std::chrono::milliseconds delay = kAuthFailureDelay;
  /// The WebSocket close reason when it differs from the message ("pairing required: ... (requestId: x)").
  std::string closeReason;
  /// For the audit log only (never told to the client): the named operator token offered, and why it was
  /// refused ("revoked", "expired", "role-undefined", "role-not-operator", "store"); empty otherwise.
  std::string operatorTokenName;
  std::string auditReason;
};

/// Decides who a caller is. Implementations are immutable after creation: every method is const and
/// may be called from any thread at once.
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  /// Authenticates the `connect` of a WebSocket client. `params` passed protocol::parseConnectRequest
  /// and `role` is what protocol::validateConnect returned for them (the role, device-without-secret
  /// and protocol checks come first, in OpenClaw's order). Returns the Principal (role, scopes,
  /// method) or the credential failure to answer with.
  virtual Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                                      protocol::Role role,
                                                                      const PeerOrigin& origin) const = 0;

  /// Authenticates an HTTP request from its `Authorization` header value (empty when absent). Errors:
  /// kUnauthenticated with an internal message saying why (missing header, not Bearer, empty token,
  /// mismatch) and the external message "Unauthorized" (the reason is not told to the client).
  virtual Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const = 0;
};
using AuthenticatorPtr = std::unique_ptr<Authenticator>;

/// The token of an `Authorization: Bearer <token>` header value. The scheme is matched
/// case-insensitively (RFC 7235 §2.1: "Bearer", "bearer", "BEARER"); optional whitespace around the
/// value (RFC 7230 §3.2.3) and one or more spaces between scheme and token (RFC 7235 §2.1, 1*SP) are
/// skipped; the token is what remains, trailing whitespace trimmed (as OpenClaw's parseBearerToken:
/// `slice(7).trim()`, so a password containing inner spaces still works). Errors (kUnauthenticated,
/// external message "Unauthorized"): an empty header, another scheme ("Basic x"), "Bearer" without a
/// token.
Result<std::string_view> parseBearerToken(std::string_view authorization);

/// The scopes an HTTP caller authenticated by the gateway's shared secret is granted: OpenClaw's
/// CLI_DEFAULT_OPERATOR_SCOPES (operator.admin, read, write, approvals, questions, pairing,
/// talk.secrets), in that order. Source: OpenClaw 2026.9.6 dist/http-auth-utils-*.mjs
/// resolveSharedSecretHttpOperatorScopes.
const std::vector<std::string>& httpSharedSecretScopes();

}  // namespace talon::security
