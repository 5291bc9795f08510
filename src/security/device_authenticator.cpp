#include "security/device_authenticator.h"

#include <sodium.h>

#include <algorithm>

#include "base/hash.h"
#include "base/ids.h"
#include "protocol/errors.h"
#include "security/device_identity.h"
#include "security/operator_roles.h"
#include "security/trusted_proxy_authenticator.h"

namespace talon::security {
namespace {

ConnectAuthFailure immediate(Error error, std::string closeReason = {}) {
  ConnectAuthFailure f;
  f.reason = protocol::AuthFailure::kTokenMismatch;  // unused for these refusals; kept for the type
  f.error = std::move(error);
  f.delay = std::chrono::milliseconds(0);
  f.closeReason = std::move(closeReason);
  return f;
}

bool hashEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// True when every scope of `requested` is satisfied by `approved` (with OpenClaw's implications).
bool covers(const std::vector<std::string>& approved, const std::vector<std::string>& requested) {
  const auto set = protocol::ScopeSet::fromNames(approved);
  return std::all_of(requested.begin(), requested.end(), [&](const std::string& name) {
    auto scope = protocol::parseScope(name);
    return scope && set.satisfies(*scope);
  });
}

}  // namespace

std::string newDeviceToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return base64UrlEncode({reinterpret_cast<const char*>(bytes), sizeof bytes});
}

void DeviceAuthenticator::audit(const protocol::ConnectParams& params, const PeerOrigin& origin, AuditOutcome outcome,
                                std::string_view reason) const {
  AuditEvent e;
  e.kind = "auth.device";
  e.actor = params.device ? "device:" + params.device->id : "client:" + params.client.id;
  e.target = params.role;
  e.outcome = outcome;
  e.details = {{"reason", reason},
               {"clientId", params.client.id},
               {"clientMode", protocol::clientModeName(params.client.mode)},
               {"remote", origin.remoteAddress}};
  audit_.record(std::move(e));
}

Expected<Principal, ConnectAuthFailure> DeviceAuthenticator::authenticateConnect(const protocol::ConnectParams& params,
                                                                                 protocol::Role role,
                                                                                 const PeerOrigin& origin) const {
  if (params.device) return authenticateDevice(params, role, origin);
  const bool offersDeviceCredential = params.auth.deviceToken || params.auth.bootstrapToken;
  if ((!origin.isLoopback && role != protocol::Role::kOperator) ||
      (offersDeviceCredential && !params.auth.hasSharedSecret())) {
    audit(params, origin, AuditOutcome::kDenied, "device-required");
    return Unexpected(immediate(protocol::deviceIdentityRequiredError()));
  }
  // No device involved: the shared-secret decision is audited once, as auth.connect, by the audited
  // wrapper around this authenticator.
  return shared_.authenticateConnect(params, role, origin);
}

Expected<Principal, ConnectAuthFailure> DeviceAuthenticator::authenticateDevice(const protocol::ConnectParams& params,
                                                                                protocol::Role role,
                                                                                const PeerOrigin& origin) const {
  const int64_t now = clock_->nowMs();
  auto proof = verifyDeviceProof(params, origin.challengeNonce, now);
  if (!proof) {
    audit(params, origin, AuditOutcome::kDenied, deviceProofReason(proof.error()));
    return Unexpected(immediate(deviceProofError(proof.error())));
  }
  const std::string& deviceId = proof->deviceId;
  auto devices = store_.devices();
  auto storeFailure = [&](const Error& e) {
    audit(params, origin, AuditOutcome::kFailed, "store");
    return Unexpected(immediate(e));
  };

  // 2. Credentials.
  Principal principal;
  std::optional<store::DeviceTokenRecord> token;
  auto tokens = devices.tokens(deviceId);
  if (!tokens) return storeFailure(tokens.error());
  for (auto& t : *tokens) {
    if (t.role == params.role && t.revokedAtMs == 0) token = t;
  }
  if (params.auth.hasSharedSecret() || !params.auth.deviceToken) {
    auto shared = shared_.authenticateConnect(params, role, origin);
    if (!shared) {
      audit(params, origin, AuditOutcome::kDenied,
            shared.error().error.details.contains("authReason")
                ? std::string_view(shared.error().error.details.at("authReason").as_string())
                : std::string_view("unauthorized"));
      return Unexpected(std::move(shared).error());
    }
    principal.method = shared->method;
    principal.operatorToken = shared->operatorToken;
    principal.proxyIdentity = shared->proxyIdentity;
  } else {
    auto paired = devices.getPaired(deviceId);
    if (!paired) return storeFailure(paired.error());
    const bool valid =
        token && !token->tokenHash.empty() && *paired && (*paired)->claim.publicKey == proof->publicKey &&
        hashEquals(token->tokenHash, sha256Hex(*params.auth.deviceToken)) && covers(token->scopes, params.scopes);
    if (!valid) {
      audit(params, origin, AuditOutcome::kDenied, "device_token_mismatch");
      ConnectAuthFailure f;
      f.error = protocol::deviceTokenMismatchError();
      return Unexpected(std::move(f));
    }
    principal.method = "device-token";
  }

  // 3. Pairing.
  auto paired = devices.getPaired(deviceId);
  if (!paired) return storeFailure(paired.error());
  std::optional<protocol::PairingReason> reason;
  if (!*paired || (*paired)->claim.publicKey != proof->publicKey) {
    reason = protocol::PairingReason::kNotPaired;
  } else if ((*paired)->claim.role != params.role) {
    reason = protocol::PairingReason::kRoleUpgrade;
  } else if (!token) {
    reason = protocol::PairingReason::kNotPaired;  // its token was revoked
  } else if (!covers((*paired)->claim.scopes, protocol::grantableScopes(role, params.scopes))) {
    reason = protocol::PairingReason::kScopeUpgrade;
  }
  if (reason) {
    store::DeviceClaim claim;
    claim.deviceId = deviceId;
    claim.publicKey = proof->publicKey;
    claim.displayName = params.client.displayName.value_or("");
    claim.platform = params.client.platform;
    claim.deviceFamily = params.client.deviceFamily.value_or("");
    claim.clientId = params.client.id;
    claim.clientMode = std::string(protocol::clientModeName(params.client.mode));
    claim.role = params.role;
    claim.scopes = protocol::grantableScopes(role, params.scopes);
    std::string_view remote = origin.remoteAddress;
    if (auto colon = remote.rfind(':'); colon != std::string_view::npos) remote = remote.substr(0, colon);
    claim.remoteIp = std::string(remote);
    store::WriteBatch batch;
    store::DeviceRepository::requestPairing(batch, newUuid(), claim, now);
    if (auto st = store_.write(std::move(batch)); !st) {
      audit(params, origin, AuditOutcome::kDenied, "pairing-request-refused");
      return Unexpected(immediate(st.error()));
    }
    auto pending = devices.pendingForDevice(deviceId, now);
    if (!pending) return storeFailure(pending.error());
    const std::string requestId = *pending ? (*pending)->requestId : std::string();
    AuditEvent e;
    e.kind = "device.pair.request";
    e.actor = "device:" + deviceId;
    e.target = requestId;
    e.outcome = AuditOutcome::kDenied;
    e.details = {
        {"reason", protocol::pairingReasonName(*reason)}, {"role", params.role}, {"remote", origin.remoteAddress}};
    audit_.record(std::move(e));
    return Unexpected(immediate(protocol::pairingRequiredError(*reason, requestId, deviceId, params.role, claim.scopes),
                                protocol::pairingCloseReason(*reason, requestId)));
  }

  // 4. Granted; deliver a token approved or rotated since the device's last connect.
  store::WriteBatch batch;
  if (token->tokenHash.empty()) {
    principal.issuedDeviceToken = newDeviceToken();
    store::DeviceRepository::setToken(batch, deviceId, params.role, sha256Hex(principal.issuedDeviceToken),
                                      token->scopes, now, token->rotatedAtMs != 0);
  }
  store::DeviceRepository::touchToken(batch, deviceId, params.role, now);
  if (auto st = store_.write(std::move(batch)); !st) return storeFailure(st.error());
  principal.role = role;
  principal.grantedScopes = protocol::grantableScopes(role, params.scopes);
  // A named operator token's role stays the ceiling when a paired device presents it.
  if (principal.operatorToken) {
    principal.grantedScopes = applyScopeCeiling(principal.grantedScopes, principal.operatorToken->ceiling);
  }
  // A trusted proxy's identity adds its identityScopes grant for this session, then its cap applies.
  if (principal.proxyIdentity)
    principal.grantedScopes = withIdentityScopes(principal.grantedScopes, *principal.proxyIdentity);
  principal.scopes = protocol::ScopeSet::fromNames(principal.grantedScopes);
  principal.deviceId = deviceId;
  audit(params, origin, AuditOutcome::kAllowed, principal.method);
  return principal;
}

}  // namespace talon::security
