#include "protocol/errors.h"

#include <fmt/format.h>

#include <string>

#include "base/json.h"
#include "protocol/constants.h"

namespace talon::protocol {

namespace {
// A protocol error's message is public by construction: the same text is logged and sent.
Error publicError(ErrorCode code, std::string text) {
  Error e(code, text, text);
  return e;
}

bool isControlUiClient(std::string_view id) {
  return id == "openclaw-control-ui" || id == "openclaw-browser-copilot" || id == "openclaw-tui";
}
}  // namespace

Error invalidRequestFrameError(std::string_view detail) {
  return publicError(ErrorCode::kInvalidArgument, fmt::format("invalid request frame: {}", detail));
}

Error firstRequestNotConnectError() {
  return publicError(ErrorCode::kInvalidArgument, "invalid handshake: first request must be connect");
}

Error invalidConnectParamsError(std::string_view detail) {
  return publicError(ErrorCode::kInvalidArgument, fmt::format("invalid connect params: {}", detail));
}

Error protocolMismatchError(int64_t clientMinProtocol, int64_t clientMaxProtocol) {
  Error e = publicError(ErrorCode::kInvalidArgument, "protocol mismatch");
  e.details = {{"code", "PROTOCOL_MISMATCH"},
               {"clientMinProtocol", clientMinProtocol},
               {"clientMaxProtocol", clientMaxProtocol},
               {"expectedProtocol", kProtocolVersion},
               {"minimumProbeProtocol", kMinProbeProtocol}};
  return e;
}

Error invalidRoleError() { return publicError(ErrorCode::kInvalidArgument, "invalid role"); }

Error authFailureError(AuthFailure reason, std::string_view clientId, ClientMode clientMode, bool isLocalClient,
                       int64_t retryAfterMs) {
  const bool isCli = clientMode == ClientMode::kCli;
  const bool isUi = isControlUiClient(clientId) || clientMode == ClientMode::kWebchat || clientId == "webchat-ui";
  const std::string_view uiHint = "open the dashboard URL and paste the token in Control UI settings";
  const std::string_view missingUiTokenHint =
      "paste in Control UI settings or openclaw doctor --generate-gateway-token; restart";
  const std::string_view tokenHint = isCli ? (isLocalClient ? "use this gateway's gateway.auth.token or pair the device"
                                                            : "set gateway.remote.token to match gateway.auth.token")
                                     : isUi ? uiHint
                                            : "provide gateway auth token";
  const std::string_view passwordHint =
      isCli  ? (isLocalClient ? "use this gateway's gateway.auth.password"
                              : "set gateway.remote.password to match gateway.auth.password")
      : isUi ? "enter the password in Control UI settings"
             : "provide gateway auth password";

  std::string message;
  std::string_view code;
  std::string_view authReason;
  std::string_view nextStep = "update_auth_credentials";
  switch (reason) {
    case AuthFailure::kTokenMissing:
      message = fmt::format("unauthorized: gateway token missing ({})", isUi ? missingUiTokenHint : tokenHint);
      code = "AUTH_TOKEN_MISSING";
      authReason = "token_missing";
      nextStep = "update_auth_configuration";
      break;
    case AuthFailure::kTokenMismatch:
      message = fmt::format("unauthorized: gateway token mismatch ({})", tokenHint);
      code = "AUTH_TOKEN_MISMATCH";
      authReason = "token_mismatch";
      break;
    case AuthFailure::kPasswordMissing:
      message = fmt::format("unauthorized: gateway password missing ({})", passwordHint);
      code = "AUTH_PASSWORD_MISSING";
      authReason = "password_missing";
      nextStep = "update_auth_configuration";
      break;
    case AuthFailure::kPasswordMismatch:
      message = fmt::format("unauthorized: gateway password mismatch ({})", passwordHint);
      code = "AUTH_PASSWORD_MISMATCH";
      authReason = "password_mismatch";
      break;
    case AuthFailure::kRateLimited:
      message = "unauthorized: too many failed authentication attempts (retry later)";
      code = "AUTH_RATE_LIMITED";
      authReason = "rate_limited";
      nextStep = "wait_then_retry";
      break;
  }
  Error e = publicError(ErrorCode::kUnauthenticated, std::move(message));
  e.retryAfterMs = retryAfterMs;
  e.details = {{"code", code},
               {"authReason", authReason},
               {"canRetryWithDeviceToken", false},
               {"recommendedNextStep", nextStep}};
  return e;
}

Error deviceIdentityRequiredError() {
  Error e = publicError(ErrorCode::kNotPaired, "device identity required");
  e.details = {{"code", "DEVICE_IDENTITY_REQUIRED"}};
  return e;
}

Error originNotAllowedError(std::string_view reason) {
  Error e = publicError(ErrorCode::kInvalidArgument,
                        "origin not allowed (open the Control UI from the gateway host or allow it in "
                        "gateway.controlUi.allowedOrigins)");
  e.details = {{"code", "CONTROL_UI_ORIGIN_NOT_ALLOWED"}, {"reason", reason}};
  return e;
}

std::string_view pairingReasonName(PairingReason reason) {
  switch (reason) {
    case PairingReason::kNotPaired:
      return "not-paired";
    case PairingReason::kRoleUpgrade:
      return "role-upgrade";
    case PairingReason::kScopeUpgrade:
      return "scope-upgrade";
  }
  return "not-paired";
}

namespace {
std::string pairingMessage(PairingReason reason) {
  switch (reason) {
    case PairingReason::kNotPaired:
      return "pairing required: device is not approved yet";
    case PairingReason::kRoleUpgrade:
      return "pairing required: device is asking for a higher role than currently approved";
    case PairingReason::kScopeUpgrade:
      return "pairing required: device is asking for more scopes than currently approved";
  }
  return "pairing required";
}
std::string_view pairingHint(PairingReason reason) {
  switch (reason) {
    case PairingReason::kNotPaired:
      return "Approve this device from the pending pairing requests.";
    case PairingReason::kRoleUpgrade:
      return "Review the requested role upgrade, then approve the pending request.";
    case PairingReason::kScopeUpgrade:
      return "Review the requested scopes, then approve the pending upgrade.";
  }
  return "Approve the pending device request before retrying.";
}
}  // namespace

Error pairingRequiredError(PairingReason reason, std::string_view requestId, std::string_view deviceId,
                           std::string_view requestedRole, std::span<const std::string> requestedScopes) {
  Error e = publicError(ErrorCode::kNotPaired, pairingMessage(reason));
  json::array scopes;
  for (const auto& s : requestedScopes) scopes.emplace_back(s);
  e.details = {{"code", "PAIRING_REQUIRED"}, {"reason", pairingReasonName(reason)}};
  if (!requestId.empty()) e.details["requestId"] = requestId;
  e.details["remediationHint"] = pairingHint(reason);
  e.details["deviceId"] = deviceId;
  e.details["requestedRole"] = requestedRole;
  e.details["requestedScopes"] = std::move(scopes);
  return e;
}

std::string pairingCloseReason(PairingReason reason, std::string_view requestId) {
  std::string message = pairingMessage(reason);
  return requestId.empty() ? message : fmt::format("{} (requestId: {})", message, requestId);
}

Error deviceTokenMismatchError() {
  Error e =
      publicError(ErrorCode::kUnauthenticated, "unauthorized: device token mismatch (rotate/reissue device token)");
  e.details = {{"code", "AUTH_DEVICE_TOKEN_MISMATCH"},
               {"authReason", "device_token_mismatch"},
               {"canRetryWithDeviceToken", false},
               {"recommendedNextStep", "update_auth_credentials"}};
  return e;
}

Error missingScopeError(Scope missing, std::initializer_list<Scope> requiredScopes) {
  Error e = publicError(ErrorCode::kPermissionDenied, fmt::format("missing scope: {}", scopeName(missing)));
  json::array required;
  for (Scope s : requiredScopes) required.emplace_back(scopeName(s));
  if (required.empty()) required.emplace_back(scopeName(missing));
  e.details = {
      {"code", "MISSING_SCOPE"}, {"missingScope", scopeName(missing)}, {"requiredScopes", std::move(required)}};
  return e;
}

Error unknownMethodError(std::string_view method) {
  return publicError(ErrorCode::kInvalidArgument, fmt::format("unknown method: {}", method));
}

Error unsupportedMethodError(std::string_view method) {
  Error e = publicError(ErrorCode::kUnsupported, fmt::format("method {} is not supported by Talon yet", method));
  e.details = {{"code", "UNSUPPORTED_METHOD"}};
  return e;
}

Error unauthorizedRoleError(Role role) {
  return publicError(ErrorCode::kInvalidArgument, fmt::format("unauthorized role: {}", roleName(role)));
}

Error gatewayStartingError() {
  Error e = publicError(ErrorCode::kUnavailable, "gateway starting; retry shortly");
  e.retryAfterMs = kStartupRetryAfterMs;
  e.details = {{"reason", kStartupUnavailableReason}};
  return e;
}

Error methodStartingError(std::string_view method) {
  Error e = publicError(ErrorCode::kUnavailable, fmt::format("{} unavailable during gateway startup", method));
  e.retryAfterMs = kStartupRetryAfterMs;
  e.details = {{"reason", kStartupUnavailableReason}, {"method", method}};
  return e;
}

}  // namespace talon::protocol
