#include "security/auth_rate_limiter.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "base/json.h"
#include "security/shared_secret_authenticator.h"

namespace talon::security {
namespace {

constexpr std::string_view kLimiterToken = "tok-3f9c2a7e1b8d4c6f0a5e9b2d";
const PeerOrigin kRemote{false, "192.0.2.7"};
const PeerOrigin kOtherRemote{false, "192.0.2.8"};
const PeerOrigin kLoopback{true, "127.0.0.1"};

class Events final : public AuditSink {
 public:
  void record(AuditEvent e) override {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  std::vector<AuditEvent> all() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<AuditEvent> events_;
};

protocol::ConnectParams limiterConnect(std::string token) {
  protocol::ConnectParams p;
  p.minProtocol = 4;
  p.maxProtocol = 4;
  p.client.id = "cli";
  p.client.mode = protocol::ClientMode::kCli;
  p.client.version = "2026.9.6";
  p.client.platform = "linux";
  p.scopes = {"operator.read"};
  p.auth.token = std::move(token);
  return p;
}

struct Fixture {
  std::shared_ptr<SimulatedClock> clock = std::make_shared<SimulatedClock>();
  Events audit;
  std::unique_ptr<SharedSecretAuthenticator> inner;
  std::vector<AuthAttemptOutcome> outcomes;
  std::unique_ptr<RateLimitedAuthenticator> auth;

  explicit Fixture(config::AuthRateLimitConfig rl = {}) {
    config::GatewayAuthConfig c;
    c.mode = "token";
    c.token = std::string(kLimiterToken);
    inner = std::move(*SharedSecretAuthenticator::create(c));
    auth = std::make_unique<RateLimitedAuthenticator>(*inner, rl, clock, audit,
                                                      [this](AuthAttemptOutcome o) { outcomes.push_back(o); });
  }
  bool connect(const PeerOrigin& from, std::string token, protocol::AuthFailure* reason = nullptr,
               Error* error = nullptr) {
    auto r = auth->authenticateConnect(limiterConnect(std::move(token)), protocol::Role::kOperator, from);
    if (!r && reason) *reason = r.error().reason;
    if (!r && error) *error = r.error().error;
    return r.has_value();
  }
};

TEST(AuthRateLimit, TenFailuresLockTheAddressOutForFiveMinutesEvenWithTheRightToken) {
  Fixture f;  // OpenClaw's defaults: 10 per 60 s, 300 s lockout
  for (int i = 0; i < 9; ++i) {
    EXPECT_FALSE(f.connect(kRemote, "wrong"));
    f.clock->advance(1000);
  }
  EXPECT_EQ(f.outcomes.back(), AuthAttemptOutcome::kFailed);
  EXPECT_FALSE(f.connect(kRemote, "wrong"));  // the 10th: lockout starts
  EXPECT_EQ(f.outcomes.back(), AuthAttemptOutcome::kLockedOut);

  protocol::AuthFailure reason{};
  Error error;
  EXPECT_FALSE(f.connect(kRemote, std::string(kLimiterToken), &reason, &error));
  EXPECT_EQ(reason, protocol::AuthFailure::kRateLimited);
  EXPECT_EQ(f.outcomes.back(), AuthAttemptOutcome::kRateLimited);
  EXPECT_EQ(error.publicMessage(), "unauthorized: too many failed authentication attempts (retry later)");
  EXPECT_EQ(error.details.at("code").as_string(), "AUTH_RATE_LIMITED");
  EXPECT_EQ(error.details.at("authReason").as_string(), "rate_limited");
  EXPECT_EQ(error.retryAfterMs, 300'000);
  // Another address is not affected; HTTP shares the lockout.
  EXPECT_TRUE(f.connect(kOtherRemote, std::string(kLimiterToken)));
  auto http = f.auth->authenticateHttp("Bearer " + std::string(kLimiterToken), kRemote);
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(http.error().publicMessage(), "Too many failed authentication attempts. Please try again later.");
  EXPECT_EQ(http.error().retryAfterMs, 300'000);

  f.clock->advance(299'999);
  EXPECT_FALSE(f.connect(kRemote, std::string(kLimiterToken)));
  f.clock->advance(1);
  EXPECT_TRUE(f.connect(kRemote, std::string(kLimiterToken)));
}

TEST(AuthRateLimit, FailuresOutsideTheWindowDoNotCountAndSuccessResets) {
  Fixture f;
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(f.connect(kRemote, "wrong"));
  f.clock->advance(60'001);  // the window slid past all nine
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(f.connect(kRemote, "wrong"));
  EXPECT_TRUE(f.connect(kRemote, std::string(kLimiterToken)));  // success clears them
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(f.connect(kRemote, "wrong"));
  EXPECT_TRUE(f.connect(kRemote, std::string(kLimiterToken)));
  for (auto o : f.outcomes) EXPECT_EQ(o, AuthAttemptOutcome::kFailed);
}

TEST(AuthRateLimit, LoopbackIsExemptUnlessConfiguredOtherwise) {
  Fixture exempt;
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(exempt.connect(kLoopback, "wrong"));
  EXPECT_TRUE(exempt.connect(kLoopback, std::string(kLimiterToken)));

  config::AuthRateLimitConfig strict;
  strict.exemptLoopback = false;
  strict.maxAttempts = 3;
  strict.lockoutMs = 1000;
  Fixture f(strict);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.connect(kLoopback, "wrong"));
  protocol::AuthFailure reason{};
  EXPECT_FALSE(f.connect(kLoopback, std::string(kLimiterToken), &reason));
  EXPECT_EQ(reason, protocol::AuthFailure::kRateLimited);
  f.clock->advance(1000);
  EXPECT_TRUE(f.connect(kLoopback, std::string(kLimiterToken)));
}

TEST(AuthRateLimit, HttpFailuresCountAndTheLimitersDecisionsAreAuditedWithoutTheCredential) {
  config::AuthRateLimitConfig rl;
  rl.maxAttempts = 2;
  Fixture f(rl);
  EXPECT_FALSE(f.auth->authenticateHttp("Bearer guess-one", kRemote));
  EXPECT_FALSE(f.auth->authenticateHttp("Bearer guess-two", kRemote));
  EXPECT_FALSE(f.connect(kRemote, std::string(kLimiterToken)));  // locked out across transports
  EXPECT_TRUE(f.connect(kOtherRemote, std::string(kLimiterToken)));
  auto events = f.audit.all();
  ASSERT_EQ(events.size(), 2u);  // the limiter's own decisions; the inner chain audits the rest
  EXPECT_EQ(events[0].kind, "auth.lockout");
  EXPECT_EQ(events[0].outcome, AuditOutcome::kDenied);
  EXPECT_EQ(events[0].actor, "client:192.0.2.7");
  EXPECT_EQ(events[1].kind, "auth.connect");
  EXPECT_EQ(events[1].details.at("reason").as_string(), "rate_limited");
  for (const auto& e : events) {
    std::string text = json::serialize(e.details) + e.actor + e.target;
    EXPECT_EQ(text.find("guess"), std::string::npos) << text;
    EXPECT_EQ(text.find(kLimiterToken), std::string::npos) << text;
  }
  EXPECT_EQ(f.outcomes, (std::vector<AuthAttemptOutcome>{AuthAttemptOutcome::kFailed, AuthAttemptOutcome::kLockedOut,
                                                         AuthAttemptOutcome::kRateLimited}));
}

TEST(AuthRateLimiter, ManyAddressesStayBoundedAndKeepTheirLockouts) {
  auto clock = std::make_shared<SimulatedClock>();
  config::AuthRateLimitConfig rl;
  rl.maxAttempts = 1;
  AuthRateLimiter limiter(rl, clock);
  // Fill the table with locked-out addresses: a new address is then refused instead of evicting one.
  for (std::size_t i = 0; i < AuthRateLimiter::kMaxEntries; ++i) {
    limiter.recordFailure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), false);
  }
  EXPECT_EQ(limiter.size(), AuthRateLimiter::kMaxEntries);
  EXPECT_FALSE(limiter.check("10.0.0.0", false).allowed);
  EXPECT_FALSE(limiter.recordFailure("203.0.113.1", false));
  EXPECT_FALSE(limiter.check("203.0.113.1", false).allowed);  // overflow lock
  EXPECT_EQ(limiter.size(), AuthRateLimiter::kMaxEntries);
  clock->advance(rl.lockoutMs);
  EXPECT_TRUE(limiter.check("203.0.113.1", false).allowed);
  EXPECT_TRUE(limiter.check("10.0.0.0", false).allowed);
}

}  // namespace
}  // namespace talon::security
