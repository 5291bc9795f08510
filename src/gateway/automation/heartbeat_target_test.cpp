// The heartbeat's destination (heartbeat_target.h) against OpenClaw's rules for `owner`, `last`, a channel
// without `to` and accountId (dist targets-*.mjs resolveHeartbeatDeliveryTarget).
#include "gateway/automation/heartbeat_target.h"

#include <gtest/gtest.h>

namespace talon::gateway::automation {
namespace {

config::ChannelConfig heartbeatTestChannel(std::string id, std::optional<std::vector<std::string>> allowFrom = {}) {
  config::ChannelConfig c;
  c.id = std::move(id);
  c.access.allowFrom = std::move(allowFrom);
  return c;
}

store::SessionRouteRecord heartbeatTestRoute(std::string channel, std::string to, std::string accountId = "") {
  store::SessionRouteRecord r;
  r.sessionKey = "agent:main:main";
  r.agentId = "main";
  r.channel = std::move(channel);
  r.to = std::move(to);
  r.chatType = r.to.rfind("group:", 0) == 0 ? "group" : r.to.rfind("channel:", 0) == 0 ? "channel" : "direct";
  r.accountId = std::move(accountId);
  r.threadId = "t1";
  return r;
}

struct HeartbeatTargetCase {
  config::HeartbeatConfig hb;
  std::vector<std::string> owners;
  config::ChannelsConfig channels;
  std::optional<store::SessionRouteRecord> last;

  HeartbeatDelivery resolve() const {
    HeartbeatTargetInputs in;
    in.heartbeat = &hb;
    in.ownerAllowFrom = &owners;
    in.channels = &channels;
    in.last = last;
    return resolveHeartbeatDelivery(in);
  }
};

TEST(HeartbeatTarget, OwnerComesFromCommandsOwnerAllowFromFirst) {
  HeartbeatTargetCase c;  // no target: "owner"
  c.channels.entries = {heartbeatTestChannel("telegram", std::vector<std::string>{"555"}),
                        heartbeatTestChannel("loopback", std::vector<std::string>{"user:first"})};
  c.owners = {"*", "telegram:*", "loopback:ops"};
  c.hb.to = "user:ignored";
  auto d = c.resolve();
  ASSERT_TRUE(d.deliverable()) << d.reason;
  EXPECT_EQ(d.channel, "loopback") << "a prefixed entry names its channel; wildcards name no owner";
  EXPECT_EQ(d.to, "ops");
  EXPECT_EQ(d.kind, routing::PeerKind::kDirect);

  // An unprefixed entry goes to the first channel in order.
  c.owners = {"user:42"};
  d = c.resolve();
  EXPECT_EQ(d.channel, "telegram");
  EXPECT_EQ(d.to, "user:42");
  // The session's last channel comes first.
  c.last = heartbeatTestRoute("loopback", "user:someone", "acct");
  d = c.resolve();
  EXPECT_EQ(d.channel, "loopback");
  EXPECT_EQ(d.to, "user:42");
  EXPECT_EQ(d.accountId, "acct") << "the last route's account on its channel";
  EXPECT_EQ(d.threadId, "") << "another conversation: no thread";
}

TEST(HeartbeatTarget, OwnerFallsBackToAChannelAllowFromAndNeverToAGroup) {
  HeartbeatTargetCase c;
  c.hb.target = "owner";
  c.channels.entries = {heartbeatTestChannel("telegram", std::vector<std::string>{"*"}),
                        heartbeatTestChannel("loopback", std::vector<std::string>{" ", "ops", "other"})};
  c.owners = {"group:family"};  // a group is never the owner
  auto d = c.resolve();
  ASSERT_TRUE(d.deliverable()) << d.reason;
  EXPECT_EQ(d.channel, "loopback") << "a wildcard-only allowlist names no owner";
  EXPECT_EQ(d.to, "ops");

  // An account's allowFrom replaces the channel's.
  config::ChannelAccessConfig work;
  work.allowFrom = std::vector<std::string>{"boss"};
  c.channels.entries[1].accounts["work"] = work;
  c.hb.accountId = "work";
  d = c.resolve();
  EXPECT_EQ(d.to, "boss");
  EXPECT_EQ(d.accountId, "work");
  // An account the channel does not have: no route.
  c.hb.accountId = "nobody";
  EXPECT_EQ(c.resolve().reason, "no-route");

  // A disabled channel is not asked; nothing left: no route.
  c.hb.accountId.reset();
  c.channels.entries[1].settings.values["enabled"] = false;
  d = c.resolve();
  EXPECT_FALSE(d.deliverable());
  EXPECT_EQ(d.reason, "no-route");
  HeartbeatTargetCase empty;
  EXPECT_EQ(empty.resolve().reason, "no-route");
}

TEST(HeartbeatTarget, LastFollowsTheSessionsRoute) {
  HeartbeatTargetCase c;
  c.hb.target = "last";
  EXPECT_EQ(c.resolve().reason, "no-route") << "no route recorded yet";
  c.last = heartbeatTestRoute("loopback", "group:g1", "acct");
  auto d = c.resolve();
  ASSERT_TRUE(d.deliverable());
  EXPECT_EQ(d.channel, "loopback");
  EXPECT_EQ(d.to, "group:g1") << "groups included";
  EXPECT_EQ(d.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(d.accountId, "acct");
  EXPECT_EQ(d.threadId, "t1");
  c.hb.to = "user:7";
  EXPECT_EQ(c.resolve().to, "user:7") << "`to` replaces the recipient";

  // accountId applies to the last channel; one it does not have skips delivery.
  config::ChannelConfig loopback = heartbeatTestChannel("loopback");
  loopback.accounts["acct"] = {};
  loopback.accounts["other"] = {};
  c.channels.entries = {loopback};
  c.hb.accountId = "other";
  EXPECT_EQ(c.resolve().accountId, "other");
  c.hb.accountId = "missing";
  EXPECT_EQ(c.resolve().reason, "unknown-account");
}

TEST(HeartbeatTarget, AChannelWithoutToUsesItsLastRecipient) {
  HeartbeatTargetCase c;
  c.hb.target = "loopback";
  EXPECT_EQ(c.resolve().reason, "no-target");
  c.last = heartbeatTestRoute("telegram", "user:1");
  EXPECT_EQ(c.resolve().reason, "no-target") << "the last route is on another channel";
  c.last = heartbeatTestRoute("loopback", "user:2");
  EXPECT_EQ(c.resolve().to, "user:2");
  c.hb.to = "channel:news";
  auto d = c.resolve();
  EXPECT_EQ(d.to, "channel:news");
  EXPECT_EQ(d.kind, routing::PeerKind::kChannel);
  c.hb.target = "none";
  EXPECT_EQ(c.resolve().reason, "target-none");
}

}  // namespace
}  // namespace talon::gateway::automation
