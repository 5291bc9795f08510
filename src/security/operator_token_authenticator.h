#pragma once
// Named operator tokens as an Authenticator in the chain (ARCHITECTURE.md "Seams": shared secret,
// device tokens, operator tokens). It sits between the device Authenticator and the shared secret:
//   RateLimited → Audited → Device → OperatorToken → SharedSecret.
// A token is "talon_op_" followed by 43 base64url characters (32 random bytes); the prefix lets this
// Authenticator (and secret scanners) recognise one without a store read for every shared-secret
// connect. Only its SHA-256 is stored (store/operator_token_repository.h). docs/security.md
// "Operator tokens".
//
// Connect: auth.token with the prefix whose hash names a stored token →
//  - revoked, expired, or bound to a role that is not defined (and no gateway.roles.default): refused
//    as a wrong token (AUTH_TOKEN_MISMATCH after the usual delay; the failure counts toward the
//    failed-auth rate limit); the audit record says why;
//  - a connect role other than operator: refused the same way (operator tokens are operator credentials);
//  - else granted: the requested scopes that exist (protocol::grantableScopes) narrowed to the role's
//    ceiling (applyScopeCeiling: a client requesting OpenClaw's default CLI scopes gets exactly the
//    role's), method "token" (OpenClaw's hello-ok auth.method is a closed set: the credential is a
//    bearer token in auth.token), Principal::operatorToken set; its last use is recorded.
// A prefixed token that names no stored token, and any other credential, is decided by `next` (so a
// shared gateway token that happens to start with the prefix still works).
// HTTP: the same for `Authorization: Bearer <token>`; the scopes are httpSharedSecretScopes() narrowed
// to the role's ceiling.
//
// Thread rules: immutable after construction; may be called from any thread at once. It reads the store
// synchronously (one indexed read per prefixed token) and records the last use asynchronously.
#include <string>
#include <string_view>

#include "base/clock.h"
#include "security/authenticator.h"
#include "security/operator_roles.h"
#include "store/store.h"

namespace talon::security {

/// The prefix of every named operator token.
inline constexpr std::string_view kOperatorTokenPrefix = "talon_op_";

/// A new operator token: kOperatorTokenPrefix + base64url of 32 random bytes (43 characters).
std::string newOperatorToken();
/// True when `token` has the operator token prefix.
bool hasOperatorTokenPrefix(std::string_view token);
/// What the store keeps of a token: its SHA-256, hex.
std::string operatorTokenHash(std::string_view token);
/// The part of a token `talon tokens list` shows: the prefix and 4 more characters.
std::string operatorTokenDisplayPrefix(std::string_view token);

class OperatorTokenAuthenticator final : public Authenticator {
 public:
  /// `next` (the shared-secret Authenticator) and `store` must outlive it.
  OperatorTokenAuthenticator(const Authenticator& next, store::Store& store, OperatorRoles roles, ClockPtr clock)
      : next_(next), store_(store), roles_(std::move(roles)), clock_(std::move(clock)) {}

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override;

  /// The effective roles.
  const OperatorRoles& roles() const { return roles_; }

 private:
  /// The stored token for `token` and the role it holds; nullopt when no stored token has its hash.
  /// Errors: kUnauthenticated (internal message: why; the token's name in `refusedName`), store errors.
  struct Match {
    std::string name;
    const OperatorRole* role = nullptr;
  };
  Result<std::optional<Match>> match(std::string_view token, std::string& refusedName, std::string& reason) const;

  const Authenticator& next_;
  store::Store& store_;
  OperatorRoles roles_;
  ClockPtr clock_;
};

}  // namespace talon::security
