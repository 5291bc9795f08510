#include "gateway/agent/auth_profiles.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "base/clock.h"
#include "store/store.h"

namespace talon::gateway {

namespace {

constexpr int64_t kFailureWindowMs = 24 * 3600 * 1000;  // OpenClaw AUTH_COOLDOWN_CONFIG.failureWindowMs
constexpr int64_t kDisableBaseMs = 10 * 60 * 1000;
constexpr int64_t kBillingMaxMs = 24 * 3600 * 1000;
constexpr int64_t kAuthPermanentMaxMs = 3600 * 1000;

bool disables(FailoverReason reason) {
  return reason == FailoverReason::kBilling || reason == FailoverReason::kAuthPermanent;
}

}  // namespace

std::chrono::milliseconds authProfileCooldown(int errorCount) {
  if (errorCount <= 1) return std::chrono::milliseconds(30'000);
  if (errorCount == 2) return std::chrono::milliseconds(60'000);
  return std::chrono::milliseconds(300'000);
}

std::chrono::milliseconds authProfileDisable(FailoverReason reason, int count) {
  const int64_t max = reason == FailoverReason::kAuthPermanent ? kAuthPermanentMaxMs : kBillingMaxMs;
  int64_t ms = kDisableBaseMs;
  for (int i = 1; i < count && ms < max; ++i) ms *= 2;
  return std::chrono::milliseconds(std::min(ms, max));
}

bool rotatesAuthProfile(FailoverReason reason) {
  switch (reason) {
    case FailoverReason::kAuth:
    case FailoverReason::kAuthPermanent:
    case FailoverReason::kBilling:
    case FailoverReason::kRateLimit:
    case FailoverReason::kOverloaded:
    case FailoverReason::kTimeout:
      return true;
    default:
      return false;
  }
}

Result<std::shared_ptr<AuthProfilePool>> AuthProfilePool::create(std::vector<AuthProfile> profiles, ClockPtr clock,
                                                                 security::AuditSink* audit) {
  if (!clock) return fail(Error(ErrorCode::kInvalidArgument, "auth profile pool: no clock"));
  std::set<std::string> ids;
  std::vector<State> states;
  for (auto& p : profiles) {
    if (p.id.empty() || p.providerId.empty() || !p.provider) {
      return fail(
          Error(ErrorCode::kInvalidArgument, "auth profile \"" + p.id + "\": id, provider and instance needed"));
    }
    if (!ids.insert(p.id).second) {
      return fail(Error(ErrorCode::kInvalidArgument, "auth profile \"" + p.id + "\" is listed twice"));
    }
    State s;
    s.profile = std::move(p);
    states.push_back(std::move(s));
  }
  return std::shared_ptr<AuthProfilePool>(new AuthProfilePool(std::move(states), std::move(clock), audit));
}

AuthProfilePool::AuthProfilePool(std::vector<State> states, ClockPtr clock, security::AuditSink* audit)
    : states_(std::move(states)), clock_(std::move(clock)), audit_(audit) {}

bool AuthProfilePool::has(const std::string& providerId) const {
  std::lock_guard lock(mu_);
  return std::any_of(states_.begin(), states_.end(),
                     [&](const State& s) { return s.profile.providerId == providerId; });
}

AuthProfileStatus AuthProfilePool::statusLocked(const State& s, int64_t now) const {
  AuthProfileStatus st;
  st.id = s.profile.id;
  st.providerId = s.profile.providerId;
  st.errorCount = s.errorCount;
  st.lastUsedMs = s.lastUsedMs;
  const int64_t until = std::max(s.cooldownUntilMs, s.disabledUntilMs);
  if (until > now) {
    st.unusableUntilMs = until;
    st.reason = s.reason;
    st.disabled = s.disabledUntilMs > now;
  }
  return st;
}

std::vector<AuthProfile> AuthProfilePool::order(const std::string& providerId) const {
  std::lock_guard lock(mu_);
  const int64_t now = clock_->nowMs();
  std::vector<AuthProfile> usable;
  std::vector<std::pair<int64_t, AuthProfile>> out;
  for (const auto& s : states_) {
    if (s.profile.providerId != providerId) continue;
    auto st = statusLocked(s, now);
    if (st.unusableUntilMs == 0) {
      usable.push_back(s.profile);
    } else {
      out.emplace_back(st.unusableUntilMs, s.profile);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [until, p] : out) usable.push_back(std::move(p));
  return usable;
}

std::optional<AuthProfileStatus> AuthProfilePool::status(const std::string& profileId) const {
  std::lock_guard lock(mu_);
  for (const auto& s : states_) {
    if (s.profile.id == profileId) return statusLocked(s, clock_->nowMs());
  }
  return std::nullopt;
}

std::vector<AuthProfileStatus> AuthProfilePool::statuses() const {
  std::lock_guard lock(mu_);
  std::vector<AuthProfileStatus> out;
  for (const auto& s : states_) out.push_back(statusLocked(s, clock_->nowMs()));
  return out;
}

std::optional<int64_t> AuthProfilePool::recordFailure(const std::string& profileId, FailoverReason reason) {
  if (!rotatesAuthProfile(reason)) return std::nullopt;
  security::AuditEvent event;
  int64_t until = 0;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(states_.begin(), states_.end(), [&](const State& s) { return s.profile.id == profileId; });
    if (it == states_.end()) return std::nullopt;
    State& s = *it;
    const int64_t now = clock_->nowMs();
    if (s.lastFailureMs > 0 && now - s.lastFailureMs > kFailureWindowMs) {
      s.errorCount = 0;
      s.disableCounts.clear();
    }
    ++s.errorCount;
    s.lastFailureMs = now;
    s.reason = std::string(failoverReasonName(reason));
    const bool disable = disables(reason);
    if (disable) {
      int n = static_cast<int>(++s.disableCounts[std::string(failoverReasonName(reason))]);
      if (s.disabledUntilMs <= now) s.disabledUntilMs = now + authProfileDisable(reason, n).count();
      until = s.disabledUntilMs;
    } else {
      if (s.cooldownUntilMs <= now) s.cooldownUntilMs = now + authProfileCooldown(s.errorCount).count();
      until = s.cooldownUntilMs;
    }
    event.kind = disable ? "model.auth_profile.disable" : "model.auth_profile.cooldown";
    event.actor = "system";
    event.target = s.profile.id;
    event.outcome = security::AuditOutcome::kDenied;
    event.details = {
        {"provider", s.profile.providerId}, {"reason", s.reason}, {"errorCount", s.errorCount}, {"untilMs", until}};
    if (sink_) sink_(recordOf(s, now));
  }
  if (audit_ != nullptr) audit_->record(std::move(event));
  return until;
}

void AuthProfilePool::recordSuccess(const std::string& profileId) {
  std::lock_guard lock(mu_);
  for (auto& s : states_) {
    if (s.profile.id != profileId) continue;
    const bool changes = s.errorCount != 0 || !s.disableCounts.empty() || s.cooldownUntilMs != 0 ||
                         s.disabledUntilMs != 0 || !s.reason.empty() || s.lastFailureMs != 0;
    s.errorCount = 0;
    s.lastFailureMs = 0;
    s.disableCounts.clear();
    s.cooldownUntilMs = 0;
    s.disabledUntilMs = 0;
    s.reason.clear();
    s.lastUsedMs = clock_->nowMs();
    if (changes && sink_) sink_(recordOf(s, s.lastUsedMs));
  }
}

store::AuthProfileStateRecord AuthProfilePool::recordOf(const State& s, int64_t now) {
  store::AuthProfileStateRecord r;
  r.profileId = s.profile.id;
  r.providerId = s.profile.providerId;
  r.errorCount = s.errorCount;
  r.lastFailureAtMs = s.lastFailureMs;
  r.cooldownUntilMs = s.cooldownUntilMs;
  r.disabledUntilMs = s.disabledUntilMs;
  r.reason = s.reason;
  r.disableCounts = s.disableCounts;
  r.lastUsedAtMs = s.lastUsedMs;
  r.updatedAtMs = now;
  return r;
}

void AuthProfilePool::restore(const std::vector<store::AuthProfileStateRecord>& saved) {
  std::lock_guard lock(mu_);
  for (const auto& r : saved) {
    for (auto& s : states_) {
      if (s.profile.id != r.profileId || s.profile.providerId != r.providerId) continue;
      s.errorCount = static_cast<int>(r.errorCount);
      s.lastFailureMs = r.lastFailureAtMs;
      s.cooldownUntilMs = r.cooldownUntilMs;
      s.disabledUntilMs = r.disabledUntilMs;
      s.reason = r.reason;
      s.disableCounts = r.disableCounts;
      s.lastUsedMs = r.lastUsedAtMs;
    }
  }
}

void AuthProfilePool::setStateSink(std::function<void(store::AuthProfileStateRecord)> sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

Status persistAuthProfileState(AuthProfilePool& pool, store::Store& store) {
  std::vector<std::string> configured;
  for (const auto& st : pool.statuses()) configured.push_back(st.id);
  auto saved = store::AuthProfileStateRepository(store).list();
  if (!saved) return fail(saved.error());
  // The saved state of a profile no longer configured is deleted; a start with none writes nothing.
  bool stale = std::any_of(saved->begin(), saved->end(), [&](const store::AuthProfileStateRecord& r) {
    return std::find(configured.begin(), configured.end(), r.profileId) == configured.end();
  });
  if (stale) {
    store::WriteBatch prune;
    store::AuthProfileStateRepository::retainOnly(prune, configured);
    if (auto s = store.write(std::move(prune)); !s) return s;
  }
  pool.restore(*saved);
  for (const auto& st : pool.statuses()) {
    if (st.unusableUntilMs == 0) continue;
    spdlog::info("auth profile {}: {} ({}) until {}, as saved before the restart", st.id,
                 st.disabled ? "disabled" : "in cooldown", st.reason, formatRfc3339Ms(st.unusableUntilMs));
  }
  store::Store* target = &store;
  pool.setStateSink([target](store::AuthProfileStateRecord record) {
    std::string id = record.profileId;
    store::WriteBatch batch;
    store::AuthProfileStateRepository::upsert(batch, std::move(record));
    target->submit(std::move(batch), [id = std::move(id)](Status s) {
      if (!s) spdlog::warn("auth profile {}: its state was not saved: {}", id, s.error().message);
    });
  });
  return {};
}

std::vector<const config::AuthProfileConfig*> authProfileOrder(const config::AuthConfig& auth,
                                                               const std::string& providerId) {
  auto usable = [&](const config::AuthProfileConfig& p) {
    return p.provider == providerId && (p.mode == "api_key" || p.mode == "token") && p.unavailable.empty();
  };
  std::vector<const config::AuthProfileConfig*> out;
  if (auto it = auth.order.find(providerId); it != auth.order.end()) {
    for (const auto& id : it->second) {
      auto p = std::find_if(auth.profiles.begin(), auth.profiles.end(),
                            [&](const config::AuthProfileConfig& x) { return x.id == id; });
      if (p != auth.profiles.end() && usable(*p) && std::find(out.begin(), out.end(), &*p) == out.end()) {
        out.push_back(&*p);
      }
    }
    return out;
  }
  for (const auto& p : auth.profiles) {
    if (usable(p) && p.mode == "token") out.push_back(&p);
  }
  for (const auto& p : auth.profiles) {
    if (usable(p) && p.mode == "api_key") out.push_back(&p);
  }
  return out;
}

}  // namespace talon::gateway
