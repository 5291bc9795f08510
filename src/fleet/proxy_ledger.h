#pragma once
// The model proxy's ledger (docs/fleet.md "Model proxy"): the virtual keys of gateways (and, with
// attribution "agent", of their agents) and the usage they spent, in one SQLite database in the fleet state dir,
// `<stateDir>/proxy/proxy.sqlite` (WAL, mode 0600, folder 0700). A virtual key is 32 random bytes from libsodium's
// CSPRNG, shown once when issued
// ("tfk_" + URL-safe base64); the ledger keeps only its SHA-256, so a copy of the state dir holds no usable
// key. `talon fleet keys`, `talon fleet usage` and `talon fleet serve` open it concurrently: SQLite's
// locking (with a busy timeout) orders them, and serve reads a key's state on every request, so a revoke
// takes effect at once. Thread-safe (one connection behind a mutex); calls block on disk I/O.
// Schema changes only add: a ledger written before agent keys (no `agent` columns) gets the columns on
// open, its keys and usage kept as the gateway's.
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
  /// The agent the key belongs to; nullopt for the gateway's own key.
  std::optional<std::string> agent;
  /// The first 8 characters after "tfk_", to tell keys apart.
  std::string prefix;
  int64_t createdMs = 0;
  /// Set once revoked.
  std::optional<int64_t> revokedMs;
  bool active() const { return !revokedMs.has_value(); }
  /// {"keyId", "gateway", "agent" (null for a gateway key), "prefix", "created", "revoked"?, "active"}.
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
  /// The agent whose key made the request; nullopt for a gateway key.
  std::optional<std::string> agent;
  std::string keyId;
  /// The model ref "provider/model".
  std::string model;
  TokenUsage usage;
  double costUsd = 0;
  /// The upstream's HTTP status.
  int status = 0;
  bool stream = false;
};

/// Usage summed per gateway and model (and per agent, when asked for).
struct UsageSummary {
  std::string gateway;
  /// With UsageGrouping::kAgent: the agent, nullopt for requests made with the gateway's key.
  std::optional<std::string> agent;
  std::string model;
  int64_t requests = 0;
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  double costUsd = 0;
  /// {"gateway", "agent"? (by agent only; null for the gateway's key), "model", "requests", "promptTokens",
  /// "completionTokens", "costUsd"}.
  json::object toJson(bool byAgent = false) const;
};

/// How ProxyLedger::usage() groups: per gateway and model, or per gateway, agent and model.
enum class UsageGrouping { kGateway, kAgent };

class ProxyLedger {
 public:
  /// Opens (creating) `<stateDir>/proxy/proxy.sqlite`. Errors: kIo naming the file.
  static Result<std::unique_ptr<ProxyLedger>> open(const std::filesystem::path& stateDir);
  ~ProxyLedger();
  ProxyLedger(const ProxyLedger&) = delete;
  ProxyLedger& operator=(const ProxyLedger&) = delete;

  /// Issues a new key for `gateway` (or for its agent `agent`) and revokes that holder's earlier active key:
  /// one key per gateway and one per agent; a gateway key and its agents' keys do not revoke each other.
  /// Errors: kIo.
  Result<IssuedKey> issue(const std::string& gateway, int64_t nowMs,
                          const std::optional<std::string>& agent = std::nullopt);
  /// Revokes the active keys of `agent` of `gateway`, or without an agent every active key of `gateway`
  /// (its own and its agents'); returns how many. Errors: kIo.
  Result<int64_t> revoke(const std::string& gateway, int64_t nowMs,
                         const std::optional<std::string>& agent = std::nullopt);
  /// The keys (of one gateway when `gateway` is not empty), by key id. Errors: kIo.
  Result<std::vector<VirtualKeyInfo>> list(const std::string& gateway = "") const;
  /// The key `presented` is, when it is known; nullopt for an unknown key. A revoked key is returned with
  /// revokedMs set (the caller refuses it). Errors: kIo.
  Result<std::optional<VirtualKeyInfo>> authenticate(std::string_view presented) const;

  /// Appends one usage record. Errors: kIo.
  Status record(const UsageRecord& record);
  /// What `gateway` spent since `sinceMs` (all its keys: its own and its agents'), USD. Errors: kIo.
  Result<double> spentUsd(const std::string& gateway, int64_t sinceMs) const;
  /// What agent `agent` of `gateway` spent with its own key since `sinceMs`, USD. Errors: kIo.
  Result<double> agentSpentUsd(const std::string& gateway, const std::string& agent, int64_t sinceMs) const;
  /// Usage since `sinceMs` (0: all), per gateway and model (kAgent: per gateway, agent and model), of one
  /// gateway when `gateway` is not empty. Errors: kIo.
  Result<std::vector<UsageSummary>> usage(const std::string& gateway, int64_t sinceMs,
                                          UsageGrouping grouping = UsageGrouping::kGateway) const;

 private:
  struct Impl;
  explicit ProxyLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The SHA-256 (lower-case hex) the ledger stores for a key.
std::string virtualKeyHash(std::string_view key);

}  // namespace talon::fleet
