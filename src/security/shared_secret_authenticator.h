#pragma once
// The gateway's shared secret (gateway.auth.mode token | password | none) as an Authenticator.
// Source: OpenClaw 2026.9.6 dist/auth-*.mjs (authorizeGatewayConnect: token_missing / token_mismatch /
// password_missing / password_mismatch), dist/http-auth-utils-*.mjs (checkGatewayHttpRequestAuth: the
// bearer token is offered as both token and password), reference/openclaw-protocol.md §1.
#include <memory>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "config/config_model.h"
#include "security/authenticator.h"
#include "security/secret.h"

namespace talon::security {

/// `gateway.auth.mode`.
enum class AuthMode { kNone, kToken, kPassword };

/// The config name of a mode: "none", "token", "password" (also hello-ok's snapshot.authMode and
/// auth.method).
std::string_view authModeName(AuthMode mode);

/// Parses `gateway.auth.mode`; "" means "token" (OpenClaw's default). Errors: kUnsupported
/// `gateway.auth.mode "<mode>" is not supported by Talon yet` for anything else, "trusted-proxy"
/// included: that mode is TrustedProxyAuthenticator's (trusted_proxy_authenticator.h), not this class's.
Result<AuthMode> parseAuthMode(std::string_view mode);

/// Authenticates by the gateway's one shared secret:
///  - connect: in token mode `auth.token` must be present and non-empty (else token_missing) and equal
///    the token (else token_mismatch); in password mode the same with `auth.password`; in none mode
///    everyone passes. The granted scopes follow protocol::grantScopes with sharedSecretAuth = true
///    (so in none mode, too, a loopback cli/cli or gateway-client/backend operator keeps the known
///    scopes it requested; anyone else, and role node or worker, gets none). method = authModeName(mode()).
///  - HTTP: in token or password mode the bearer token (parseBearerToken) must equal the secret; the
///    Principal is an operator with httpSharedSecretScopes(). In none mode every request passes with
///    the same scopes and method "none" (the Authorization header is not looked at).
/// An empty offered value counts as missing, as in OpenClaw (`!connectToken`).
/// Thread rules: immutable after create(); every method may be called from any thread at once.
class SharedSecretAuthenticator final : public Authenticator {
 public:
  /// From `gateway.auth`. In token mode with no `token` configured, `fallbackToken` (the generated token
  /// of a config-less start) is used. Errors: kUnsupported for an unknown mode (see parseAuthMode);
  /// kFailedPrecondition "gateway.auth.mode is <mode> but no <mode> is set" (external: "gateway.auth.<mode>
  /// is not set (or its ${VAR} is unset)") when token or password mode has no secret.
  static Result<std::unique_ptr<SharedSecretAuthenticator>> create(const config::GatewayAuthConfig& config,
                                                                   std::string_view fallbackToken = {});

  /// The configured mode (the gateway refuses a non-loopback bind in kNone).
  AuthMode mode() const { return mode_; }

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override;

 private:
  SharedSecretAuthenticator(AuthMode mode, Secret secret) : mode_(mode), secret_(std::move(secret)) {}

  AuthMode mode_;
  Secret secret_;  // the token or password; empty in none mode
};

}  // namespace talon::security
