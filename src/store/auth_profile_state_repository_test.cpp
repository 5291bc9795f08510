// Auth-profile state over a real SQLite store: upserted, kept across a reopen, pruned to the profiles still
// configured, and refused when malformed.
#include "store/auth_profile_state_repository.h"

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class AuthProfileStateRepositoryTest : public testing::StoreTest {
 protected:
  static AuthProfileStateRecord profileState(std::string id, int64_t cooldownUntil) {
    AuthProfileStateRecord r;
    r.profileId = std::move(id);
    r.providerId = "anthropic";
    r.errorCount = 1;
    r.lastFailureAtMs = 1000;
    r.cooldownUntilMs = cooldownUntil;
    r.reason = "rate_limit";
    r.updatedAtMs = 1000;
    return r;
  }
  Status upsert(AuthProfileStateRecord r) {
    WriteBatch b;
    AuthProfileStateRepository::upsert(b, std::move(r));
    return store_->write(std::move(b));
  }
};

TEST_F(AuthProfileStateRepositoryTest, TheLatestStateSurvivesAReopen) {
  auto none = AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_TRUE(none->empty());

  ASSERT_TRUE(upsert(profileState("anthropic:work", 31'000)));
  auto billing = profileState("anthropic:work", 0);
  billing.errorCount = 2;
  billing.lastFailureAtMs = 40'000;
  billing.disabledUntilMs = 640'000;
  billing.reason = "billing";
  billing.disableCounts = {{"billing", 1}};
  billing.lastUsedAtMs = 20'000;
  billing.updatedAtMs = 40'000;
  ASSERT_TRUE(upsert(billing));
  ASSERT_TRUE(upsert(profileState("anthropic:home", 5'000)));

  store_->close();
  store_.reset();
  open();
  auto all = AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].profileId, "anthropic:home") << "ordered by profile id";
  const auto& work = (*all)[1];
  EXPECT_EQ(work.profileId, "anthropic:work");
  EXPECT_EQ(work.providerId, "anthropic");
  EXPECT_EQ(work.errorCount, 2);
  EXPECT_EQ(work.lastFailureAtMs, 40'000);
  EXPECT_EQ(work.cooldownUntilMs, 0);
  EXPECT_EQ(work.disabledUntilMs, 640'000);
  EXPECT_EQ(work.reason, "billing");
  ASSERT_EQ(work.disableCounts.size(), 1u);
  EXPECT_EQ(work.disableCounts.at("billing"), 1);
  EXPECT_EQ(work.lastUsedAtMs, 20'000);
  EXPECT_EQ(work.updatedAtMs, 40'000);
}

TEST_F(AuthProfileStateRepositoryTest, RetainOnlyDeletesProfilesNoLongerConfigured) {
  ASSERT_TRUE(upsert(profileState("a:1", 1)));
  ASSERT_TRUE(upsert(profileState("a:2", 2)));
  ASSERT_TRUE(upsert(profileState("b:1", 3)));
  WriteBatch b;
  AuthProfileStateRepository::retainOnly(b, {"a:2", "c:9"});
  ASSERT_TRUE(store_->write(std::move(b)));
  auto all = AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(all) << all.error().toString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].profileId, "a:2");
}

TEST_F(AuthProfileStateRepositoryTest, MalformedStateIsRefusedAndChangesNothing) {
  ASSERT_TRUE(upsert(profileState("a:1", 1)));
  auto noId = profileState("", 1);
  auto st = upsert(noId);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  auto negative = profileState("a:1", 1);
  negative.disableCounts = {{"billing", -1}};
  st = upsert(negative);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("a:1"), std::string::npos) << st.error().message;
  auto all = AuthProfileStateRepository(*store_).list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].cooldownUntilMs, 1);
}

}  // namespace
}  // namespace talon::store
