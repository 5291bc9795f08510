#include "gateway/event_bus.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace talon::gateway
