#pragma once
// OpenClaw gateway protocol v4: version numbers, WebSocket close codes and size/time limits, as named
// constants. Source: reference/openclaw-protocol.md §1 ("Transport", "Handshake", "Errors seen on the
// wire") and OpenClaw 2026.9.6 dist/version-*.mjs, dist/startup-unavailable-*.mjs,
// dist/close-reason-*.mjs.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace talon::protocol {

/// The protocol version this server speaks (`hello-ok.protocol`). OpenClaw PROTOCOL_VERSION.
inline constexpr int64_t kProtocolVersion = 4;
/// Lowest protocol an ordinary client may offer (its range must include 4). OpenClaw MIN_CLIENT.
inline constexpr int64_t kMinClientProtocol = 4;
/// Lowest protocol a node client (role node, mode node) may offer. OpenClaw MIN_NODE.
inline constexpr int64_t kMinNodeProtocol = 3;
/// Lowest protocol a `mode:"probe"` client may offer. OpenClaw MIN_PROBE.
inline constexpr int64_t kMinProbeProtocol = 3;

/// WebSocket close codes (RFC 6455 §7.4.1) as OpenClaw uses them.
/// 1000: normal; sent when the first frame is not JSON or no connect arrives in time.
inline constexpr uint16_t kCloseNormal = 1000;
/// 1002: protocol error; sent after a PROTOCOL_MISMATCH connect error.
inline constexpr uint16_t kCloseProtocolError = 1002;
/// 1008: policy violation; bad handshake, bad auth, invalid role.
inline constexpr uint16_t kClosePolicyViolation = 1008;
/// 1013: try again later; sent while the gateway is starting ("gateway starting").
inline constexpr uint16_t kCloseTryAgainLater = 1013;
/// Close reason sent with 1013 during startup.
inline constexpr std::string_view kCloseReasonGatewayStarting = "gateway starting";
/// Longest close reason OpenClaw sends, bytes (it truncates at a UTF-8 boundary).
inline constexpr std::size_t kCloseReasonMaxBytes = 120;

/// Largest frame accepted before the connect handshake completes, bytes (64 KiB).
inline constexpr std::size_t kPreConnectMaxPayloadBytes = 64 * 1024;
/// `hello-ok.policy.maxPayload`: largest frame after connect, bytes.
inline constexpr int64_t kMaxPayloadBytes = 26'214'400;
/// `hello-ok.policy.maxBufferedBytes`: outbound bytes buffered per connection before it is dropped.
inline constexpr int64_t kMaxBufferedBytes = 52'428'800;
/// `hello-ok.policy.tickIntervalMs`: period of `tick` events, ms.
inline constexpr int64_t kTickIntervalMs = 30'000;
/// Time allowed between the upgrade and a valid connect, ms; then the socket is closed with 1000.
inline constexpr int64_t kHandshakeTimeoutMs = 15'000;
/// Suggested retry delay in the startup UNAVAILABLE error, ms.
inline constexpr int64_t kStartupRetryAfterMs = 500;

/// `reason` detail of startup UNAVAILABLE errors (OpenClaw GATEWAY_STARTUP_UNAVAILABLE_REASON).
inline constexpr std::string_view kStartupUnavailableReason = "startup-sidecars";

}  // namespace talon::protocol
