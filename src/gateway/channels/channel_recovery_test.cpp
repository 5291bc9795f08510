// Channel self-recovery and escalation (channel_manager.h, docs/channels.md "Recovery") with the
// documented defaults, over real components in simulated time: a loopback account whose network dies
// is restarted and re-verified a bounded number of times, then escalated to the alert target (another
// loopback account, through the outbox) within the 2-minute bound; a resolved message follows when it
// comes back. Nothing sleeps.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "gateway/channels/channel_manager.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/health/alert_router.h"
#include "support/gateway_components.h"
#include "support/metric_value.h"

namespace talon::gateway::channels {
namespace {

using testing::metricValue;

// Only the alert target is configured: every channelHealth timing is the default.
constexpr std::string_view kRecoveryConfig = R"({
  gateway: {
    alerts: { targets: [ { id: "ops", kind: "channel", channel: "loopback", accountId: "ops", to: "channel:#ops" } ] },
  },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"], accounts: { ops: {}, bot: {} } } },
})";

class NullSink final : public ChannelSink {
 public:
  void onInbound(std::string_view, routing::InboundMessage) override {}
};

class ChannelRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    auto outbound =
        OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus, gw_.executors.executors(),
                                   gw_.clock, [this](std::string_view id) { return gw_.channels.find(id); });
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = health::AlertRouter::create(
        health::AlertRouterDeps{gw_.config->config.gateway.alerts, gw_.outbound.get(), nullptr, gw_.healthRecords,
                                gw_.metrics, &gw_.audit, gw_.executors.executors(), gw_.clock});
    ASSERT_TRUE(router) << router.error().toString();
    alerts_ = std::move(*router);
    gw_.channelRuntime->setAlertRouter(alerts_.get());
    gw_.channelRuntime->start(sink_);
  }
  void TearDown() override {
    gw_.channelRuntime->stop();
    gw_.outbound->stop();
  }

  LoopbackChannel& account(std::string_view id) {
    return *dynamic_cast<LoopbackChannel*>(gw_.channels.find("loopback:" + std::string(id)));
  }
  AccountStatus bot() {
    for (auto& s : gw_.channelRuntime->status()) {
      if (s.accountId == "bot") return s;
    }
    ADD_FAILURE() << "no bot account";
    return {};
  }
  double attempts(std::string_view outcome) {
    return metricValue(
        gw_.metrics,
        fmt::format(R"(talon_channel_recovery_attempts_total{{channel="loopback",account_id="bot",outcome="{}"}})",
                    outcome));
  }
  /// Advances simulated time in 1 s steps until `done` or `limitMs`; returns the time it took (or -1).
  /// `done` must turn true on the test thread (the runtime's own state), not through the store's writer
  /// thread: wait for outbox deliveries with runUntil.
  int64_t advanceUntil(const std::function<bool()>& done, int64_t limitMs) {
    for (int64_t t = 0; t <= limitMs; t += 1000) {
      gw_.executors.runReady();
      if (done()) return t;
      gw_.executors.advance(1000);
    }
    return -1;
  }

  testing::GatewayComponents gw_{[] {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kRecoveryConfig);
    return o;
  }()};
  NullSink sink_;
  std::unique_ptr<health::AlertRouter> alerts_;
};

TEST_F(ChannelRecoveryTest, TheDefaultsMeetTheBound) {
  auto options = ChannelManagerOptions::fromConfig(gw_.config->config.gateway);
  // docs/channels.md "Recovery": interval + grace + maxAttempts × interval + probe timeout ≤ 120 s.
  const auto bound = options.checkInterval + options.recovery.grace +
                     (options.recovery.maxAttempts - 1) * options.checkInterval + options.recovery.probeTimeout;
  EXPECT_LE(bound.count(), 100'000);
  EXPECT_EQ(options.checkInterval.count(), 30'000);
  EXPECT_EQ(options.recovery.grace.count(), 30'000);
  EXPECT_EQ(options.recovery.maxAttempts, 2);
}

TEST_F(ChannelRecoveryTest, ADeadAccountIsRestartedThenEscalatedWithinTwoMinutesAndResolvedWhenItReturns) {
  // Let the first reconciliation pass at a moment unrelated to the failure.
  gw_.executors.advance(7'000);
  account("bot").setNetworkDown(true);
  const int64_t took = advanceUntil([&] { return bot().escalated; }, 180'000);
  ASSERT_GE(took, 0) << "not escalated within 180 s";
  EXPECT_LE(took, 120'000);
  // The alert is handed to the outbox at once: it arrives without any more (simulated) time passing.
  ASSERT_TRUE(gw_.executors.runUntil([&] { return !account("ops").sent().empty(); }));
  auto sent = account("ops").sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].peer.id, "#ops");
  EXPECT_NE(sent[0].text.find("[critical] channel loopback:bot is disconnected"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("recoveryAttempts: 2"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find("the loopback network is down"), std::string::npos) << sent[0].text;

  AccountStatus s = bot();
  EXPECT_EQ(s.recoveryAttempts, 2);
  EXPECT_TRUE(s.escalated);
  EXPECT_EQ(account("bot").restarts(), 2);
  EXPECT_EQ(attempts("failed"), 2);
  EXPECT_EQ(attempts("recovered"), 0);
  auto record = gw_.healthRecords.get("channel:loopback/bot", "recovery");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, health::HealthState::kFailed);
  EXPECT_NE(record->detail.find("recoveryAttempts 2"), std::string::npos) << record->detail;
  ASSERT_TRUE(s.lastProbe);
  EXPECT_FALSE(s.lastProbe->ok);

  // Bounded: no further restarts while it stays down, and no second alert within the cooldown.
  gw_.executors.advance(300'000);
  EXPECT_EQ(account("bot").restarts(), 2);
  EXPECT_EQ(account("ops").sent().size(), 1u);

  // The network returns (the adapter reconnects on its own): resolved at the next pass.
  account("bot").setNetworkDown(false);
  ASSERT_GE(advanceUntil([&] { return !bot().escalated; }, 31'000), 0);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return account("ops").sent().size() == 2; }));
  EXPECT_EQ(account("ops").sent()[1].text.substr(0, 10), "[resolved]");
  s = bot();
  EXPECT_EQ(s.recoveryAttempts, 0);
  EXPECT_FALSE(s.escalated);
  EXPECT_EQ(gw_.healthRecords.get("channel:loopback/bot", "recovery")->state, health::HealthState::kOk);
  EXPECT_TRUE(alerts_->openIncidents().empty());
}

TEST_F(ChannelRecoveryTest, AConnectionThatARestartBringsBackIsRecoveredWithoutAnAlert) {
  gw_.executors.advance(3'000);
  account("bot").disconnect();
  ASSERT_GE(advanceUntil([&] { return account("bot").restarts() == 1; }, 90'000), 0);
  gw_.executors.runReady();
  AccountStatus s = bot();
  EXPECT_EQ(s.health.healthState, "healthy");
  EXPECT_EQ(s.recoveryAttempts, 0);  // verified healthy: the count starts again
  EXPECT_FALSE(s.escalated);
  EXPECT_EQ(attempts("recovered"), 1);
  EXPECT_EQ(attempts("failed"), 0);
  EXPECT_EQ(gw_.healthRecords.get("channel:loopback/bot", "recovery")->state, health::HealthState::kOk);
  gw_.executors.advance(120'000);
  EXPECT_TRUE(account("ops").sent().empty());
  EXPECT_TRUE(alerts_->openIncidents().empty());
}

TEST_F(ChannelRecoveryTest, AMutedAccountIsRestartedAndRecoversOnlyWhenTrafficArrives) {
  account("bot").setInboundBlocked(true);
  // The default stale threshold (30 min), then the grace period: one restart.
  ASSERT_GE(advanceUntil([&] { return account("bot").restarts() == 1; }, 1'900'000 + 60'000), 0);
  EXPECT_EQ(bot().recoveryAttempts, 1);
  // Healthy-looking after the restart, but not recovered: no traffic yet.
  gw_.executors.advance(60'000);
  EXPECT_EQ(bot().health.healthState, "healthy");
  EXPECT_EQ(bot().recoveryAttempts, 1);
  EXPECT_EQ(attempts("recovered"), 0);
  account("bot").setInboundBlocked(false);
  routing::InboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, "Carol"};
  m.sender = "Carol";
  m.text = "hello";
  ASSERT_TRUE(account("bot").inject(m));
  gw_.executors.advance(30'000);
  EXPECT_EQ(bot().recoveryAttempts, 0);
  EXPECT_EQ(attempts("recovered"), 1);
}

}  // namespace
}  // namespace talon::gateway::channels
