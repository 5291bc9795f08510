#pragma once
// The failed-auth rate limit (`gateway.auth.rateLimit`): per client address, at most maxAttempts
// failures within a sliding windowMs; the failure that reaches maxAttempts locks the address out for
// lockoutMs, during which every attempt — right credentials included — is refused before it is
// checked. A success clears the address's failures. Loopback clients are exempt when exemptLoopback.
// Source: OpenClaw 2026.9.6 dist/auth-rate-limit-*.mjs (createAuthRateLimiter: check, recordFailure,
// reset; defaults 10 / 60 s / 300 s / exempt; at most 10 000 tracked addresses).
//
// RateLimitedAuthenticator puts it in front of any Authenticator, so WebSocket connects and HTTP
// requests share one limiter and one audit trail.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "config/config_model.h"
#include "security/audit_sink.h"
#include "security/authenticator.h"

namespace talon::security {

/// The answer of AuthRateLimiter::check.
struct RateLimitDecision {
  bool allowed = true;
  /// When refused: ms until the lockout ends (> 0).
  int64_t retryAfterMs = 0;
};

/// Thread-safe (one mutex); time from the injected clock.
class AuthRateLimiter {
 public:
  /// At most this many addresses are tracked; past it, expired entries are pruned, then the oldest
  /// unlocked one is dropped; if every entry is locked, new addresses are refused for lockoutMs (as
  /// OpenClaw's overflow lock), so a flood of spoofed sources cannot evict real lockouts.
  static constexpr std::size_t kMaxEntries = 10'000;

  AuthRateLimiter(config::AuthRateLimitConfig config, ClockPtr clock);

  /// Whether `address` may try to authenticate now. `isLoopback`: a direct loopback client.
  RateLimitDecision check(std::string_view address, bool isLoopback);
  /// Counts a failure of `address`. Returns true when this failure started a lockout.
  bool recordFailure(std::string_view address, bool isLoopback);
  /// Forgets `address`'s failures (after a success).
  void reset(std::string_view address);
  /// Addresses tracked now.
  std::size_t size() const;

 private:
  struct Entry {
    std::vector<int64_t> attempts;  // failure times, ms, oldest first
    int64_t lockedUntilMs = 0;      // 0: not locked
  };
  bool exempt(bool isLoopback) const { return config_.exemptLoopback && isLoopback; }
  void refresh(Entry& e, int64_t now) const;
  /// Drops unlocked entries without failures in the window. With mu_ held.
  void pruneExpired(int64_t now);
  /// Room for one more entry: prune, else drop one unlocked entry; false when all are locked.
  bool makeRoom(int64_t now);

  const config::AuthRateLimitConfig config_;
  ClockPtr clock_;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
  int64_t overflowLockedUntilMs_ = 0;
};

/// What happened to one attempt, for metrics.
enum class AuthAttemptOutcome {
  kFailed,       // wrong or missing credentials (counted by the limiter)
  kLockedOut,    // a failure that started a lockout
  kRateLimited,  // refused unchecked: the address is locked out
};

/// An Authenticator that asks the limiter first and records the outcome: a locked-out address gets
/// AuthFailure::kRateLimited (connect) or kResourceExhausted with retryAfterMs and OpenClaw's message
/// "Too many failed authentication attempts. Please try again later." (HTTP: 429 + Retry-After);
/// a failure is counted; a success resets the address. What the limiter decides is audited (actor
/// "client:<address>", details {reason, clientAddress, retryAfterMs?, clientId?}; never a credential):
/// an attempt refused unchecked during a lockout ("auth.connect" / "auth.http", reason "rate_limited")
/// and the failure that starts a lockout ("auth.lockout"). The inner authenticator's own decisions are
/// audited by the chain it wraps (AuditedAuthenticator). Thread rules: as Authenticator (all const, any
/// thread; the limiter locks internally).
class RateLimitedAuthenticator final : public Authenticator {
 public:
  using Observer = std::function<void(AuthAttemptOutcome)>;
  /// `inner` and `audit` must outlive this object. `observer` may be empty.
  RateLimitedAuthenticator(const Authenticator& inner, config::AuthRateLimitConfig config, ClockPtr clock,
                           AuditSink& audit, Observer observer = {});

  Expected<Principal, ConnectAuthFailure> authenticateConnect(const protocol::ConnectParams& params,
                                                              protocol::Role role,
                                                              const PeerOrigin& origin) const override;
  Result<Principal> authenticateHttp(std::string_view authorization, const PeerOrigin& origin) const override;

  AuthRateLimiter& limiter() const { return limiter_; }

 private:
  void observe(AuthAttemptOutcome outcome) const {
    if (observer_) observer_(outcome);
  }
  const Authenticator& inner_;
  mutable AuthRateLimiter limiter_;
  AuditSink& audit_;
  Observer observer_;
};

}  // namespace talon::security
