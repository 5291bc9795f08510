#pragma once
// An Authenticator that records its decisions in the audit log (issue 6 "Audit": auth decisions),
// around whichever Authenticator decides (shared secret today; device and operator tokens later), so
// that every caller of the seam — the WebSocket connect, the HTTP routes — is audited in one place.
#include "security/audit_sink.h"
#include "security/authenticator.h"

namespace talon::security {

/// Records, through `sink`:
///  - "auth.connect" for every WebSocket connect, allowed or denied: actor "<role>:<client.id>", target
///    "gateway", details {clientId, clientMode, role, method (allowed), user (allowed by a trusted proxy:
///    the identity it named), scopes (granted), reason (denied: OpenClaw's AUTH_* code), authReason
///    (denied, when the refusal names one: token_mismatch, trusted_proxy_user_missing, ...),
///    remoteAddress, deviceId (when the client sent a device identity)};
///  - "auth.http" for every refused HTTP request: actor "http:<remoteAddress>", details {remoteAddress,
///    reason (the internal message: which check failed)}. Allowed HTTP requests are not recorded (one per
///    scrape or API call would drown the log; the access log has them) — except those authenticated by a
///    named operator token, each of whose uses is recorded.
/// A connect or request by a named operator token has actor "operator-token:<name>" and details tokenName
/// and tokenRole (allowed) or tokenName and tokenRefusal ("revoked", "expired", ...; denied).
/// Never records a credential: neither the token or password sent nor the configured one. Thread-safe
/// and immutable like every Authenticator; `inner` and `sink` must outlive it.
class AuditedAuthenticator final : public Authenticator {
 public:
  AuditedAuthenticator(const Authenticator& inner, AuditSink& sink) : inner_(inner), sink_(sink) {}

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override;

 private:
  const Authenticator& inner_;
  AuditSink& sink_;
};

}  // namespace talon::security
