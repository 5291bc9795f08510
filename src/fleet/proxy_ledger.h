#pragma once
// The model proxy's ledger (docs/fleet.md "Model proxy"): the gateways' virtual keys and the usage they
// spent, in one SQLite database in the fleet state dir, `<stateDir>/proxy/proxy.sqlite` (WAL, mode
// 0600, folder 0700). A virtual key is 32 random bytes from libsodium's CSPRNG, shown once when issued
// ("tfk_" + URL-safe base64); the ledger keeps only its SHA-256, so a copy of the state dir holds no usable
// key. `talon fleet keys`, `talon fleet usage` and `talon fleet serve` open it concurrently: SQLite's
// locking (with a busy timeout) orders them, and serve reads a key's state on every request, so a revoke
// takes effect at once. Thread-safe (one connection behind a mutex); calls block on disk I/O.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "fleet/proxy_accounting.h"

namespace talon::fleet {

/// One virtual key as stored (never the key itself).
struct VirtualKeyInfo {
  /// "vk-<n>", stable.
  std::string keyId;
  std::string gateway;
  /// The first 8 characters after "tfk_", to tell keys apart.
  std::string prefix;
  int64_t createdMs = 0;
  /// Set once revoked.
  std::optional<int64_t> revokedMs;
  bool active() const { return !revokedMs.has_value(); }
  /// {"keyId", "gateway", "prefix", "created", "revoked"?, "active"}.
  json::object toJson() const;
};

/// A key just issued: the only time its value exists outside the gateway's environment.
struct IssuedKey {
  VirtualKeyInfo info;
  std::string key;
};

/// One proxied request's usage.
struct UsageRecord {
  int64_t timeMs = 0;
  std::string gateway;
  std::string keyId;
  /// The model ref "provider/model".
  std::string model;
  TokenUsage usage;
  double costUsd = 0;
  /// The upstream's HTTP status.
  int status = 0;
  bool stream = false;
};

/// Usage summed per gateway and model.
struct UsageSummary {
  std::string gateway;
  std::string model;
  int64_t requests = 0;
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  double costUsd = 0;
  /// {"gateway", "model", "requests", "promptTokens", "completionTokens", "costUsd"}.
  json::object toJson() const;
};

class ProxyLedger {
 public:
  /// Opens (creating) `<stateDir>/proxy/proxy.sqlite`. Errors: kIo naming the file.
  static Result<std::unique_ptr<ProxyLedger>> open(const std::filesystem::path& stateDir);
  ~ProxyLedger();
  ProxyLedger(const ProxyLedger&) = delete;
  ProxyLedger& operator=(const ProxyLedger&) = delete;

  /// Issues a new key for `gateway` and revokes the gateway's earlier active keys (one per gateway).
  /// Errors: kIo.
  Result<IssuedKey> issue(const std::string& gateway, int64_t nowMs);
  /// Revokes every active key of `gateway`; returns how many. Errors: kIo.
  Result<int64_t> revoke(const std::string& gateway, int64_t nowMs);
  /// The keys (of one gateway when `gateway` is not empty), by key id. Errors: kIo.
  Result<std::vector<VirtualKeyInfo>> list(const std::string& gateway = "") const;
  /// The key `presented` is, when it is known; nullopt for an unknown key. A revoked key is returned with
  /// revokedMs set (the caller refuses it). Errors: kIo.
  Result<std::optional<VirtualKeyInfo>> authenticate(std::string_view presented) const;

  /// Appends one usage record. Errors: kIo.
  Status record(const UsageRecord& record);
  /// What `gateway` spent since `sinceMs`, USD. Errors: kIo.
  Result<double> spentUsd(const std::string& gateway, int64_t sinceMs) const;
  /// Usage since `sinceMs` (0: all), per gateway and model, of one gateway when `gateway` is not empty.
  /// Errors: kIo.
  Result<std::vector<UsageSummary>> usage(const std::string& gateway, int64_t sinceMs) const;

 private:
  struct Impl;
  explicit ProxyLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The SHA-256 (lower-case hex) the ledger stores for a key.
std::string virtualKeyHash(std::string_view key);

}  // namespace talon::fleet
