// Auth-profile cooldowns and order in simulated time (auth_profiles.h).
#include "gateway/agent/auth_profiles.h"

#include <gtest/gtest.h>

#include "base/json.h"
#include "store/store_test_fixture.h"
#include "support/fake_model_provider.h"

namespace talon::gateway {
namespace {

class RecordingAudit final : public security::AuditSink {
 public:
  void record(security::AuditEvent event) override { events.push_back(std::move(event)); }
  std::vector<security::AuditEvent> events;
};

class AuthProfilePoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<AuthProfile> profiles;
    for (const char* id : {"fake:a", "fake:b", "fake:c"}) {
      profiles.push_back(AuthProfile{id, "fake", std::make_shared<talon::testing::FakeModelProvider>()});
    }
    profiles.push_back(AuthProfile{"other:x", "other", std::make_shared<talon::testing::FakeModelProvider>("other")});
    auto p = AuthProfilePool::create(std::move(profiles), clock_, &audit_);
    ASSERT_TRUE(p) << p.error().toString();
    pool_ = *p;
  }
  std::vector<std::string> order(const std::string& provider) {
    std::vector<std::string> ids;
    for (const auto& p : pool_->order(provider)) ids.push_back(p.id);
    return ids;
  }

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>(1'000'000);
  RecordingAudit audit_;
  AuthProfilePoolPtr pool_;
};

TEST(AuthProfileCooldowns, FollowOpenClawsLadder) {
  EXPECT_EQ(authProfileCooldown(1).count(), 30'000);
  EXPECT_EQ(authProfileCooldown(2).count(), 60'000);
  EXPECT_EQ(authProfileCooldown(3).count(), 300'000);
  EXPECT_EQ(authProfileCooldown(9).count(), 300'000);
  EXPECT_EQ(authProfileDisable(FailoverReason::kBilling, 1).count(), 600'000);
  EXPECT_EQ(authProfileDisable(FailoverReason::kBilling, 2).count(), 1'200'000);
  EXPECT_EQ(authProfileDisable(FailoverReason::kBilling, 20).count(), 24 * 3'600'000);
  EXPECT_EQ(authProfileDisable(FailoverReason::kAuthPermanent, 20).count(), 3'600'000);
  EXPECT_TRUE(rotatesAuthProfile(FailoverReason::kAuth));
  EXPECT_TRUE(rotatesAuthProfile(FailoverReason::kRateLimit));
  EXPECT_TRUE(rotatesAuthProfile(FailoverReason::kBilling));
  EXPECT_FALSE(rotatesAuthProfile(FailoverReason::kFormat));
  EXPECT_FALSE(rotatesAuthProfile(FailoverReason::kModelNotFound));
  EXPECT_FALSE(rotatesAuthProfile(FailoverReason::kContextOverflow));
}

TEST_F(AuthProfilePoolTest, RepeatedFailuresCoolDownThirtySecondsThenAMinuteThenFive) {
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:a", "fake:b", "fake:c"}));
  auto until = pool_->recordFailure("fake:a", FailoverReason::kAuth);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, 1'000'000 + 30'000);
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:b", "fake:c", "fake:a"}));
  // A failure while the window runs does not shorten nor lengthen it.
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kRateLimit), 1'000'000 + 30'000);
  clock_->advance(30'000);
  EXPECT_EQ(pool_->status("fake:a")->unusableUntilMs, 0);
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:a", "fake:b", "fake:c"}));
  // Third failure: 5 minutes.
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kAuth), 1'030'000 + 300'000);
  auto st = pool_->status("fake:a");
  EXPECT_EQ(st->reason, "auth");
  EXPECT_EQ(st->errorCount, 3);
  EXPECT_FALSE(st->disabled);
  clock_->advance(299'999);
  EXPECT_GT(pool_->status("fake:a")->unusableUntilMs, 0);
  clock_->advance(1);
  EXPECT_EQ(pool_->status("fake:a")->unusableUntilMs, 0);
  // A success restarts the ladder.
  pool_->recordSuccess("fake:a");
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kTimeout), clock_->nowMs() + 30'000);
  EXPECT_EQ(order("other"), (std::vector<std::string>{"other:x"}));  // another provider is untouched
}

TEST_F(AuthProfilePoolTest, TheLadderRestartsAfterADayWithoutFailures) {
  pool_->recordFailure("fake:a", FailoverReason::kAuth);
  clock_->advance(31'000);
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kAuth), clock_->nowMs() + 60'000);
  clock_->advance(24 * 3'600'000 + 1);
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kAuth), clock_->nowMs() + 30'000);
}

TEST_F(AuthProfilePoolTest, BillingAndRevokedKeysDisableForTenMinutesAndAreAudited) {
  EXPECT_EQ(*pool_->recordFailure("fake:b", FailoverReason::kBilling), 1'000'000 + 600'000);
  EXPECT_EQ(*pool_->recordFailure("fake:c", FailoverReason::kAuthPermanent), 1'000'000 + 600'000);
  EXPECT_TRUE(pool_->status("fake:b")->disabled);
  EXPECT_EQ(pool_->status("fake:b")->reason, "billing");
  pool_->recordFailure("fake:a", FailoverReason::kRateLimit);  // 30 s: soonest usable first
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:a", "fake:b", "fake:c"}));
  EXPECT_EQ(pool_->order("fake").size(), 3u);
  clock_->advance(30'000);
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:a", "fake:b", "fake:c"}));
  EXPECT_EQ(pool_->status("fake:a")->unusableUntilMs, 0);
  clock_->advance(570'000);
  EXPECT_FALSE(pool_->status("fake:b")->disabled);
  ASSERT_EQ(audit_.events.size(), 3u);
  EXPECT_EQ(audit_.events[0].kind, "model.auth_profile.disable");
  EXPECT_EQ(audit_.events[0].target, "fake:b");
  EXPECT_EQ(audit_.events[0].outcome, security::AuditOutcome::kDenied);
  EXPECT_EQ(audit_.events[0].details.at("reason"), json::value("billing"));
  EXPECT_EQ(audit_.events[1].details.at("reason"), json::value("auth_permanent"));
  EXPECT_EQ(audit_.events[2].kind, "model.auth_profile.cooldown");
}

TEST_F(AuthProfilePoolTest, AFormatErrorIsNotTheCredentialsFault) {
  EXPECT_FALSE(pool_->recordFailure("fake:a", FailoverReason::kFormat));
  EXPECT_FALSE(pool_->recordFailure("fake:a", FailoverReason::kModelNotFound));
  EXPECT_EQ(pool_->status("fake:a")->unusableUntilMs, 0);
  EXPECT_TRUE(audit_.events.empty());
}

TEST(AuthProfilePoolCreate, RefusesDuplicatesAndMissingInstances) {
  auto clock = std::make_shared<SimulatedClock>();
  auto provider = std::make_shared<talon::testing::FakeModelProvider>();
  EXPECT_FALSE(AuthProfilePool::create({{"a", "fake", provider}, {"a", "fake", provider}}, clock));
  EXPECT_FALSE(AuthProfilePool::create({{"a", "fake", nullptr}}, clock));
  EXPECT_FALSE(AuthProfilePool::create({{"", "fake", provider}}, clock));
}

TEST(AuthProfileOrder, ExplicitOrderElseTokensBeforeKeysAndOnlyUsableOnes) {
  config::AuthConfig auth;
  auto profile = [](std::string id, std::string provider, std::string mode, std::string unavailable = {}) {
    config::AuthProfileConfig p;
    p.id = std::move(id);
    p.provider = std::move(provider);
    p.mode = std::move(mode);
    p.unavailable = std::move(unavailable);
    return p;
  };
  auth.profiles = {profile("a:key1", "a", "api_key"), profile("a:tok", "a", "token"),
                   profile("a:key2", "a", "api_key"), profile("a:broken", "a", "api_key", "env var unset"),
                   profile("a:oauth", "a", "oauth"),  profile("b:key", "b", "api_key")};
  auto ids = [&](const std::string& provider) {
    std::vector<std::string> out;
    for (const auto* p : authProfileOrder(auth, provider)) out.push_back(p->id);
    return out;
  };
  EXPECT_EQ(ids("a"), (std::vector<std::string>{"a:tok", "a:key1", "a:key2"}));
  EXPECT_EQ(ids("b"), (std::vector<std::string>{"b:key"}));
  EXPECT_TRUE(ids("c").empty());
  auth.order["a"] = {"a:key2", "b:key", "a:missing", "a:key1", "a:key2"};
  EXPECT_EQ(ids("a"), (std::vector<std::string>{"a:key2", "a:key1"}));
}

}  // namespace
}  // namespace talon::gateway

namespace talon::gateway {
namespace {

TEST_F(AuthProfilePoolTest, EachChangeReachesTheStateSinkButAHealthySuccessDoesNot) {
  std::vector<store::AuthProfileStateRecord> saved;
  pool_->setStateSink([&](store::AuthProfileStateRecord r) { saved.push_back(std::move(r)); });
  pool_->recordSuccess("fake:a");
  EXPECT_TRUE(saved.empty()) << "a success of a profile without failures writes nothing";
  ASSERT_TRUE(pool_->recordFailure("fake:a", FailoverReason::kBilling));
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].profileId, "fake:a");
  EXPECT_EQ(saved[0].providerId, "fake");
  EXPECT_EQ(saved[0].errorCount, 1);
  EXPECT_EQ(saved[0].reason, "billing");
  EXPECT_EQ(saved[0].disabledUntilMs, 1'000'000 + 600'000);
  EXPECT_EQ(saved[0].disableCounts.at("billing"), 1);
  EXPECT_EQ(saved[0].updatedAtMs, 1'000'000);
  EXPECT_FALSE(pool_->recordFailure("fake:a", FailoverReason::kFormat));
  EXPECT_EQ(saved.size(), 1u) << "a failure that does not rotate changes nothing";
  clock_->advance(700'000);
  pool_->recordSuccess("fake:a");
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[1].errorCount, 0);
  EXPECT_EQ(saved[1].disabledUntilMs, 0);
  EXPECT_TRUE(saved[1].disableCounts.empty());
  EXPECT_EQ(saved[1].lastUsedAtMs, 1'700'000);
  pool_->recordSuccess("fake:a");
  EXPECT_EQ(saved.size(), 2u);
}

TEST_F(AuthProfilePoolTest, RestoredStateKeepsTheWindowAndTheEscalation) {
  store::AuthProfileStateRecord r;
  r.profileId = "fake:a";
  r.providerId = "fake";
  r.errorCount = 2;
  r.lastFailureAtMs = 990'000;
  r.cooldownUntilMs = 1'050'000;
  r.reason = "rate_limit";
  store::AuthProfileStateRecord otherProvider = r;
  otherProvider.profileId = "fake:b";
  otherProvider.providerId = "renamed";  // the id now names a profile of another provider: ignored
  store::AuthProfileStateRecord gone = r;
  gone.profileId = "fake:zz";
  pool_->restore({r, otherProvider, gone});
  auto a = pool_->status("fake:a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unusableUntilMs, 1'050'000);
  EXPECT_EQ(a->reason, "rate_limit");
  EXPECT_EQ(a->errorCount, 2);
  EXPECT_EQ(pool_->status("fake:b")->unusableUntilMs, 0);
  EXPECT_EQ(order("fake"), (std::vector<std::string>{"fake:b", "fake:c", "fake:a"}));
  // The third failure after the restart gets the third step of the ladder (5 minutes), not the first.
  clock_->advance(60'000);
  EXPECT_EQ(*pool_->recordFailure("fake:a", FailoverReason::kRateLimit), 1'060'000 + 300'000);
}

class AuthProfileStatePersistenceTest : public store::testing::StoreTest {
 protected:
  /// A pool of "fake" profiles with these ids, on clock_.
  std::shared_ptr<AuthProfilePool> makePool(std::vector<std::string> ids) {
    std::vector<AuthProfile> profiles;
    for (auto& id : ids) {
      profiles.push_back(AuthProfile{id, "fake", std::make_shared<talon::testing::FakeModelProvider>()});
    }
    auto p = AuthProfilePool::create(std::move(profiles), clock_);
    EXPECT_TRUE(p);
    return p ? *p : nullptr;
  }

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>(5'000'000);
};

// Counts the writes that reach a store.
class WriteCountingStore final : public store::Store {
 public:
  explicit WriteCountingStore(store::Store& inner) : inner_(inner) {}
  void submit(store::WriteBatch batch, std::function<void(Status)> onCommitted) override {
    ++writes;
    inner_.submit(std::move(batch), std::move(onCommitted));
  }
  Status write(store::WriteBatch batch) override {
    ++writes;
    return inner_.write(std::move(batch));
  }
  Status read(std::string_view what, store::FunctionRef<Status(store::ReadConnection&)> read) override {
    return inner_.read(what, read);
  }
  std::string location() const override { return inner_.location(); }
  void close() override {}
  int writes = 0;

 private:
  store::Store& inner_;
};

TEST_F(AuthProfileStatePersistenceTest, AStartWithNothingToForgetWritesNothing) {
  WriteCountingStore counting(*store_);
  {
    auto pool = makePool({"fake:a"});
    ASSERT_TRUE(persistAuthProfileState(*pool, counting));
    EXPECT_EQ(counting.writes, 0) << "an empty store has nothing to forget";
    ASSERT_TRUE(pool->recordFailure("fake:a", FailoverReason::kRateLimit));
  }
  store_->close();
  store_.reset();
  open();
  WriteCountingStore again(*store_);
  auto pool = makePool({"fake:a", "fake:b"});
  ASSERT_TRUE(persistAuthProfileState(*pool, again));
  EXPECT_EQ(again.writes, 0) << "every saved profile is still configured";
  auto a = pool->status("fake:a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->reason, "rate_limit") << "the saved state was still restored";
}

TEST_F(AuthProfileStatePersistenceTest, ACooldownOutlivesARestartAndUnconfiguredProfilesAreForgotten) {
  {
    auto pool = makePool({"fake:a", "fake:b"});
    ASSERT_TRUE(persistAuthProfileState(*pool, *store_));
    ASSERT_TRUE(pool->recordFailure("fake:a", FailoverReason::kRateLimit));
    ASSERT_TRUE(pool->recordFailure("fake:b", FailoverReason::kAuth));
  }
  // The gateway restarts (the store is closed and opened again) with fake:b removed from the config.
  store_->close();
  store_.reset();
  open();
  clock_->advance(10'000);
  auto pool = makePool({"fake:a", "fake:c"});
  ASSERT_TRUE(persistAuthProfileState(*pool, *store_));
  auto a = pool->status("fake:a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unusableUntilMs, 5'000'000 + 30'000) << "the cooldown started before the restart still runs";
  EXPECT_EQ(a->reason, "rate_limit");
  auto rows = store::AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->size(), 1u) << "fake:b is no longer configured";
  EXPECT_EQ((*rows)[0].profileId, "fake:a");
  // A success after the restart is saved too (the sink was set again).
  pool->recordSuccess("fake:a");
  store_->close();
  store_.reset();
  open();
  rows = store::AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cooldownUntilMs, 0);
  EXPECT_EQ((*rows)[0].errorCount, 0);
}

}  // namespace
}  // namespace talon::gateway
