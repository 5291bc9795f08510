#pragma once
// The persisted state of each auth profile (gateway/agent/auth_profiles.h): failure count, cooldown and
// disable windows, so that a restart neither forgets that a credential is rate limited, out of credit or
// revoked, nor resets the escalation of its cooldowns (OpenClaw docs/concepts/model-failover.md,
// "Cooldowns", "Billing disables"; OpenClaw keeps this usage state in its per-agent store).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "store/write_batch.h"

namespace talon::store {

class Store;

/// One auth profile's state. Times are Unix ms; 0 means none.
struct AuthProfileStateRecord {
  std::string profileId;  // "anthropic:work"
  std::string providerId;
  int64_t errorCount = 0;  // failures since the last success (within the failure window)
  int64_t lastFailureAtMs = 0;
  int64_t cooldownUntilMs = 0;
  int64_t disabledUntilMs = 0;
  std::string reason;  // the failover reason of the last failure ("rate_limit", "billing", ...)
  /// Billing / auth_permanent disables so far, by failover reason name (the disable window doubles).
  std::map<std::string, int64_t> disableCounts;
  int64_t lastUsedAtMs = 0;
  int64_t updatedAtMs = 0;
};

/// Reads and writes of auth-profile state. A view over a Store (cheap to copy; the store must outlive it).
/// Reads: any thread; each sees every write whose commit was reported before it began.
class AuthProfileStateRepository {
 public:
  explicit AuthProfileStateRepository(Store& store) : store_(&store) {}

  /// Adds to `batch`: insert or replace the state of record.profileId. Errors when applied:
  /// kInvalidArgument for an empty profile id, a negative count or time.
  static void upsert(WriteBatch& batch, AuthProfileStateRecord record);
  /// Adds to `batch`: delete the state of every profile not in `keepProfileIds`.
  static void retainOnly(WriteBatch& batch, std::vector<std::string> keepProfileIds);

  /// Every profile's state, by profile id. A malformed disable_counts_json reads as no counts. Errors:
  /// kFailedPrecondition after Store::close(), kIo for database failures.
  Result<std::vector<AuthProfileStateRecord>> list() const;

 private:
  Store* store_;
};

}  // namespace talon::store
