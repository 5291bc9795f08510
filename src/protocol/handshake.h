#pragma once
// The connect handshake: connect.challenge, ConnectParams parsing and validation, and hello-ok.
// Pure functions; thread-safe.
// Source: reference/openclaw-protocol.md §1 "Handshake" and "Errors seen on the wire"; OpenClaw 2026.9.6
// dist/sessions-*.mjs region schema/frames.ts (ConnectParamsSchema, HelloOkSchema, SnapshotSchema) and
// dist/message-handler-*.mjs (admitGatewayConnect: the order of the checks, close codes).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/expected.h"
#include "base/json.h"
#include "protocol/client_info.h"
#include "protocol/constants.h"
#include "protocol/frames.h"

namespace talon::protocol {

/// OpenClaw's events Talon emits, for hello-ok.features.events (`cron`: job added/updated/removed/started/
/// finished, docs/cron.md; `heartbeat`: each heartbeat tick, docs/heartbeat.md). Talon's own events
/// (`channel.health.degraded`, `config.changed`) are not listed: features.events names OpenClaw's events only, and
/// clients that do not know the others ignore them.
inline constexpr std::array<std::string_view, 9> kTalonEvents = {
    "connect.challenge", "tick", "health", "chat", "agent", "presence", "shutdown", "cron", "heartbeat"};
/// Server capabilities Talon advertises in hello-ok.features.capabilities. OpenClaw's CLI `models list`
/// requires "published-model-catalog".
inline constexpr std::array<std::string_view, 1> kTalonServerCapabilities = {"published-model-catalog"};

/// The first frame after the upgrade: `{"type":"event","event":"connect.challenge","payload":{"nonce":
/// <nonce>,"ts":<tsMs>,"capabilities":["model-catalog-snapshot"]}}` (no seq). `nonce` is a fresh UUID
/// (talon::newUuid), `tsMs` ms since the epoch. The CLI sends nothing until it receives this.
std::string encodeConnectChallenge(std::string_view nonce, int64_t tsMs);

/// `connect.params.client`.
struct ConnectClient {
  std::string id;  // one of knownClientIds()
  std::string version;
  std::string platform;
  ClientMode mode = ClientMode::kCli;
  std::optional<std::string> displayName;
  std::optional<std::string> deviceFamily;
  std::optional<std::string> instanceId;
  std::optional<std::string> buildId;  // 1..96 characters
  std::optional<std::string> modelIdentifier;
  std::optional<std::string> timeZone;  // 1..64 characters
};

/// `connect.params.auth`: the credentials offered (any subset; strings may be empty).
struct ConnectAuth {
  std::optional<std::string> token;
  std::optional<std::string> password;
  std::optional<std::string> deviceToken;
  std::optional<std::string> bootstrapToken;
  /// True when a token or password (the gateway's shared secret) is offered.
  bool hasSharedSecret() const { return token.has_value() || password.has_value(); }
};

/// `connect.params.device`: a device identity with its signature over the challenge (verified by
/// security/device_identity.h).
struct ConnectDevice {
  std::string id;
  std::string publicKey;  // raw Ed25519 key, base64url
  std::string signature;  // base64url
  int64_t signedAt = 0;   // ms since the epoch
  std::string nonce;
};

/// Validated `connect` params (ConnectParamsSchema, a closed object). Fields Talon does not use yet
/// (commands, computerUse, workerRuns, permissions, pathEnv, modelCatalog, locale, userAgent and the
/// runtime tokens in auth) are validated and dropped.
struct ConnectParams {
  int64_t minProtocol = 0;
  int64_t maxProtocol = 0;
  ConnectClient client;
  /// As sent (non-empty); "operator" when absent. Checked by validateConnect.
  std::string role = "operator";
  std::vector<std::string> scopes;  // as requested; empty when absent
  std::vector<std::string> caps;
  ConnectAuth auth;
  std::optional<ConnectDevice> device;
};

/// Validates `params` (the `params` member of a connect req) against ConnectParamsSchema. Errors:
/// invalidConnectParamsError("<where>: <what>"), e.g. "at /client/id: must be equal to one of the
/// allowed values", "must have required property 'client'", "at root: unexpected property 'x'".
Result<ConnectParams> parseConnectParams(const json::value& params);

/// A handshake rejection: the error to answer the connect with (encodeResponseError with the connect's
/// id), then the WebSocket close code and reason to close with.
struct HandshakeFailure {
  Error error;
  uint16_t closeCode = kClosePolicyViolation;
  std::string closeReason;
};

/// The first request of a connection: must be `connect` with valid params, else
/// firstRequestNotConnectError() / invalidConnectParamsError(...), both closing with 1008 and the
/// message as reason (truncated to kCloseReasonMaxBytes).
Expected<ConnectParams, HandshakeFailure> parseConnectRequest(const RequestFrame& first);

/// Admission checks on parsed params, in OpenClaw's order:
///  1. protocol range: [min,max] must include 4; a `probe`-mode client may offer max ≥ 3 (min ≤ 4); a
///     node (role node, mode node) may offer [min,max] including 3. Else protocolMismatchError, close
///     1002 "protocol mismatch".
///  2. role ∈ operator|node|worker, else invalidRoleError, close 1008 "invalid role".
/// Credentials and the device identity are the Authenticator's (security/device_authenticator.h).
Expected<Role, HandshakeFailure> validateConnect(const ConnectParams& params);

/// `reason` truncated to at most kCloseReasonMaxBytes bytes without splitting a UTF-8 sequence; an
/// empty reason becomes "invalid handshake" (OpenClaw truncateCloseReason).
std::string truncateCloseReason(std::string_view reason);

/// `snapshot` of hello-ok (SnapshotSchema).
struct HelloSnapshot {
  json::array presence;  // PresenceEntry objects
  json::object health;   // the cached health payload (HealthSnapshotSchema)
  StateVersion stateVersion;
  int64_t uptimeMs = 0;
  /// Optional SnapshotSchema members (sessionDefaults, configPath, stateDir, authMode,
  /// appliedConfigHash, ...). A key outside SnapshotSchema is rejected by encodeHelloOk.
  json::object extra;
};

/// `auth` of hello-ok.
struct HelloAuth {
  std::string_view role = "operator";
  std::span<const std::string> scopes = {};  // the granted scopes
  /// "token", "password", "none", "device-token", ...; empty omits it.
  std::string_view method;
  /// A device token issued at this connect (OpenClaw HelloOkSchema auth.deviceToken); empty omits it.
  std::string_view deviceToken;
};

/// `policy` of hello-ok, defaulting to OpenClaw's values.
struct HelloPolicy {
  int64_t maxPayload = kMaxPayloadBytes;
  int64_t maxBufferedBytes = kMaxBufferedBytes;
  int64_t tickIntervalMs = kTickIntervalMs;
};

/// Everything hello-ok carries.
struct HelloOkInput {
  std::string_view serverVersion;                       // non-empty
  std::string_view connId;                              // non-empty
  std::span<const std::string_view> methods = {};       // usually implementedMethodNames()
  std::span<const std::string_view> events = {};        // usually kTalonEvents
  std::span<const std::string_view> capabilities = {};  // usually kTalonServerCapabilities
  const HelloSnapshot* snapshot = nullptr;              // required
  HelloAuth auth = {};
  HelloPolicy policy = {};
};

/// The hello-ok payload as JSON text: {type:"hello-ok", protocol:4, server{version, connId},
/// features{methods, events, capabilities}, snapshot{presence, health, stateVersion, uptimeMs, ...},
/// auth{role, scopes, method?}, policy{maxPayload, maxBufferedBytes, tickIntervalMs}} — every required
/// HelloOkSchema field. "published-model-catalog" is added to capabilities when missing. Send it as
/// encodeResponseOk(connectId, payload). Errors (kInvalidArgument): empty version/connId/role, an empty
/// name in a list, no snapshot, or a snapshot.extra key outside SnapshotSchema.
Result<std::string> encodeHelloOk(const HelloOkInput& in);

}  // namespace talon::protocol
