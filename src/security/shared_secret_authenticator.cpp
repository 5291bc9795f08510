#include "security/shared_secret_authenticator.h"

namespace talon::security {

std::string_view authModeName(AuthMode mode) {
  switch (mode) {
    case AuthMode::kNone:
      return "none";
    case AuthMode::kToken:
      return "token";
    case AuthMode::kPassword:
      return "password";
  }
  return "token";
}

Result<AuthMode> parseAuthMode(std::string_view mode) {
  if (mode.empty() || mode == "token") return AuthMode::kToken;
  if (mode == "password") return AuthMode::kPassword;
  if (mode == "none") return AuthMode::kNone;
  std::string message = "gateway.auth.mode \"" + std::string(mode) + "\" is not supported by Talon yet";
  return fail(ErrorCode::kUnsupported, message, message);
}

Result<std::unique_ptr<SharedSecretAuthenticator>> SharedSecretAuthenticator::create(
    const config::GatewayAuthConfig& config, std::string_view fallbackToken) {
  auto mode = parseAuthMode(config.mode);
  if (!mode) return fail(mode.error());
  Secret secret;
  switch (*mode) {
    case AuthMode::kNone:
      break;
    case AuthMode::kToken:
      secret = Secret(config.token.empty() ? fallbackToken : std::string_view(config.token));
      break;
    case AuthMode::kPassword:
      secret = Secret(config.password);
      break;
  }
  if (*mode != AuthMode::kNone && secret.empty()) {
    const std::string name(authModeName(*mode));
    return fail(ErrorCode::kFailedPrecondition, "gateway.auth.mode is " + name + " but no " + name + " is set",
                "gateway.auth." + name + " is not set (or its ${VAR} is unset)");
  }
  return std::unique_ptr<SharedSecretAuthenticator>(new SharedSecretAuthenticator(*mode, std::move(secret)));
}

Expected<Principal, ConnectAuthFailure> SharedSecretAuthenticator::authenticateConnect(
    const protocol::ConnectParams& params, protocol::Role role, const PeerOrigin& origin) const {
  std::optional<protocol::AuthFailure> failure;
  if (mode_ == AuthMode::kToken) {
    const auto& token = params.auth.token;
    if (!token || token->empty()) {
      failure = protocol::AuthFailure::kTokenMissing;
    } else if (!secret_.equals(*token)) {
      failure = protocol::AuthFailure::kTokenMismatch;
    }
  } else if (mode_ == AuthMode::kPassword) {
    const auto& password = params.auth.password;
    if (!password || password->empty()) {
      failure = protocol::AuthFailure::kPasswordMissing;
    } else if (!secret_.equals(*password)) {
      failure = protocol::AuthFailure::kPasswordMismatch;
    }
  }
  if (failure) {
    ConnectAuthFailure refused;
    refused.reason = *failure;
    refused.error = protocol::authFailureError(*failure, params.client.id, params.client.mode, origin.isLoopback);
    return Unexpected(std::move(refused));
  }
  // Mode none (loopback only: the gateway refuses to bind elsewhere without a secret) grants the
  // requested scopes exactly as the shared secret does.
  protocol::ScopeGrantInput grant;
  grant.isLoopback = origin.isLoopback;
  grant.sharedSecretAuth = true;
  grant.clientId = params.client.id;
  grant.clientMode = params.client.mode;
  grant.role = role;
  grant.requested = params.scopes;
  Principal principal;
  principal.role = role;
  principal.grantedScopes = protocol::grantScopes(grant);
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = std::string(authModeName(mode_));
  return principal;
}

Result<Principal> SharedSecretAuthenticator::authenticateHttp(std::string_view authorization,
                                                              const PeerOrigin& origin) const {
  if (mode_ != AuthMode::kNone) {
    auto token = parseBearerToken(authorization);
    if (!token) return fail(token.error());
    if (!secret_.equals(*token)) {
      return fail(ErrorCode::kUnauthenticated,
                  "bearer token does not match the gateway " + std::string(authModeName(mode_)), "Unauthorized");
    }
  }
  Principal principal;
  principal.role = protocol::Role::kOperator;
  principal.grantedScopes = httpSharedSecretScopes();
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = std::string(authModeName(mode_));
  return principal;
}

}  // namespace talon::security
