// channels.pairing.list / channels.pairing.approve over real components (tests/support/method_harness.h):
// OpenClaw's payload shape, the opaque requestId, approval into the allow store, and the error for a
// request that no longer exists.
#include <gtest/gtest.h>

#include <mutex>

#include "config/config_loader.h"
#include "gateway/live_config.h"
#include "gateway/methods/builtin_methods.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

talon::testing::GatewayComponentsOptions pairingOptions() {
  talon::testing::GatewayComponentsOptions o;
  o.configText = R"({ channels: { loopback: { accounts: { work: { dmPolicy: "allowlist", allowFrom: ["x"] } } } } })";
  return o;
}

class ChannelPairingMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    auto out = std::make_shared<store::ChannelPairingOutcome>();
    store::WriteBatch b;
    store::ChannelPairingRepository::requestPairing(b, "loopback", "default", "alice", gw_.clock->nowMs(), out);
    ASSERT_TRUE(gw_.store->write(std::move(b)));
    code_ = out->code;
  }
  talon::testing::GatewayComponents gw_{pairingOptions()};
  talon::testing::MethodHarness harness_{gw_};
  std::string code_;
};

TEST_F(ChannelPairingMethodsTest, ListShowsPairingAccountsAndRequestsWithoutTheirCodes) {
  auto listed = harness_.call("channels.pairing.list", jsonValue(R"({"channel":"loopback"})"));
  ASSERT_TRUE(listed.ok) << (listed.error ? listed.error->toString() : "");
  const auto& p = listed.payload.as_object();
  // The default account pairs (the default policy); "work" is an allowlist account.
  ASSERT_EQ(p.at("accounts").as_array().size(), 1u);
  EXPECT_EQ(p.at("accounts").as_array()[0].at("accountId").as_string(), "default");
  const auto& requests = p.at("requests").as_array();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].at("senderId").as_string(), "alice");
  EXPECT_EQ(requests[0].at("requestId").as_string().size(), 32u);
  EXPECT_EQ(json::serialize(listed.payload).find(code_), std::string::npos);  // the code is never shown
  EXPECT_EQ(p.at("limits").at("pendingPerAccount").as_int64(), 3);
  EXPECT_EQ(p.at("limits").at("ttlMs").as_int64(), 3600000);
}

TEST_F(ChannelPairingMethodsTest, ListFollowsALiveReloadOfTheChannels) {
  // channels.* is reloaded without a restart: "work" turns into a pairing account and the list shows it.
  config::LoadOptions load;
  load.env = config::Environment{};
  auto loaded = config::loadConfigText(R"({ channels: { loopback: { accounts: { work: { dmPolicy: "pairing" } } } } })",
                                       gw_.dir.path() / "talon.json", load);
  ASSERT_TRUE(loaded) << loaded.error().toString();
  {
    std::lock_guard lock(gw_.liveConfig->writeMutex());
    ASSERT_TRUE(gw_.liveConfig->offer(*loaded).applied);
  }
  auto listed = harness_.call("channels.pairing.list", jsonValue(R"({"channel":"loopback"})"));
  ASSERT_TRUE(listed.ok) << (listed.error ? listed.error->toString() : "");
  const auto& accounts = listed.payload.at("accounts").as_array();
  ASSERT_EQ(accounts.size(), 2u) << json::serialize(listed.payload);
  EXPECT_EQ(accounts[0].at("accountId").as_string(), "default");
  EXPECT_EQ(accounts[1].at("accountId").as_string(), "work");
}

TEST_F(ChannelPairingMethodsTest, ApproveByRequestIdAllowsTheSender) {
  auto listed = harness_.call("channels.pairing.list");
  ASSERT_TRUE(listed.ok);
  std::string id(listed.payload.at("requests").as_array()[0].at("requestId").as_string());
  auto approved = harness_.call("channels.pairing.approve",
                                jsonValue(R"({"channel":"loopback","accountId":"default","requestId":")" + id + "\"}"));
  ASSERT_TRUE(approved.ok) << (approved.error ? approved.error->toString() : "");
  EXPECT_EQ(approved.payload.at("senderId").as_string(), "alice");
  EXPECT_EQ(approved.payload.at("notification").as_string(), "not-requested");
  auto allowed = gw_.store->channelPairing().isAllowed("loopback", "default", "alice");
  ASSERT_TRUE(allowed);
  EXPECT_TRUE(*allowed);
  auto audited = gw_.audit.ofKind("access.pairing.approve");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].outcome, security::AuditOutcome::kAllowed);

  auto again = harness_.call("channels.pairing.approve",
                             jsonValue(R"({"channel":"loopback","accountId":"default","requestId":")" + id + "\"}"));
  ASSERT_FALSE(again.ok);
  EXPECT_EQ(again.error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(again.error->publicMessage(), "pending DM access request no longer exists");
}

}  // namespace
}  // namespace talon::gateway::methods
