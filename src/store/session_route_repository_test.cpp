// Session routes over a real SQLite store: recorded, replaced by the next message's route, kept across a
// reopen of the store, read in bulk, and refused when incomplete.
#include "store/session_route_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace talon::store {
namespace {

class SessionRouteRepositoryTest : public testing::StoreTest {
 protected:
  static SessionRouteRecord route(std::string key, std::string channel, std::string to, std::string chatType,
                                  int64_t at) {
    SessionRouteRecord r;
    r.sessionKey = std::move(key);
    r.agentId = "main";
    r.channel = std::move(channel);
    r.to = std::move(to);
    r.chatType = std::move(chatType);
    r.updatedAtMs = at;
    return r;
  }
  Status record(SessionRouteRecord r) {
    WriteBatch b;
    SessionRouteRepository::record(b, std::move(r));
    return store_->write(std::move(b));
  }
};

TEST_F(SessionRouteRepositoryTest, TheLastRouteWinsAndSurvivesAReopen) {
  SessionRouteRepository routes(*store_);
  auto none = routes.get("agent:main:main");
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_FALSE(*none);

  auto first = route("agent:main:main", "telegram", "user:42", "direct", 1000);
  first.accountId = "ops-bot";
  first.threadId = "7";
  ASSERT_TRUE(record(first));
  ASSERT_TRUE(record(route("agent:main:main", "loopback", "user:ops", "direct", 2000)));
  ASSERT_TRUE(record(route("agent:main:loopback:group:g1", "loopback", "group:g1", "group", 3000)));

  store_->close();
  store_.reset();
  open();
  SessionRouteRepository reopened(*store_);
  auto main = reopened.get("agent:main:main");
  ASSERT_TRUE(main && *main);
  EXPECT_EQ((*main)->channel, "loopback");
  EXPECT_EQ((*main)->to, "user:ops");
  EXPECT_EQ((*main)->accountId, "") << "every field is replaced, not merged";
  EXPECT_EQ((*main)->threadId, "");
  EXPECT_EQ((*main)->chatType, "direct");
  EXPECT_EQ((*main)->agentId, "main");
  EXPECT_EQ((*main)->updatedAtMs, 2000);

  auto some = reopened.find({"agent:main:loopback:group:g1", "agent:main:none", "agent:main:main"});
  ASSERT_TRUE(some) << some.error().toString();
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].to, "group:g1");
  EXPECT_EQ((*some)[1].to, "user:ops");
}

TEST_F(SessionRouteRepositoryTest, AnIncompleteRouteIsRefused) {
  auto noTarget = route("agent:main:main", "telegram", "", "direct", 1);
  auto s = record(noTarget);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  auto badKind = route("agent:main:main", "telegram", "user:1", "dm", 1);
  EXPECT_FALSE(record(badKind));
  auto stored = SessionRouteRepository(*store_).get("agent:main:main");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
}

}  // namespace
}  // namespace talon::store
