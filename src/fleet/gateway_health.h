#pragma once
// Protocol calls on a deployed gateway, e.g. `health` (OpenClaw gateway protocol v4: the connect.challenge
// event, a `connect` request as an operator with the gateway's shared token or password and the scope
// operator.read, then one method or several over the same connection), for `talon fleet status` (`health`,
// `agents.list` and `logs.tail` together) and `talon fleet drift` (`config.get`). The
// credential comes from the operator's environment through the reference the render carries (`"${VAR}"` or a SecretRef
// with source "env"). Blocks the calling thread for at most the timeout; thread-safe (no shared state).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::fleet {

/// The gateway's shared credential for the `connect` request.
struct GatewayCredential {
  /// "token", "password" or "none" (no credential is sent).
  std::string kind = "none";
  std::string value;
};

/// The credential `configText` (a render) configures in gateway.auth, its value read through `env`.
/// Errors: kFailedPrecondition when the reference cannot be resolved here (a file or exec SecretRef, an
/// unset variable) — the message names the reference, never a value.
Result<GatewayCredential> gatewayCredential(const std::string& configText,
                                            const std::function<std::optional<std::string>(const std::string&)>& env);

/// What one protocol call returned.
struct GatewayCallResult {
  /// hello-ok's server.version ("" when the gateway sent none).
  std::string serverVersion;
  /// The method's response payload.
  json::value payload;
};

/// One request of callGatewayMethods().
struct GatewayRequest {
  std::string method;
  json::object params;
  /// OpenClaw's client flag for `agent`: a first response whose payload says `status: "accepted"` is
  /// skipped and the final response with the same id is returned.
  bool expectFinal = false;
};

/// What several protocol calls over one connection returned.
struct GatewayCallsResult {
  /// hello-ok's server.version ("" when the gateway sent none).
  std::string serverVersion;
  /// Per request, in order: its response payload, or why it failed (an error response: kUpstream,
  /// kUnauthenticated or kPermissionDenied; the connection lost or the deadline passed: kUnavailable,
  /// kDeadlineExceeded — the requests after it then fail the same way).
  std::vector<Result<json::value>> payloads;
};

/// Connects to ws://host:port, completes the handshake with `credential` (role operator, scope operator.read,
/// or operator.write when `write`), then sends `requests` one after the other over that one connection, all
/// within `timeout`. Errors (the handshake did not complete): as callGatewayHealth(); a request that fails
/// after it is reported in its own entry.
Result<GatewayCallsResult> callGatewayMethods(const std::string& host, int port, const GatewayCredential& credential,
                                              const std::string& clientVersion, std::chrono::milliseconds timeout,
                                              std::vector<GatewayRequest> requests, bool write = false);

/// Connects to ws://host:port, completes the handshake with `credential` (role operator, scope
/// operator.read, or operator.write when `write`) and calls `method` with `params`. With `expectFinal`
/// (OpenClaw's client flag for `agent`), a first response whose payload says `status: "accepted"` is
/// skipped and the final response with the same id is returned. Errors as callGatewayHealth().
Result<GatewayCallResult> callGatewayMethod(const std::string& host, int port, const GatewayCredential& credential,
                                            const std::string& clientVersion, std::chrono::milliseconds timeout,
                                            const std::string& method, json::object params, bool write = false,
                                            bool expectFinal = false);

/// What a probe turn answered.
struct ProbeTurnReply {
  std::string runId;
  /// The reply's text (the final payload's result.payloads[].text, joined by newlines).
  std::string text;
  /// The whole final payload.
  json::object payload;
};

/// Runs one agent turn on the gateway through the protocol `agent` method (scope operator.write, the
/// final response awaited): `{message, agentId?, sessionKey, idempotencyKey: "fleet-probe-<uuid>",
/// deliver: false, timeout: <seconds>}`. Errors: as callGatewayMethod(); kUpstream when the final payload's
/// status is not "ok" (its summary in the message); kDeadlineExceeded after `timeout`.
Result<ProbeTurnReply> callGatewayAgentTurn(const std::string& host, int port, const GatewayCredential& credential,
                                            const std::string& clientVersion, std::chrono::milliseconds timeout,
                                            const std::string& message, const std::string& agentId,
                                            const std::string& sessionKey);

/// Connects to ws://host:port, completes the handshake with `credential` and returns the `health`
/// payload. `clientVersion` is sent as client.version; `probe` sends `{probe: true}`, asking for a fresh
/// snapshot with live channel probes rather than the cached one. Errors: kUnavailable (no connection, closed),
/// kDeadlineExceeded, kUnauthenticated / kPermissionDenied (the gateway refused the connect), kUpstream
/// (an error response or a malformed frame).
Result<json::object> callGatewayHealth(const std::string& host, int port, const GatewayCredential& credential,
                                       const std::string& clientVersion, std::chrono::milliseconds timeout,
                                       bool probe = false);

}  // namespace talon::fleet
