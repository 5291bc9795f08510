#include "gateway/event_bus.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace talon::gateway {
namespace {

GatewayEvent event(std::string name, std::string sessionKey) {
  return GatewayEvent{std::move(name), std::move(sessionKey), {}, std::make_shared<const std::string>("{}")};
}

TEST(EventBus, SessionEventsReachOnlyTheirSubscribersAndWatchers) {
  EventBus bus;
  std::vector<std::string> a, b, all;
  auto ida = bus.subscribe([&](const GatewayEvent& e) { a.push_back(e.name); });
  auto idb = bus.subscribe([&](const GatewayEvent& e) { b.push_back(e.name); });
  bus.subscribe([&](const GatewayEvent& e) { all.push_back(e.name); }, EventBus::Interest::kEverySession);
  bus.joinSession(ida, "agent:main:one");
  bus.joinSession(ida, "agent:main:one");  // idempotent
  bus.joinSession(idb, "agent:main:two");

  bus.publish(event("chat1", "agent:main:one"));
  bus.publish(event("chat2", "agent:main:two"));
  bus.publish(event("chat3", "agent:main:three"));
  bus.publish(event("tick", ""));
  EXPECT_EQ(a, (std::vector<std::string>{"chat1", "tick"}));
  EXPECT_EQ(b, (std::vector<std::string>{"chat2", "tick"}));
  EXPECT_EQ(all, (std::vector<std::string>{"chat1", "chat2", "chat3", "tick"}));

  bus.unsubscribe(ida);
  bus.publish(event("chat4", "agent:main:one"));
  bus.publish(event("tick2", ""));
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(bus.subscriberCount(), 2u);
  bus.joinSession(ida, "agent:main:one");  // unknown id: ignored
  bus.publish(event("chat5", "agent:main:one"));
  EXPECT_EQ(a.size(), 2u);
}

TEST(EventBus, ASubscriberFollowsABoundedNumberOfSessionsDroppingTheLeastRecentlyActive) {
  EventBus bus;
  std::vector<std::string> got;
  auto id = bus.subscribe([&](const GatewayEvent& e) { got.push_back(e.sessionKey); });
  const auto key = [](std::size_t i) { return "agent:main:s" + std::to_string(i); };
  for (std::size_t i = 0; i < EventBus::kMaxSessionsPerSubscriber; ++i) bus.joinSession(id, key(i));
  EXPECT_EQ(bus.joinedSessionCount(id), EventBus::kMaxSessionsPerSubscriber);
  bus.publish(event("chat", key(0)));  // s0 is active again: s1 is now the least recently active
  got.clear();

  bus.joinSession(id, "agent:main:new");
  EXPECT_EQ(bus.joinedSessionCount(id), EventBus::kMaxSessionsPerSubscriber);
  for (const auto& k : {key(0), key(1), key(2), std::string("agent:main:new")}) bus.publish(event("chat", k));
  EXPECT_EQ(got, (std::vector<std::string>{key(0), key(2), "agent:main:new"}));

  // Joining again follows it again (and drops the next least recently active, s3).
  bus.joinSession(id, key(1));
  got.clear();
  bus.publish(event("chat", key(1)));
  bus.publish(event("chat", key(3)));
  EXPECT_EQ(got, (std::vector<std::string>{key(1)}));

  bus.unsubscribe(id);
  EXPECT_EQ(bus.joinedSessionCount(id), 0u);
  got.clear();
  bus.publish(event("chat", key(1)));
  EXPECT_TRUE(got.empty());
}

TEST(EventBus, SessionsSharedBySubscribersStayFollowedByTheOthers) {
  EventBus bus;
  std::vector<std::string> a, b;
  auto ida = bus.subscribe([&](const GatewayEvent& e) { a.push_back(e.sessionKey); });
  auto idb = bus.subscribe([&](const GatewayEvent& e) { b.push_back(e.sessionKey); });
  bus.joinSession(ida, "agent:main:shared");
  bus.joinSession(idb, "agent:main:shared");
  for (std::size_t i = 0; i < EventBus::kMaxSessionsPerSubscriber; ++i) {
    bus.joinSession(ida, "agent:main:a" + std::to_string(i));  // pushes "shared" out of a's sessions
  }
  bus.publish(event("chat", "agent:main:shared"));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b, (std::vector<std::string>{"agent:main:shared"}));
  bus.unsubscribe(idb);
  bus.publish(event("chat", "agent:main:shared"));
  EXPECT_EQ(b.size(), 1u);
}

}  // namespace
}  // namespace talon::gateway
