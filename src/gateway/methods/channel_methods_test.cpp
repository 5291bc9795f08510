// channels.status over real components (tests/support/method_harness.h): OpenClaw's payload shape with
// Talon's accounts, the `channel` filter, `probe: true`, and the same accounts in the `health` payload.
// channels.start / channels.stop / channels.logout: OpenClaw's params and result shapes, the stopped
// account in channels.status and health, and the refusals.
#include <gtest/gtest.h>

#include "gateway/channels/channel_manager.h"
#include "gateway/methods/builtin_methods.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

struct NullSink final : channels::ChannelSink {
  void onInbound(std::string_view, routing::InboundMessage) override {}
};

talon::testing::GatewayComponentsOptions channelOptions() {
  talon::testing::GatewayComponentsOptions o;
  o.configText =
      R"({ channels: { loopback: { accounts: { default: {}, spare: { name: "Spare" }, off: { enabled: false } } } } })";
  return o;
}

class ChannelMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    gw_.channelRuntime->start(sink_);
  }
  NullSink sink_;
  talon::testing::GatewayComponents gw_{channelOptions()};
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(ChannelMethodsTest, StatusListsEveryAccountInOpenClawsShape) {
  auto r = harness_.call("channels.status", jsonValue(R"({"probe":false,"timeoutMs":10000})"));
  ASSERT_TRUE(r.ok) << (r.error ? r.error->toString() : "");
  const auto& p = r.payload.as_object();
  for (const char* key : {"ts", "channelOrder", "channelLabels", "channelDetailLabels", "channelSystemImages",
                          "channelMeta", "channels", "channelAccounts", "channelDefaultAccountId", "statusIssues"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }
  EXPECT_EQ(p.at("channelOrder"), jsonValue(R"(["loopback"])"));
  EXPECT_EQ(p.at("channelDefaultAccountId"), jsonValue(R"({"loopback":"default"})"));
  const auto& accounts = p.at("channelAccounts").at("loopback").as_array();
  ASSERT_EQ(accounts.size(), 3u);
  const auto& d = accounts[0].as_object();
  EXPECT_EQ(d.at("accountId"), json::value("default"));
  EXPECT_EQ(d.at("enabled"), json::value(true));
  EXPECT_EQ(d.at("configured"), json::value(true));
  EXPECT_EQ(d.at("running"), json::value(true));
  EXPECT_EQ(d.at("connected"), json::value(true));
  EXPECT_EQ(d.at("healthState"), json::value("healthy"));
  EXPECT_EQ(d.at("reconnectAttempts"), json::value(0));
  EXPECT_EQ(d.at("lastError"), json::value(nullptr));
  EXPECT_EQ(d.at("health").at("functional"), json::value("healthy"));
  EXPECT_FALSE(d.contains("probe"));
  EXPECT_EQ(accounts[1].at("accountId"), json::value("off"));
  EXPECT_EQ(accounts[1].at("enabled"), json::value(false));
  EXPECT_EQ(accounts[1].at("running"), json::value(false));
  EXPECT_EQ(accounts[2].at("name"), json::value("Spare"));
  // channels.<id> is the default account's summary.
  EXPECT_EQ(p.at("channels").at("loopback").at("accountId"), json::value("default"));
  EXPECT_TRUE(p.at("statusIssues").as_array().empty());

  auto none = harness_.call("channels.status", jsonValue(R"({"channel":"telegram"})"));
  ASSERT_TRUE(none.ok);
  EXPECT_TRUE(none.payload.at("channelOrder").as_array().empty());
}

TEST_F(ChannelMethodsTest, ProbeRunsEveryRunningAccountsProbe) {
  auto r = harness_.call("channels.status", jsonValue(R"({"probe":true,"timeoutMs":5000})"));
  ASSERT_TRUE(r.ok) << (r.error ? r.error->toString() : "");
  for (const auto& a : r.payload.at("channelAccounts").at("loopback").as_array()) {
    if (a.at("accountId") == json::value("off")) {
      EXPECT_FALSE(a.as_object().contains("probe"));
      continue;
    }
    ASSERT_TRUE(a.as_object().contains("probe")) << json::serialize(a);
    EXPECT_EQ(a.at("probe").at("ok"), json::value(true));
    EXPECT_TRUE(a.as_object().contains("lastProbeAt"));
  }
}

TEST_F(ChannelMethodsTest, AStoppedAccountIsAStatusIssueAndTheHealthPayloadShowsTheAccounts) {
  gw_.channels.find("loopback:spare")->stop();
  gw_.channelRuntime->reconcile();
  auto r = harness_.call("channels.status");
  ASSERT_TRUE(r.ok);
  const auto& issues = r.payload.at("statusIssues").as_array();
  ASSERT_EQ(issues.size(), 1u) << json::serialize(issues);
  EXPECT_EQ(issues[0].at("channel"), json::value("loopback"));
  EXPECT_EQ(issues[0].at("accountId"), json::value("spare"));
  EXPECT_EQ(issues[0].at("kind"), json::value("runtime"));
  EXPECT_FALSE(issues[0].at("fix").as_string().empty());

  auto h = harness_.call("health", jsonValue(R"({"probe":true})"));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.payload.at("channelOrder"), jsonValue(R"(["loopback"])"));
  const auto& accounts = h.payload.at("channels").at("loopback").at("accounts");
  EXPECT_EQ(accounts.at("default").at("healthState"), json::value("healthy"));
  EXPECT_EQ(accounts.at("spare").at("healthState"), json::value("disconnected"));
}

TEST_F(ChannelMethodsTest, StopStartAndLogoutAnswerInOpenClawsShapes) {
  auto stop = harness_.call("channels.stop", jsonValue(R"({"channel":"loopback","accountId":"spare"})"));
  ASSERT_TRUE(stop.ok) << (stop.error ? stop.error->toString() : "");
  EXPECT_EQ(stop.payload, jsonValue(R"({"channel":"loopback","accountId":"spare","stopped":true})"));

  // Stopped: not failed, not an issue; `health` shows the same word.
  auto r = harness_.call("channels.status");
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.payload.at("statusIssues").as_array().empty()) << json::serialize(r.payload.at("statusIssues"));
  const auto& spare = r.payload.at("channelAccounts").at("loopback").as_array()[2];
  EXPECT_EQ(spare.at("accountId"), json::value("spare"));
  EXPECT_EQ(spare.at("healthState"), json::value("stopped"));
  EXPECT_EQ(spare.at("running"), json::value(false));
  auto h = harness_.call("health", jsonValue(R"({"probe":true})"));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.payload.at("channels").at("loopback").at("accounts").at("spare").at("healthState"),
            json::value("stopped"));

  auto start = harness_.call("channels.start", jsonValue(R"({"channel":"loopback","accountId":"spare"})"));
  ASSERT_TRUE(start.ok) << (start.error ? start.error->toString() : "");
  EXPECT_EQ(
      start.payload,
      jsonValue(R"({"channel":"loopback","accountId":"spare","started":true,"outcome":{"status":"handed-off"}})"));
  // Again: a clear no-op (OpenClaw's outcome for a running account, plus alreadyRunning).
  auto again = harness_.call("channels.start", jsonValue(R"({"channel":"loopback","accountId":"spare"})"));
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.payload, jsonValue(R"({"channel":"loopback","accountId":"spare","started":true,
      "outcome":{"status":"retry","reason":"task-owned"},"alreadyRunning":true})"));

  // No accountId: the channel's default account. Channel ids are normalised as OpenClaw's.
  auto logout = harness_.call("channels.logout", jsonValue(R"({"channel":" LoopBack "})"));
  ASSERT_TRUE(logout.ok) << (logout.error ? logout.error->toString() : "");
  EXPECT_EQ(logout.payload,
            jsonValue(R"({"channel":"loopback","accountId":"default","cleared":true,"loggedOut":true})"));
  EXPECT_TRUE(gw_.channelRuntime->status()[0].stopped);
}

TEST_F(ChannelMethodsTest, LifecycleMethodsRefuseUnknownChannelsAndBadParams) {
  auto unknown = harness_.call("channels.start", jsonValue(R"({"channel":"telegram"})"));
  ASSERT_FALSE(unknown.ok);
  EXPECT_EQ(protocolErrorCode(unknown.error->code), "INVALID_REQUEST");
  EXPECT_EQ(unknown.error->publicMessage(), "unknown channel: telegram");
  auto account = harness_.call("channels.stop", jsonValue(R"({"channel":"loopback","accountId":"nope"})"));
  ASSERT_FALSE(account.ok);
  EXPECT_EQ(protocolErrorCode(account.error->code), "INVALID_REQUEST");
  auto missing = harness_.call("channels.logout", jsonValue(R"({"accountId":"default"})"));
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(protocolErrorCode(missing.error->code), "INVALID_REQUEST");
  auto extra = harness_.call("channels.stop", jsonValue(R"({"channel":"loopback","force":true})"));
  ASSERT_FALSE(extra.ok);  // a closed object, as OpenClaw's schema
  auto disabled = harness_.call("channels.start", jsonValue(R"({"channel":"loopback","accountId":"off"})"));
  ASSERT_TRUE(disabled.ok);
  EXPECT_EQ(disabled.payload, jsonValue(R"({"channel":"loopback","accountId":"off","started":false,
      "outcome":{"status":"skipped","reason":"disabled"}})"));
}

}  // namespace
}  // namespace talon::gateway::methods
