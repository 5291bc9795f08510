#pragma once
// Builders for the protocol errors OpenClaw sends, as talon::Error values (code, public message and
// details). encodeResponseError (frames.h) turns them into wire error objects through
// talon::protocolErrorCode, the single ErrorCode → protocol code mapping.
// Source: reference/openclaw-protocol.md §1 "Errors seen on the wire", and OpenClaw 2026.9.6
// dist/message-handler-*.mjs, dist/error-codes-*.mjs, dist/connect-error-details-*.mjs,
// dist/node-connect-reconcile-*.mjs.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "protocol/client_info.h"
#include "protocol/scopes.h"

namespace talon::protocol {

/// INVALID_REQUEST "invalid request frame: <detail>" for JSON that is not a valid req frame.
Error invalidRequestFrameError(std::string_view detail);

/// INVALID_REQUEST "invalid handshake: first request must be connect" (then close 1008).
Error firstRequestNotConnectError();

/// INVALID_REQUEST "invalid connect params: <detail>" for a connect whose params break
/// ConnectParamsSchema (then close 1008).
Error invalidConnectParamsError(std::string_view detail);

/// INVALID_REQUEST "protocol mismatch", details {code:"PROTOCOL_MISMATCH", clientMinProtocol,
/// clientMaxProtocol, expectedProtocol:4, minimumProbeProtocol:3} (then close 1002).
Error protocolMismatchError(int64_t clientMinProtocol, int64_t clientMaxProtocol);

/// INVALID_REQUEST "invalid role" for a connect role outside operator|node|worker (then close 1008).
Error invalidRoleError();

/// Why shared-secret authentication failed (OpenClaw's auth `reason`).
/// kRateLimited: the client address is locked out after too many failures (gateway.auth.rateLimit).
enum class AuthFailure { kTokenMissing, kTokenMismatch, kPasswordMissing, kPasswordMismatch, kRateLimited };

/// The connect rejection for a failed shared-secret check: INVALID_REQUEST
/// "unauthorized: gateway token mismatch (<hint>)" (hint chosen by client kind and locality as OpenClaw
/// formatGatewayAuthFailureMessage does), details {code:"AUTH_TOKEN_MISMATCH" (or AUTH_TOKEN_MISSING,
/// AUTH_PASSWORD_MISSING, AUTH_PASSWORD_MISMATCH), authReason:"token_mismatch", canRetryWithDeviceToken:
/// false, recommendedNextStep:"update_auth_credentials" (…"update_auth_configuration" when missing)}.
/// kRateLimited: "unauthorized: too many failed authentication attempts (retry later)", details
/// {code:"AUTH_RATE_LIMITED", authReason:"rate_limited", recommendedNextStep:"wait_then_retry"}; pass
/// the lockout's remaining time as `retryAfterMs` (OpenClaw dist/message-handler-*.mjs).
/// The caller closes with 1008; OpenClaw delays this answer by about 270 ms.
Error authFailureError(AuthFailure reason, std::string_view clientId, ClientMode clientMode, bool isLocalClient,
                       int64_t retryAfterMs = 0);

/// NOT_PAIRED "device identity required", details {code:"DEVICE_IDENTITY_REQUIRED"} (then close 1008 with
/// the message): a connect that needs a device identity and sent none.
Error deviceIdentityRequiredError();
/// A WebSocket connect from a browser page whose Origin the gateway does not allow: INVALID_REQUEST
/// "origin not allowed (open the Control UI from the gateway host or allow it in
/// gateway.controlUi.allowedOrigins)", details {code: "CONTROL_UI_ORIGIN_NOT_ALLOWED", reason}; the
/// connection then closes with 1008 and the message. `reason`: security::OriginDecision::reason.
/// Source: OpenClaw 2026.9.6 dist/message-handler-*.mjs rejectGatewayConnectOrigin.
Error originNotAllowedError(std::string_view reason);

/// Why a device must be (re)approved (OpenClaw ConnectPairingRequiredReasons).
enum class PairingReason { kNotPaired, kRoleUpgrade, kScopeUpgrade };

/// OpenClaw's reason name: "not-paired", "role-upgrade", "scope-upgrade".
std::string_view pairingReasonName(PairingReason reason);

/// NOT_PAIRED "pairing required: device is not approved yet" (… "device is asking for a higher role than
/// currently approved", … "device is asking for more scopes than currently approved"), details
/// {code:"PAIRING_REQUIRED", reason, requestId?, remediationHint, deviceId, requestedRole,
/// requestedScopes}. Close 1008 with pairingCloseReason(). Source: OpenClaw 2026.9.6
/// dist/connect-error-details-*.mjs (buildPairingConnectErrorMessage, buildPairingConnectErrorDetails).
Error pairingRequiredError(PairingReason reason, std::string_view requestId, std::string_view deviceId,
                           std::string_view requestedRole, std::span<const std::string> requestedScopes);

/// "<message> (requestId: <id>)", or the message alone without an id (buildPairingConnectCloseReason).
std::string pairingCloseReason(PairingReason reason, std::string_view requestId);

/// INVALID_REQUEST "unauthorized: device token mismatch (rotate/reissue device token)", details
/// {code:"AUTH_DEVICE_TOKEN_MISMATCH", authReason:"device_token_mismatch", canRetryWithDeviceToken:false,
/// recommendedNextStep:"update_auth_credentials"}: a device token that is unknown, revoked, rotated away
/// or too narrow for the requested scopes.
Error deviceTokenMismatchError();

/// FORBIDDEN "missing scope: <missing>", details {code:"MISSING_SCOPE", missingScope, requiredScopes}.
/// `requiredScopes` empty means [missing] (OpenClaw buildMissingScopeErrorDetails).
Error missingScopeError(Scope missing, std::initializer_list<Scope> requiredScopes);

/// INVALID_REQUEST "unknown method: <method>".
Error unknownMethodError(std::string_view method);

/// INVALID_REQUEST "method <method> is not supported by Talon yet", details {code:"UNSUPPORTED_METHOD"}:
/// an OpenClaw core method Talon has no handler for yet.
Error unsupportedMethodError(std::string_view method);

/// INVALID_REQUEST "unauthorized role: <role>" (an operator calling a node method, or the reverse).
Error unauthorizedRoleError(Role role);

/// UNAVAILABLE "gateway starting; retry shortly", retryable, retryAfterMs 500, details
/// {reason:"startup-sidecars"}: the connect answer while starting (then close 1013 "gateway starting").
Error gatewayStartingError();

/// UNAVAILABLE "<method> unavailable during gateway startup", retryable, retryAfterMs 500, details
/// {reason:"startup-sidecars", method}: a startup-gated method called before the gateway is ready.
Error methodStartingError(std::string_view method);

}  // namespace talon::protocol
