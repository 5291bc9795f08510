#pragma once
// Paired devices, pending pairing requests and device tokens (OpenClaw: devices/paired.json,
// devices/pending.json and the per-role tokens of a paired device).
// Source: OpenClaw 2026.9.6 dist/device-pairing-*.mjs, dist/device-pairing-identity-*.mjs
// (DEVICE_PAIRING_PENDING_TTL_MS, listEffectivePairedDeviceRoles), dist/device-pairing-token-utils-*.mjs.
// Talon differs on purpose: a device token is stored as its SHA-256 only (never the plaintext), and the
// number of pending requests is capped.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// How long a pending pairing request lives, in ms (OpenClaw DEVICE_PAIRING_PENDING_TTL_MS: 5 min).
inline constexpr int64_t kPairingRequestTtlMs = 300'000;
/// Most pending pairing requests kept at once (Talon-only; OpenClaw has no cap). A request beyond it is
/// refused with kResourceExhausted until one is approved, rejected or expires.
inline constexpr int64_t kMaxPendingPairingRequests = 64;

/// What a device asked for, as its connect said it (OpenClaw's pending request fields).
struct DeviceClaim {
  std::string deviceId;   // hex SHA-256 of the raw public key
  std::string publicKey;  // raw Ed25519 key, base64url
  std::string displayName;
  std::string platform;
  std::string deviceFamily;
  std::string clientId;
  std::string clientMode;
  std::string role;                 // "operator", "node", ...
  std::vector<std::string> scopes;  // requested scopes
  std::string remoteIp;
};

/// A pending pairing request.
struct PairingRequestRecord {
  std::string requestId;  // uuid
  DeviceClaim claim;
  int64_t ts = 0;  // when it was made or last refreshed, ms since the epoch; expires kPairingRequestTtlMs later
};

/// An approved device. One role per device (OpenClaw allows several; Talon approves the last requested).
struct PairedDeviceRecord {
  DeviceClaim claim;  // as approved; claim.scopes are the approved scopes
  int64_t createdAtMs = 0;
  int64_t approvedAtMs = 0;
};

/// A device token for one role of a paired device. tokenHash is empty while the token is issued but not
/// delivered yet: the device receives it in hello-ok at its next signed connect.
struct DeviceTokenRecord {
  std::string deviceId;
  std::string role;
  std::string tokenHash;  // hex SHA-256 of the token; "" = to be issued at the next signed connect
  std::vector<std::string> scopes;
  int64_t createdAtMs = 0;
  int64_t rotatedAtMs = 0;  // 0: never
  int64_t revokedAtMs = 0;  // 0: active
  int64_t lastUsedAtMs = 0;
};

/// Reads and writes of device pairing state. A view over a Store (cheap to copy; the store must outlive
/// it). Reads: any thread. The write functions add operations to a batch; their checks run inside the
/// transaction, so two concurrent approvals of one request cannot both succeed.
class DeviceRepository {
 public:
  explicit DeviceRepository(Store& store) : store_(&store) {}

  /// Adds the request of `claim`, dropping requests older than kPairingRequestTtlMs first. A pending
  /// request of the same deviceId is refreshed in place (its requestId kept; claim and ts replaced);
  /// otherwise a request with `requestId` is added. Errors when applied: kResourceExhausted "too many
  /// pending pairing requests" when kMaxPendingPairingRequests are pending.
  static void requestPairing(WriteBatch& batch, std::string requestId, DeviceClaim claim, int64_t nowMs);
  /// Approves a live pending request: the device is inserted or replaced (createdAtMs kept), its token
  /// for the claimed role is (re)issued undelivered (tokenHash "", scopes = the claim's), and the request
  /// is removed. Errors when applied: kNotFound "unknown requestId" (none, or expired).
  static void approve(WriteBatch& batch, std::string requestId, int64_t nowMs);
  /// Removes a pending request. Errors when applied: kNotFound "unknown requestId".
  static void reject(WriteBatch& batch, std::string requestId);
  /// Removes a paired device, its tokens and its pending requests. Errors: kNotFound "unknown deviceId".
  static void remove(WriteBatch& batch, std::string deviceId);
  /// Sets the token of `deviceId`/`role` to `tokenHash` ("" = deliver at the next signed connect) with
  /// `scopes`, active again, rotatedAtMs = nowMs (createdAtMs = nowMs for a new role token). Errors when
  /// applied: kNotFound "unknown deviceId/role" when the device is not paired for that role.
  static void setToken(WriteBatch& batch, std::string deviceId, std::string role, std::string tokenHash,
                       std::vector<std::string> scopes, int64_t nowMs, bool rotation);
  /// Revokes the active token of `deviceId`/`role` (revokedAtMs = nowMs). Errors when applied: kNotFound
  /// "unknown deviceId/role" when there is no active token.
  static void revokeToken(WriteBatch& batch, std::string deviceId, std::string role, int64_t nowMs);
  /// Records a use of a token (lastUsedAtMs).
  static void touchToken(WriteBatch& batch, std::string deviceId, std::string role, int64_t nowMs);

  /// Pending requests not expired at `nowMs`, oldest first. Errors: kFailedPrecondition after
  /// Store::close(), kIo for database failures (as every read here).
  Result<std::vector<PairingRequestRecord>> listPending(int64_t nowMs) const;
  /// The live pending request `requestId`, or nullopt.
  Result<std::optional<PairingRequestRecord>> getPending(const std::string& requestId, int64_t nowMs) const;
  /// The live pending request of `deviceId`, or nullopt.
  Result<std::optional<PairingRequestRecord>> pendingForDevice(const std::string& deviceId, int64_t nowMs) const;
  /// Paired devices, by approval time.
  Result<std::vector<PairedDeviceRecord>> listPaired() const;
  /// The paired device `deviceId`, or nullopt.
  Result<std::optional<PairedDeviceRecord>> getPaired(const std::string& deviceId) const;
  /// The tokens of `deviceId` (revoked ones included), by role.
  Result<std::vector<DeviceTokenRecord>> tokens(const std::string& deviceId) const;

 private:
  Store* store_;
};

/// Scopes as stored ("a,b") and back.
std::string joinScopeList(const std::vector<std::string>& scopes);
std::vector<std::string> splitScopeList(const std::string& csv);

}  // namespace talon::store
