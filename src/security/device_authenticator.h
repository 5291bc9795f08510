#pragma once
// Device identity, pairing and device tokens at connect time, as an Authenticator that wraps the
// gateway's shared-secret Authenticator (the chain of ARCHITECTURE.md "Seams": device first, then the
// shared secret). Source: OpenClaw 2026.9.6 dist/message-handler-*.mjs (authenticateGatewayConnectCore,
// evaluateMissingDeviceIdentity, verifyGatewayConnectDeviceProof, authorizeGatewayConnectDevice),
// dist/role-policy-*.mjs (roleCanSkipDeviceIdentity), dist/device-pairing-identity-*.mjs
// (listEffectivePairedDeviceRoles).
//
// A connect with a `device` block:
//  1. the proof is verified (security/device_identity.h); a bad one is refused at once with OpenClaw's
//     DEVICE_AUTH_* details;
//  2. credentials: the shared token/password if offered (its failure answers as without a device), else
//     the device token (auth.deviceToken: the active token of this device and role, by SHA-256, whose
//     scopes cover the requested ones; else AUTH_DEVICE_TOKEN_MISMATCH), else as the shared secret
//     answers for no credentials;
//  3. pairing: the device must be paired with this public key and role, hold an active (not revoked)
//     token for the role, and have been approved for every requested scope. Otherwise a pending pairing
//     request is created or refreshed and the connect is refused with NOT_PAIRED / PAIRING_REQUIRED
//     (reason not-paired, role-upgrade or scope-upgrade; requestId in details and close reason).
//     Talon never approves silently: OpenClaw auto-approves a first pairing from a local client unless
//     gateway.nodes.pairing.autoApproveLocal is false; Talon always waits for an operator.
//  4. granted: the requested scopes that exist and the role may hold (protocol::grantableScopes),
//     narrowed to the role ceiling of a named operator token when that was the credential; when a
//     trusted proxy vouched for the caller (Principal::proxyIdentity), united with the user's
//     identityScopes and capped by x-openclaw-scopes (trusted_proxy_authenticator.h withIdentityScopes).
//     A token approved but not yet delivered is issued now and returned in hello-ok auth.deviceToken.
// A connect without `device`: from a non-loopback peer, a role other than operator is refused with
// NOT_PAIRED / DEVICE_IDENTITY_REQUIRED (OpenClaw roleCanSkipDeviceIdentity), as is a device token or
// bootstrap token offered without a device; everything else goes to the shared-secret Authenticator.
// Every decision is recorded on the AuditSink ("auth.connect", actor "device:<id>" or "client:<id>").
//
// Thread rules: immutable after construction; authenticateConnect may be called from any thread. It
// reads and writes the store synchronously (only for connects that carry a device or device token).
#include <memory>

#include "base/clock.h"
#include "security/audit_sink.h"
#include "security/authenticator.h"
#include "store/store.h"

namespace talon::security {

/// A new device token: 32 random bytes, base64url (OpenClaw generatePairingToken).
std::string newDeviceToken();

class DeviceAuthenticator final : public Authenticator {
 public:
  /// `shared` (the gateway's shared-secret Authenticator), `store`, `audit` and `clock` must outlive it.
  DeviceAuthenticator(const Authenticator& shared, store::Store& store, AuditSink& audit, ClockPtr clock)
      : shared_(shared), store_(store), audit_(audit), clock_(std::move(clock)) {}

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  /// As the shared-secret Authenticator (HTTP has no device identity).
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override {
    return shared_.authenticateHttp(authorization, origin);
  }

 private:
  Expected<Principal, ConnectAuthFailure> authenticateDevice(const protocol::ConnectParams& params, protocol::Role role,
                                                             const PeerOrigin& origin) const;
  void audit(const protocol::ConnectParams& params, const PeerOrigin& origin, AuditOutcome outcome,
             std::string_view reason) const;

  const Authenticator& shared_;
  store::Store& store_;
  AuditSink& audit_;
  ClockPtr clock_;
};

}  // namespace talon::security
