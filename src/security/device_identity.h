#pragma once
// Device identity as OpenClaw's gateway protocol defines it: an Ed25519 key pair per device, deviceId =
// hex SHA-256 of the raw 32-byte public key, and a signature over the connect challenge (payload v3,
// with v2 accepted as OpenClaw does).
// Source: OpenClaw 2026.9.6 dist/device-auth-*.mjs (buildDeviceAuthPayload, buildDeviceAuthPayloadV3,
// normalizeDeviceMetadataForAuth), dist/device-identity-*.mjs (deriveDeviceIdFromPublicKey),
// dist/ed25519-signature-*.mjs, dist/node-connect-reconcile-*.mjs (resolveDeviceSignaturePayloadVersion,
// resolveSignatureToken), dist/message-handler-*.mjs (verifyGatewayConnectDeviceProof,
// DEVICE_SIGNATURE_SKEW_MS); reference/openclaw-protocol.md §1.
// Thread rules: every function is pure and may be called from any thread.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/expected.h"
#include "protocol/handshake.h"

namespace talon::security {

/// How far `device.signedAt` may be from the gateway's clock, either way, in ms (OpenClaw
/// DEVICE_SIGNATURE_SKEW_MS = 120 000).
inline constexpr int64_t kDeviceSignatureSkewMs = 120'000;

/// RFC 4648 §5 base64url without padding.
std::string base64UrlEncode(std::string_view bytes);
/// Decodes base64url or standard base64 (the two alphabets may not be mixed up within a character
/// class: '+'/'-' and '/'/'_' are both accepted), with or without '=' padding. nullopt when the text
/// is not valid base64.
std::optional<std::string> base64UrlDecode(std::string_view text);

/// OpenClaw normalizeDeviceMetadataForAuth: trimmed, ASCII upper case folded to lower case ("" for "").
std::string normalizeDeviceMetadata(std::string_view value);

/// The fields a device signs.
struct DeviceAuthFields {
  std::string_view deviceId;
  std::string_view clientId;
  std::string_view clientMode;  // "cli", "node", ...
  std::string_view role;        // "operator", "node", ...
  std::span<const std::string> scopes;
  int64_t signedAtMs = 0;
  std::string_view token;  // auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""
  std::string_view nonce;
  std::string_view platform;      // as sent; normalized by the v3 builder
  std::string_view deviceFamily;  // as sent; normalized by the v3 builder
};

/// `v3|deviceId|clientId|mode|role|scopesCSV|signedAtMs|token|nonce|platform|deviceFamily`, platform
/// and deviceFamily through normalizeDeviceMetadata.
std::string buildDeviceAuthPayloadV3(const DeviceAuthFields& fields);
/// `v2|deviceId|clientId|mode|role|scopesCSV|signedAtMs|token|nonce` (still accepted by OpenClaw).
std::string buildDeviceAuthPayloadV2(const DeviceAuthFields& fields);

/// The device id of a raw Ed25519 public key given in base64url (or base64): 64 lower-case hex
/// characters of its SHA-256. nullopt when the key does not decode to exactly 32 bytes. (OpenClaw also
/// accepts PEM keys; Talon does not.)
std::optional<std::string> deriveDeviceId(std::string_view publicKey);

/// True when `signature` (base64url of 64 bytes) is a valid Ed25519 signature (libsodium
/// crypto_sign_verify_detached) of the UTF-8 `payload` under `publicKey` (base64url of 32 bytes).
bool verifyDeviceSignature(std::string_view publicKey, std::string_view payload, std::string_view signature);

/// Why a device proof was refused, in OpenClaw's check order.
enum class DeviceProofFailure {
  kDeviceIdMismatch,  // "device-id-mismatch": id ≠ SHA-256(public key), or the key is not 32 bytes
  kSignatureStale,    // "device-signature-stale": |now − signedAt| > kDeviceSignatureSkewMs
  kNonceMissing,      // "device-nonce-missing": empty nonce
  kNonceMismatch,     // "device-nonce-mismatch": not the connect.challenge nonce
  kSignature,         // "device-signature": neither the v3 nor the v2 payload verifies
};

/// OpenClaw's reason string ("device-id-mismatch", ...).
std::string_view deviceProofReason(DeviceProofFailure failure);

/// The connect rejection: INVALID_REQUEST with OpenClaw's message ("device identity mismatch", "device
/// signature expired", "device nonce required", "device nonce mismatch", "device signature invalid") and
/// details {code:"DEVICE_AUTH_DEVICE_ID_MISMATCH" | "DEVICE_AUTH_SIGNATURE_EXPIRED" | ..., reason}. The
/// caller closes with 1008 and the message as reason.
Error deviceProofError(DeviceProofFailure failure);

/// A verified device proof.
struct VerifiedDevice {
  std::string deviceId;
  std::string publicKey;       // the raw key re-encoded as canonical base64url
  std::string payloadVersion;  // "v3" or "v2"
};

/// Verifies `params.device` for a connect with `params.role` and `params.scopes` as sent: the id
/// matches the key, signedAt is within kDeviceSignatureSkewMs of `nowMs`, the nonce is the challenge's
/// `challengeNonce`, and the signature verifies over payload v3 (else v2). The token in the payload is
/// auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? "". Requires params.device.
Expected<VerifiedDevice, DeviceProofFailure> verifyDeviceProof(const protocol::ConnectParams& params,
                                                               std::string_view challengeNonce, int64_t nowMs);

}  // namespace talon::security
