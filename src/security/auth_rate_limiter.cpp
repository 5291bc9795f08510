#include "security/auth_rate_limiter.h"

#include <algorithm>

namespace talon::security {
namespace {

constexpr std::string_view kHttpRateLimitedMessage = "Too many failed authentication attempts. Please try again later.";

}  // namespace

AuthRateLimiter::AuthRateLimiter(config::AuthRateLimitConfig config, ClockPtr clock)
    : config_(config), clock_(std::move(clock)) {}

void AuthRateLimiter::refresh(Entry& e, int64_t now) const {
  if (e.lockedUntilMs != 0 && now >= e.lockedUntilMs) {
    e.lockedUntilMs = 0;
    e.attempts.clear();
  }
  int64_t cutoff = now - config_.windowMs;
  e.attempts.erase(e.attempts.begin(),
                   std::find_if(e.attempts.begin(), e.attempts.end(), [cutoff](int64_t t) { return t > cutoff; }));
}

void AuthRateLimiter::pruneExpired(int64_t now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.lockedUntilMs != 0 && now < it->second.lockedUntilMs) {
      ++it;
      continue;
    }
    refresh(it->second, now);
    it = it->second.attempts.empty() ? entries_.erase(it) : std::next(it);
  }
}

bool AuthRateLimiter::makeRoom(int64_t now) {
  if (entries_.size() < kMaxEntries) return true;
  pruneExpired(now);
  if (entries_.size() < kMaxEntries) return true;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.lockedUntilMs == 0 || now >= it->second.lockedUntilMs) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

RateLimitDecision AuthRateLimiter::check(std::string_view address, bool isLoopback) {
  if (exempt(isLoopback)) return {};
  std::lock_guard lock(mu_);
  int64_t now = clock_->nowMs();
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    if (overflowLockedUntilMs_ <= now) return {};
    if (entries_.size() >= kMaxEntries) pruneExpired(now);
    if (entries_.size() < kMaxEntries) {
      overflowLockedUntilMs_ = 0;
      return {};
    }
    return {false, overflowLockedUntilMs_ - now};
  }
  Entry& e = it->second;
  refresh(e, now);
  if (e.lockedUntilMs == 0 && static_cast<int64_t>(e.attempts.size()) >= config_.maxAttempts) {
    e.lockedUntilMs = now + config_.lockoutMs;
  }
  if (e.lockedUntilMs != 0 && now < e.lockedUntilMs) return {false, e.lockedUntilMs - now};
  return {};
}

bool AuthRateLimiter::recordFailure(std::string_view address, bool isLoopback) {
  if (exempt(isLoopback)) return false;
  std::lock_guard lock(mu_);
  int64_t now = clock_->nowMs();
  auto it = entries_.find(address);
  if (it == entries_.end()) {
    if (!makeRoom(now)) {
      overflowLockedUntilMs_ = std::max(overflowLockedUntilMs_, now + config_.lockoutMs);
      return false;
    }
    it = entries_.emplace(std::string(address), Entry{}).first;
  }
  Entry& e = it->second;
  if (e.lockedUntilMs != 0 && now < e.lockedUntilMs) return false;
  refresh(e, now);
  e.attempts.push_back(now);
  if (static_cast<int64_t>(e.attempts.size()) >= config_.maxAttempts) {
    e.lockedUntilMs = now + config_.lockoutMs;
    return true;
  }
  return false;
}

void AuthRateLimiter::reset(std::string_view address) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(address); it != entries_.end()) entries_.erase(it);
}

std::size_t AuthRateLimiter::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

RateLimitedAuthenticator::RateLimitedAuthenticator(const Authenticator& inner, config::AuthRateLimitConfig config,
                                                   ClockPtr clock, AuditSink& audit, Observer observer)
    : inner_(inner), limiter_(config, std::move(clock)), audit_(audit), observer_(std::move(observer)) {}

namespace {

AuditEvent authEvent(std::string_view kind, const PeerOrigin& origin, AuditOutcome outcome, std::string_view reason) {
  AuditEvent e;
  e.kind = std::string(kind);
  e.actor = "client:" + std::string(origin.remoteAddress);
  e.outcome = outcome;
  e.details = {{"reason", reason}, {"clientAddress", origin.remoteAddress}, {"loopback", origin.isLoopback}};
  return e;
}

std::string_view authReasonOf(const Error& e) {
  if (const auto* r = e.details.if_contains("authReason"); r && r->is_string()) {
    return std::string_view(r->get_string().data(), r->get_string().size());
  }
  return "unauthorized";
}

}  // namespace

Expected<Principal, ConnectAuthFailure> RateLimitedAuthenticator::authenticateConnect(
    const protocol::ConnectParams& params, protocol::Role role, const PeerOrigin& origin) const {
  auto decision = limiter_.check(origin.remoteAddress, origin.isLoopback);
  if (!decision.allowed) {
    observe(AuthAttemptOutcome::kRateLimited);
    auto event = authEvent("auth.connect", origin, AuditOutcome::kDenied, "rate_limited");
    event.details["retryAfterMs"] = decision.retryAfterMs;
    event.details["clientId"] = params.client.id;
    audit_.record(std::move(event));
    ConnectAuthFailure failure;
    failure.reason = protocol::AuthFailure::kRateLimited;
    failure.error = protocol::authFailureError(protocol::AuthFailure::kRateLimited, params.client.id,
                                               params.client.mode, origin.isLoopback, decision.retryAfterMs);
    return Unexpected(std::move(failure));
  }
  // The inner chain audits the decision itself (AuditedAuthenticator); this layer audits only what the
  // limiter decides: refusals unchecked during a lockout (above) and the start of a lockout.
  auto result = inner_.authenticateConnect(params, role, origin);
  if (result) {
    limiter_.reset(origin.remoteAddress);
    return result;
  }
  bool lockedOut = limiter_.recordFailure(origin.remoteAddress, origin.isLoopback);
  observe(lockedOut ? AuthAttemptOutcome::kLockedOut : AuthAttemptOutcome::kFailed);
  if (lockedOut) {
    auto event = authEvent("auth.lockout", origin, AuditOutcome::kDenied, authReasonOf(result.error().error));
    event.details["clientId"] = params.client.id;
    audit_.record(std::move(event));
  }
  return result;
}

Result<Principal> RateLimitedAuthenticator::authenticateHttp(std::string_view authorization,
                                                             const PeerOrigin& origin) const {
  auto decision = limiter_.check(origin.remoteAddress, origin.isLoopback);
  if (!decision.allowed) {
    observe(AuthAttemptOutcome::kRateLimited);
    auto event = authEvent("auth.http", origin, AuditOutcome::kDenied, "rate_limited");
    event.details["retryAfterMs"] = decision.retryAfterMs;
    audit_.record(std::move(event));
    Error e(ErrorCode::kResourceExhausted,
            "client " + std::string(origin.remoteAddress) + " is locked out after too many failed authentications",
            std::string(kHttpRateLimitedMessage));
    e.retryAfterMs = decision.retryAfterMs;
    return fail(std::move(e));
  }
  auto result = inner_.authenticateHttp(authorization, origin);
  if (result) {
    limiter_.reset(origin.remoteAddress);
    return result;
  }
  bool lockedOut = limiter_.recordFailure(origin.remoteAddress, origin.isLoopback);
  observe(lockedOut ? AuthAttemptOutcome::kLockedOut : AuthAttemptOutcome::kFailed);
  if (lockedOut) audit_.record(authEvent("auth.lockout", origin, AuditOutcome::kDenied, "unauthorized"));
  return result;
}

}  // namespace talon::security
