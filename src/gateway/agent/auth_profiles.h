#pragma once
// Auth-profile rotation as OpenClaw defines it (docs/concepts/model-failover.md "Auth storage",
// "Rotation order", "Cooldowns", "Billing disables"; dist usage-failure-state-*.mjs): a provider may hold
// several credentials (profiles); a turn calls the first usable one, and when a call fails with an
// auth, rate-limit, overload, timeout or billing reason the profile is put in cooldown and the turn
// rotates to the provider's next usable profile before it moves to the next fallback model.
//
// Cooldowns: 30 s after a profile's first failure, 1 min after its second, 5 min from the third on; the
// count restarts after a success or after 24 h without a failure. Billing and permanent-auth failures
// disable the profile instead: 10 min, doubling with each repeat, at most 24 h (billing) or 1 h
// (auth_permanent). A window that is still running is never shortened.
//
// State outlives a restart when the owner persists it (setStateSink, restore: the gateway keeps it in its
// store, store/auth_profile_state_repository.h), as OpenClaw keeps it in its per-agent store. Thread-safe:
// every method may be called from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "config/config_model.h"
#include "gateway/agent/model_failover.h"
#include "gateway/providers/model_provider.h"
#include "security/audit_sink.h"
#include "store/auth_profile_state_repository.h"

namespace talon::gateway {

/// One credential of a provider and the provider instance that sends it.
struct AuthProfile {
  std::string id;          // "anthropic:work"
  std::string providerId;  // "anthropic"
  ModelProviderPtr provider;
};

/// What a profile's state says now.
struct AuthProfileStatus {
  std::string id;
  std::string providerId;
  /// Wall-clock ms until which the profile is skipped (a cooldown or a disable); 0: usable now.
  int64_t unusableUntilMs = 0;
  /// "" when usable; else the failover reason that put it out ("auth", "rate_limit", "billing", ...).
  std::string reason;
  bool disabled = false;  // a billing / auth_permanent disable (not a cooldown)
  int errorCount = 0;     // failures since the last success (within the failure window)
  int64_t lastUsedMs = 0;
};

/// The cooldown after a profile's `errorCount`-th failure (1-based): 30 s, 60 s, then 300 s (OpenClaw
/// calculateAuthProfileCooldownMs).
std::chrono::milliseconds authProfileCooldown(int errorCount);
/// The disable window after the `count`-th billing or auth_permanent failure (1-based): 10 min doubling,
/// capped at 24 h (billing) or 1 h (auth_permanent) (OpenClaw DISABLED_FAILURE_BACKOFF_POLICIES).
std::chrono::milliseconds authProfileDisable(FailoverReason reason, int count);
/// True when a failure with `reason` puts the profile out and moves the turn to the next profile: auth,
/// auth_permanent, billing, rate_limit, overloaded, timeout (OpenClaw: "auth failures, rate limits,
/// billing limits, or timeouts"; overloaded allows one rotation).
bool rotatesAuthProfile(FailoverReason reason);

/// The profiles of every provider that has some, in rotation order, and their cooldown state.
class AuthProfilePool {
 public:
  /// `profiles`: in rotation order per provider (a provider's profiles need not be adjacent). `audit`
  /// (may be null, else must outlive the pool) receives "model.auth_profile.cooldown" and
  /// "model.auth_profile.disable" events (target: the profile id; never a credential).
  /// Errors: kInvalidArgument for an empty id or provider, a null provider instance, or a duplicate id.
  static Result<std::shared_ptr<AuthProfilePool>> create(std::vector<AuthProfile> profiles, ClockPtr clock,
                                                         security::AuditSink* audit = nullptr);

  /// True when `providerId` has profiles (turns then call through them).
  bool has(const std::string& providerId) const;
  /// The provider's profiles to try, in order: the usable ones in rotation order, then the ones in
  /// cooldown or disabled, soonest usable first. Empty when the provider has none.
  std::vector<AuthProfile> order(const std::string& providerId) const;
  /// The profile's state now (nullopt for an unknown id).
  std::optional<AuthProfileStatus> status(const std::string& profileId) const;
  /// Every profile's state now, in rotation order.
  std::vector<AuthProfileStatus> statuses() const;
  /// Records a failed call. For a reason that rotatesAuthProfile(), starts (or keeps) the cooldown or the
  /// disable window and returns the wall-clock ms it ends; otherwise changes nothing and returns nullopt.
  std::optional<int64_t> recordFailure(const std::string& profileId, FailoverReason reason);
  /// Records an answered call: the profile's failure count and windows are cleared, lastUsed set.
  void recordSuccess(const std::string& profileId);

  /// Applies saved states (read from the store at start) to the profiles of the same id and provider;
  /// others are ignored. A window that has already ended is kept as it is (it no longer applies).
  void restore(const std::vector<store::AuthProfileStateRecord>& saved);
  /// Receives a profile's whole state after each change recordFailure() or recordSuccess() makes, for the
  /// owner to persist (updatedAtMs: now). A success of a profile without failures or windows changes
  /// nothing and is not reported, so a healthy credential costs no write per call. Called on the caller's
  /// thread under the pool's lock (so in the order of the changes): it must not block (queue the write,
  /// Store::submit) nor call the pool.
  void setStateSink(std::function<void(store::AuthProfileStateRecord)> sink);

 private:
  struct State {
    AuthProfile profile;
    int errorCount = 0;
    int64_t lastFailureMs = 0;
    int64_t cooldownUntilMs = 0;
    int64_t disabledUntilMs = 0;
    std::string reason;
    std::map<std::string, int64_t> disableCounts;  // by failover reason name
    int64_t lastUsedMs = 0;
  };
  AuthProfilePool(std::vector<State> states, ClockPtr clock, security::AuditSink* audit);
  AuthProfileStatus statusLocked(const State& s, int64_t now) const;
  static store::AuthProfileStateRecord recordOf(const State& s, int64_t now);

  mutable std::mutex mu_;
  std::vector<State> states_;  // rotation order
  ClockPtr clock_;
  security::AuditSink* audit_;
  std::function<void(store::AuthProfileStateRecord)> sink_;  // guarded by mu_
};
using AuthProfilePoolPtr = std::shared_ptr<AuthProfilePool>;

/// Makes `pool`'s state outlive restarts in `store` (store/auth_profile_state_repository.h): deletes the
/// saved state of profiles no longer configured, restores the rest (a profile still in cooldown or disabled
/// is logged), and sets the pool's state sink to queue an upsert per change (a failed write is logged with
/// the profile id; the pool keeps working from memory). `store` must outlive the pool's use. Errors: those
/// of the store's read and write (kIo, kFailedPrecondition).
Status persistAuthProfileState(AuthProfilePool& pool, store::Store& store);

/// The profiles of `providerId` in OpenClaw's rotation order (docs/concepts/model-failover.md "Rotation
/// order"): `auth.order.<provider>` when set (ids that are not profiles of that provider are left out),
/// else the provider's `auth.profiles` in file order with token profiles before api_key ones. Profiles
/// whose credential is unavailable (`unavailable` set) and modes Talon cannot use are left out.
std::vector<const config::AuthProfileConfig*> authProfileOrder(const config::AuthConfig& auth,
                                                               const std::string& providerId);

}  // namespace talon::gateway
