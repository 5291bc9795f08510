// The channel runtime: accounts from config, channel ids, start retries, per-account health with muted
// detection, metrics and events — over real components (tests/support/gateway_components.h) in simulated
// time. Nothing sleeps.
#include "gateway/channels/channel_manager.h"

#include <gtest/gtest.h>

#include "config/channel_transports.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"
#include "support/metric_value.h"

namespace talon::gateway::channels {
namespace {

using testing::directMessage;
using testing::findAccount;
using testing::metricValue;

constexpr std::string_view kManagerConfig = R"({
  gateway: { channelHealth: { checkIntervalSeconds: 10, staleEventThresholdSeconds: 60 } },
  channels: {
    loopback: {
      dmPolicy: "open", allowFrom: ["*"], name: "Lab", defaultAccount: "a",
      accounts: { a: {}, b: { name: "Bee" }, off: { enabled: false } },
    },
  },
  bindings: [ { agentId: "main", match: { channel: "loopback", accountId: "*" } } ],
})";

class ChannelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    ASSERT_NE(gw_.channelRuntime, nullptr);
    auto find = [this](std::string_view id) { return gw_.channels.find(id); };
    auto outbound = OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                               gw_.executors.executors(), gw_.clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner, gw_.metrics,
                                        gw_.audit, gw_.executors.executors(), find, *gw_.outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    busId_ = gw_.bus.subscribe(
        [this](const GatewayEvent& e) {
          if (e.name == "channel.health.degraded") events_.push_back(*e.payloadJson);
        },
        EventBus::Interest::kEverySession);
  }
  void TearDown() override { gw_.bus.unsubscribe(busId_); }

  LoopbackChannel& loopback(std::string_view accountId) {
    auto* c = dynamic_cast<LoopbackChannel*>(gw_.channels.find("loopback:" + std::string(accountId)));
    EXPECT_NE(c, nullptr) << accountId;
    return *c;
  }
  std::optional<health::HealthRecord> record(std::string_view account, std::string_view dimension) {
    return gw_.healthRecords.get("channel:loopback/" + std::string(account), dimension);
  }
  double gauge(std::string_view account, std::string_view dimension) {
    return metricValue(gw_.metrics, R"(talon_channel_health_status{channel="loopback",account_id=")" +
                                        std::string(account) + R"(",dimension=")" + std::string(dimension) + R"("})");
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kManagerConfig);
    return o;
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  std::unique_ptr<InboundRouter> router_;
  uint64_t busId_ = 0;
  std::vector<std::string> events_;
};

TEST_F(ChannelManagerTest, EveryEnabledAccountRunsUnderProviderColonAccountId) {
  auto all = gw_.channelRuntime->status();
  ASSERT_EQ(all.size(), 3u);
  const AccountStatus* a = findAccount(all, "a");
  const AccountStatus* b = findAccount(all, "b");
  const AccountStatus* off = findAccount(all, "off");
  ASSERT_TRUE(a && b && off);
  EXPECT_EQ(a->channelId, "loopback:a");
  EXPECT_TRUE(a->isDefault);
  EXPECT_FALSE(b->isDefault);
  EXPECT_EQ(a->name, "Lab");  // the channel's name, not overridden
  EXPECT_EQ(b->name, "Bee");  // the account's own
  EXPECT_FALSE(off->enabled);
  EXPECT_EQ(off->health.healthState, "disabled");
  // Created, not started yet.
  EXPECT_FALSE(a->running);
  EXPECT_EQ(a->health.healthState, "starting");
  EXPECT_NE(gw_.channels.find("loopback:a"), nullptr);
  EXPECT_NE(gw_.channels.find("loopback:b"), nullptr);
  EXPECT_EQ(gw_.channels.find("loopback:off"), nullptr);
  EXPECT_EQ(gw_.channels.find("loopback"), gw_.channels.find("loopback:a"));  // the default account
  EXPECT_FALSE(record("off", "transport"));                                   // a disabled account has none

  gw_.channelRuntime->start(*router_);
  all = gw_.channelRuntime->status();
  for (const char* id : {"a", "b"}) {
    const AccountStatus* s = findAccount(all, id);
    EXPECT_TRUE(s->running) << id;
    EXPECT_EQ(s->health.healthState, "healthy") << id;
    EXPECT_EQ(s->health.degradedSinceMs, 0) << id;
    ASSERT_TRUE(record(id, "transport"));
    EXPECT_EQ(record(id, "transport")->state, health::HealthState::kOk);
    EXPECT_EQ(record(id, "application")->state, health::HealthState::kOk);
    EXPECT_EQ(record(id, "functional")->state, health::HealthState::kOk);
    EXPECT_FALSE(record(id, "transport")->critical);
    EXPECT_EQ(gauge(id, "transport"), 1);
    EXPECT_EQ(metricValue(gw_.metrics,
                          R"(talon_channel_connected{channel="loopback",account_id=")" + std::string(id) + "\"}"),
              1);
  }
}

TEST_F(ChannelManagerTest, AReplyLeavesFromTheAccountTheMessageArrivedOn) {
  gw_.channelRuntime->start(*router_);
  ASSERT_TRUE(loopback("b").inject(directMessage("Carol", "hello b")));
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->answer("hi from b");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback("b").sent().size() == 1; }));
  EXPECT_EQ(loopback("b").sent()[0].text, "hi from b");
  EXPECT_EQ(loopback("b").sent()[0].accountId, "b");
  EXPECT_TRUE(loopback("a").sent().empty());
  auto b = *findAccount(gw_.channelRuntime->status(), "b");
  EXPECT_EQ(b.lastInboundAtMs, gw_.clock->nowMs());
  EXPECT_EQ(b.channel.lastOutboundAtMs, gw_.clock->nowMs());
}

TEST_F(ChannelManagerTest, AConnectedAccountThatReceivesNothingTurnsMutedWithinOneIntervalAndRecovers) {
  gw_.channelRuntime->start(*router_);
  ASSERT_TRUE(loopback("a").inject(directMessage("Carol", "first")));
  gw_.executors.runReady();
  const int64_t lastTraffic = gw_.clock->nowMs();
  loopback("a").setInboundBlocked(true);  // connected, but nothing gets through
  ASSERT_TRUE(loopback("a").inject(directMessage("Carol", "lost")));
  events_.clear();

  // Within the threshold (60 s) the account stays healthy, whatever the reconciliations see.
  gw_.executors.advance(50'000);
  EXPECT_EQ(record("a", "functional")->state, health::HealthState::kOk);
  EXPECT_FALSE(findAccount(gw_.channelRuntime->status(), "a")->health.muted);

  // The threshold passes; the next reconciliation (every 10 s) reports it.
  gw_.executors.advance(20'000);
  auto a = *findAccount(gw_.channelRuntime->status(), "a");
  EXPECT_TRUE(a.health.muted);
  EXPECT_EQ(a.health.functional, DimensionHealth::kUnhealthy);
  EXPECT_EQ(a.health.transport, DimensionHealth::kHealthy);  // the transport is still up
  EXPECT_EQ(a.health.healthState, "muted");
  EXPECT_GE(a.health.degradedSinceMs, lastTraffic + 60'000);
  EXPECT_LE(a.health.degradedSinceMs, lastTraffic + 70'000);
  EXPECT_NE(a.health.suggestedAction.find("received nothing"), std::string::npos) << a.health.suggestedAction;
  EXPECT_EQ(record("a", "functional")->state, health::HealthState::kFailed);
  EXPECT_EQ(record("a", "transport")->state, health::HealthState::kOk);
  EXPECT_EQ(gauge("a", "functional"), 0);
  EXPECT_EQ(gauge("a", "transport"), 1);
  bool sawMuted = false;
  for (const auto& e : events_) {
    auto v = parseJson(e);
    ASSERT_TRUE(v);
    if (v->at("accountId") == json::value("a") && v->at("muted") == json::value(true)) {
      sawMuted = true;
      EXPECT_EQ(v->at("functional"), json::value("unhealthy"));
      EXPECT_EQ(v->at("healthy"), json::value(false));
    }
  }
  EXPECT_TRUE(sawMuted);
  EXPECT_EQ(gw_.provider->count(), 1u);  // the blocked message never reached a turn

  // Traffic resumes: healthy again at once, not at the next reconciliation.
  events_.clear();
  loopback("a").setInboundBlocked(false);
  ASSERT_TRUE(loopback("a").inject(directMessage("Carol", "back")));
  gw_.executors.runReady();
  a = *findAccount(gw_.channelRuntime->status(), "a");
  EXPECT_FALSE(a.health.muted);
  EXPECT_EQ(a.health.healthState, "healthy");
  EXPECT_EQ(a.health.degradedSinceMs, 0);
  EXPECT_EQ(record("a", "functional")->state, health::HealthState::kOk);
  EXPECT_EQ(gauge("a", "functional"), 1);
  ASSERT_FALSE(events_.empty());
  EXPECT_NE(events_.back().find(R"("healthy":true)"), std::string::npos) << events_.back();
}

/// A channel whose start() fails with kUnavailable a given number of times, then connects.
class FlakyChannel final : public Channel {
 public:
  FlakyChannel(int failures, ClockPtr clock) : failures_(failures), clock_(std::move(clock)) {}
  std::string_view provider() const override { return "loopback"; }
  Status start(ChannelSink&) override {
    ++starts;
    if (failures_-- > 0) return fail(ErrorCode::kUnavailable, "connection refused");
    state_ = ChannelHealth::State::kConnected;
    return {};
  }
  void stop() override { state_ = ChannelHealth::State::kStopped; }
  void send(OutboundMessage, std::function<void(Status)> onSent) override { onSent({}); }
  void probe(std::function<void(Status)> done) override { done(fail(ErrorCode::kUnavailable, "no answer")); }
  ChannelHealth health() const override {
    ChannelHealth h;
    h.state = state_;
    h.sinceMs = clock_->nowMs();
    h.authenticated = state_ == ChannelHealth::State::kConnected;
    return h;
  }
  int starts = 0;

 private:
  int failures_;
  ClockPtr clock_;
  ChannelHealth::State state_ = ChannelHealth::State::kStopped;
};

/// A runtime over a hand-built config and registry (for what config files cannot express: an unreadable
/// secret, a failing factory, a flaky network).
class ChannelManagerUnitTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<ChannelManager>> create(ChannelManagerOptions options = {}) {
    return ChannelManager::create(
        ChannelManagerDeps{config_, registry_, channels_, records_, metrics_, bus_, executors_.executors(), clock_},
        options);
  }
  struct NullSink final : ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  };

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors_{clock_};
  config::ChannelsConfig config_;
  ChannelRegistry registry_;
  ChannelSet channels_;
  health::HealthRegistry records_{clock_};
  health::MetricsRegistry metrics_;
  EventBus bus_;
  NullSink sink_;
};

TEST_F(ChannelManagerUnitTest, AStartThatCannotReachTheNetworkIsRetriedWithBackoffAndCounted) {
  FlakyChannel* flaky = nullptr;
  ASSERT_TRUE(registry_.add("loopback", [&](const ChannelContext& c) -> Result<ChannelPtr> {
    auto ch = std::make_unique<FlakyChannel>(2, c.clock);
    flaky = ch.get();
    return ChannelPtr(std::move(ch));
  }));
  config_.entries.push_back(config::ChannelConfig{.id = "loopback"});
  ChannelManagerOptions o;
  o.startBackoff.initial = std::chrono::milliseconds(1000);
  o.startBackoff.jitter = 0;
  auto m = create(o);
  ASSERT_TRUE(m) << m.error().toString();
  (*m)->start(sink_);
  ASSERT_NE(flaky, nullptr);
  EXPECT_EQ(flaky->starts, 1);
  auto s = (*m)->status().at(0);
  EXPECT_EQ(s.channelId, "loopback:default");  // no accounts: the implicit default one
  EXPECT_FALSE(s.running);
  EXPECT_EQ(s.lastError, "connection refused");
  EXPECT_EQ(s.health.transport, DimensionHealth::kUnhealthy);
  EXPECT_NE(s.health.suggestedAction.find("retried"), std::string::npos) << s.health.suggestedAction;

  executors_.advance(999);
  EXPECT_EQ(flaky->starts, 1);
  executors_.advance(1);  // 1 s: the first retry, which fails again
  EXPECT_EQ(flaky->starts, 2);
  executors_.advance(1999);
  EXPECT_EQ(flaky->starts, 2);
  executors_.advance(1);  // 2 s later (doubled): the second retry connects
  EXPECT_EQ(flaky->starts, 3);
  s = (*m)->status().at(0);
  EXPECT_TRUE(s.running);
  EXPECT_TRUE(s.lastError.empty());
  EXPECT_EQ(s.startRetries, 2);
  EXPECT_EQ(s.reconnects, 2);
  EXPECT_EQ(s.health.healthState, "healthy");
  EXPECT_EQ(metricValue(metrics_, R"(talon_channel_reconnects_total{channel="loopback",account_id="default"})"), 2);
  EXPECT_EQ(records_.get("channel:loopback/default", "transport")->state, health::HealthState::kOk);

  // A probe's failure is kept as the account's lastProbe.
  bool probed = false;
  (*m)->probe("", std::chrono::milliseconds(5000), [&] { probed = true; });
  EXPECT_TRUE(probed);
  s = (*m)->status().at(0);
  ASSERT_TRUE(s.lastProbe);
  EXPECT_FALSE(s.lastProbe->ok);
  EXPECT_EQ(s.lastProbe->error, "no answer");
  (*m)->stop();
  EXPECT_EQ(executors_.armedTimers(), 0u);
}

TEST_F(ChannelManagerUnitTest, AnAccountWithAnUnreadableSecretOrABadFactoryStaysDownAndTheOthersStart) {
  ASSERT_TRUE(registry_.add("loopback", [](const ChannelContext& c) -> Result<ChannelPtr> {
    if (c.accountId == "bad") {
      return fail(ErrorCode::kConfigInvalid, "channels.loopback.accounts.bad.server: expected a host name");
    }
    return ChannelPtr(std::make_unique<LoopbackChannel>(c.accountId, c.clock));
  }));
  config::ChannelConfig c{.id = "loopback"};
  c.accountSettings["good"] = {};
  c.accountSettings["bad"] = {};
  c.accountSettings["locked"].unavailable["botToken"] = "environment variable TOKEN is not set";
  config_.entries.push_back(c);
  auto m = create();
  ASSERT_TRUE(m) << m.error().toString();
  (*m)->start(sink_);
  auto all = (*m)->status();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(findAccount(all, "good")->running);
  EXPECT_EQ(findAccount(all, "good")->health.healthState, "healthy");

  const AccountStatus* bad = findAccount(all, "bad");
  EXPECT_FALSE(bad->configured);
  EXPECT_FALSE(bad->running);
  EXPECT_EQ(bad->lastError, "channels.loopback.accounts.bad.server: expected a host name");
  EXPECT_EQ(bad->health.transport, DimensionHealth::kUnhealthy);
  EXPECT_EQ(channels_.find("loopback:bad"), nullptr);

  const AccountStatus* locked = findAccount(all, "locked");
  EXPECT_FALSE(locked->configured);
  EXPECT_EQ(locked->lastError,
            "channels.loopback.accounts.locked.botToken cannot be read: environment variable TOKEN is not set");
  EXPECT_NE(locked->health.suggestedAction.find("botToken"), std::string::npos);
  auto r = records_.get("channel:loopback/locked", "transport");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, health::HealthState::kFailed);
  EXPECT_NE(r->detail.find("cannot be read"), std::string::npos) << r->detail;
  EXPECT_EQ(r->detail.find("TOKEN="), std::string::npos);  // never a value
}

TEST_F(ChannelManagerUnitTest, TheAccountSettingsAreTheChannelsOverlaidByTheAccounts) {
  std::map<std::string, json::object> seen;
  ASSERT_TRUE(registry_.add("loopback", [&](const ChannelContext& c) -> Result<ChannelPtr> {
    seen[c.accountId] = c.settings;
    return ChannelPtr(std::make_unique<LoopbackChannel>(c.accountId, c.clock));
  }));
  config::ChannelConfig c{.id = "loopback"};
  c.settings.values = json::object{{"server", "irc.example"}, {"port", 6697}, {"name", "Lab"}};
  c.accountSettings["x"].values = json::object{{"port", 6667}};
  c.accountSettings["y"].values = json::object{{"name", "Why"}, {"enabled", false}};
  config_.entries.push_back(c);
  auto m = create();
  ASSERT_TRUE(m) << m.error().toString();
  ASSERT_EQ(seen.size(), 1u);  // y is disabled: not created
  EXPECT_EQ(json::value(seen["x"]),
            json::value(json::object{{"server", "irc.example"}, {"port", 6667}, {"name", "Lab"}}));
  EXPECT_FALSE(findAccount((*m)->status(), "y")->enabled);
  EXPECT_EQ(findAccount((*m)->status(), "y")->name, "Why");
}

TEST(ChannelRuntimeTables, EveryChannelWithTransportKeysHasAnAdapterAndEveryAdapterHasARow) {
  ChannelRegistry registry;
  ASSERT_TRUE(registerBuiltinChannels(registry));
  std::vector<std::string> rows;
  for (const auto& t : config::channelTransports()) rows.emplace_back(t.provider);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(registry.providers(), rows);
}

}  // namespace
}  // namespace talon::gateway::channels
