#include "security/operator_token_authenticator.h"

#include <sodium.h>

#include "base/hash.h"
#include "security/device_identity.h"

namespace talon::security {

std::string newOperatorToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return std::string(kOperatorTokenPrefix) + base64UrlEncode({reinterpret_cast<const char*>(bytes), sizeof bytes});
}

bool hasOperatorTokenPrefix(std::string_view token) { return token.starts_with(kOperatorTokenPrefix); }

std::string operatorTokenHash(std::string_view token) { return sha256Hex(token); }

std::string operatorTokenDisplayPrefix(std::string_view token) {
  return std::string(token.substr(0, kOperatorTokenPrefix.size() + 4));
}

Result<std::optional<OperatorTokenAuthenticator::Match>> OperatorTokenAuthenticator::match(std::string_view token,
                                                                                           std::string& refusedName,
                                                                                           std::string& reason) const {
  auto found = store_.operatorTokens().findByHash(operatorTokenHash(token));
  if (!found) {
    reason = "store";
    return fail(found.error());
  }
  if (!*found) return std::optional<Match>();
  const store::OperatorTokenRecord& record = **found;
  const int64_t now = clock_->nowMs();
  auto refuse = [&](std::string why) -> Result<std::optional<Match>> {
    refusedName = record.name;
    reason = why;
    return fail(ErrorCode::kUnauthenticated, "operator token \"" + record.name + "\" refused: " + why, "Unauthorized");
  };
  if (record.revokedAtMs != 0) return refuse("revoked");
  if (record.expiresAtMs != 0 && now >= record.expiresAtMs) return refuse("expired");
  const OperatorRole* role = roles_.resolve(record.role);
  if (role == nullptr) return refuse("role-undefined");
  store::WriteBatch touch;
  store::OperatorTokenRepository::touch(touch, record.name, now);
  store_.submit(std::move(touch), [](Status) {});  // best effort: last use is informational
  return std::optional<Match>(Match{record.name, role});
}

Expected<Principal, ConnectAuthFailure> OperatorTokenAuthenticator::authenticateConnect(
    const protocol::ConnectParams& params, protocol::Role role, const PeerOrigin& origin) const {
  if (!params.auth.token || !hasOperatorTokenPrefix(*params.auth.token)) {
    return next_.authenticateConnect(params, role, origin);
  }
  std::string refusedName;
  std::string reason;
  auto found = match(*params.auth.token, refusedName, reason);
  bool refuse = !found;
  if (found && *found && role != protocol::Role::kOperator) {
    refusedName = (*found)->name;
    reason = "role-not-operator";
    refuse = true;
  }
  if (refuse) {
    ConnectAuthFailure refused;
    refused.reason = protocol::AuthFailure::kTokenMismatch;
    refused.error = protocol::authFailureError(refused.reason, params.client.id, params.client.mode, origin.isLoopback);
    refused.operatorTokenName = std::move(refusedName);
    refused.auditReason = std::move(reason);
    return Unexpected(std::move(refused));
  }
  if (!*found) return next_.authenticateConnect(params, role, origin);
  const OperatorRole& grantedRole = *(*found)->role;
  Principal principal;
  principal.role = role;
  principal.grantedScopes = applyScopeCeiling(protocol::grantableScopes(role, params.scopes), grantedRole.scopes);
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = "token";
  principal.operatorToken =
      OperatorTokenGrant{(*found)->name, grantedRole.name, grantedRole.scopes, grantedRole.agents};
  return principal;
}

Result<Principal> OperatorTokenAuthenticator::authenticateHttp(std::string_view authorization,
                                                               const PeerOrigin& origin) const {
  auto token = parseBearerToken(authorization);
  if (!token || !hasOperatorTokenPrefix(*token)) return next_.authenticateHttp(authorization, origin);
  std::string refusedName;
  std::string reason;
  auto found = match(*token, refusedName, reason);
  if (!found) return fail(found.error());
  if (!*found) return next_.authenticateHttp(authorization, origin);
  const OperatorRole& grantedRole = *(*found)->role;
  Principal principal;
  principal.role = protocol::Role::kOperator;
  principal.grantedScopes = applyScopeCeiling(httpSharedSecretScopes(), grantedRole.scopes);
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.method = "token";
  principal.operatorToken =
      OperatorTokenGrant{(*found)->name, grantedRole.name, grantedRole.scopes, grantedRole.agents};
  return principal;
}

}  // namespace talon::security
