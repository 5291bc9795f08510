// Channel probes (kind "channel") on the real inbound and outbound paths, in process: a LoopbackChannel
// feeding an InboundRouter over a real AgentRunner, the outbox over SQLite in a temp dir, deterministic
// executors and a SimulatedClock (tests/support/gateway_components.h). The test plays the echo bot: it
// reads the ping the channel sent and injects the reply. Nothing sleeps.
#include <gtest/gtest.h>

#include "gateway/channels/inbound_interceptors.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/loopback_channel.h"
#include "gateway/health/synthetic_probes.h"
#include "gateway/routing/access_gate.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"
#include "support/metric_value.h"

namespace talon::gateway::health {
namespace {

using testing::directMessage;
using testing::metricValue;

// The loopback channel admits everyone, so a message the probe did not consume reaches the agent "main".
constexpr std::string_view kChannelProbeConfig = R"({
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
  gateway: { probes: [
    { name: "echo", kind: "channel", channel: "loopback", to: "user:echo", intervalSeconds: 60, timeoutSeconds: 5 },
  ] },
})";

class ChannelProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    ASSERT_EQ(gw_.config->config.gateway.probes.size(), 1u);
    EXPECT_EQ(gw_.config->config.gateway.probes[0].accountId, "default") << "resolved at load";
    auto find = [this](std::string_view id) -> channels::Channel* {
      return id == "loopback:default" && channelPresent_ ? channel_.get() : nullptr;
    };
    channels::OutboundPolicy policy;
    policy.jitter = 0.0;  // retries at exactly 1, 2, 4, ... s
    auto outbound = channels::OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                                         gw_.executors.executors(), gw_.clock, find, policy);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = channels::InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner,
                                                  gw_.metrics, gw_.audit, gw_.executors.executors(), find,
                                                  *gw_.outbound, nullptr, nullptr, &interceptors_);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    ASSERT_TRUE(channel_->start(*router_));
  }
  void TearDown() override {
    if (probes_) probes_->stop();
    channel_->stop();
    if (gw_.outbound) gw_.outbound->stop();
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kChannelProbeConfig);
    return o;
  }

  /// Creates and starts the probes of the config (with `edit` applied to the probe first).
  void startProbe(const std::function<void(config::SyntheticProbeConfig&)>& edit = {}) {
    SyntheticProbesDeps deps;
    deps.probes = gw_.config->config.gateway.probes;
    if (edit) edit(deps.probes[0]);
    deps.outbound = gw_.outbound.get();
    deps.inbound = &interceptors_;
    deps.health = &gw_.healthRecords;
    deps.metrics = &gw_.metrics;
    deps.executors = gw_.executors.executors();
    deps.clock = gw_.clock;
    auto probes = SyntheticProbes::create(std::move(deps));
    ASSERT_TRUE(probes) << probes.error().toString();
    probes_ = std::move(*probes);
    probes_->start();
  }

  /// Runs tasks until the channel sent `n` messages; the nonce of the last one (its last word).
  std::string waitPing(std::size_t n) {
    EXPECT_TRUE(gw_.executors.runUntil([&] { return channel_->sent().size() >= n; }));
    auto sent = channel_->sent();
    if (sent.size() < n) return "";
    const std::string& text = sent[n - 1].text;
    return text.substr(text.rfind(' ') + 1);
  }

  /// Runs tasks until the outbox recorded `n` confirmed deliveries on the loopback channel.
  bool waitConfirmed(double n) {
    return gw_.executors.runUntil([&] {
      return metricValue(gw_.metrics, R"(talon_channel_deliveries_total{channel="loopback:default",outcome="sent"})") >=
             n;
    });
  }

  std::optional<HealthRecord> record() {
    for (const auto& r : gw_.healthRecords.snapshot().records) {
      if (r.component == "probe:echo" && r.dimension == "result") return r;
    }
    return std::nullopt;
  }
  bool waitState(HealthState state) {
    return gw_.executors.runUntil([&] { return record() && record()->state == state; });
  }
  double intercepted() const {
    return metricValue(gw_.metrics, R"(talon_channel_messages_total{outcome="intercepted"})");
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  channels::InboundInterceptors interceptors_;
  std::unique_ptr<channels::LoopbackChannel> channel_ =
      std::make_unique<channels::LoopbackChannel>("default", gw_.clock);
  bool channelPresent_ = true;
  std::unique_ptr<channels::InboundRouter> router_;
  std::unique_ptr<SyntheticProbes> probes_;
};

TEST_F(ChannelProbeTest, TheEchoOfThePingIsConsumedAndTheProbeIsOkWithTheRoundTrip) {
  EXPECT_FALSE(record().has_value());
  startProbe();
  const std::string nonce = waitPing(1);
  auto sent = channel_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].text, "talon-probe " + nonce);
  EXPECT_EQ(nonce.size(), 12u);
  EXPECT_EQ(sent[0].accountId, "default");
  EXPECT_EQ(sent[0].peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(sent[0].peer.id, "echo");

  gw_.clock->advance(250);
  ASSERT_TRUE(channel_->inject(directMessage("echo", "talon-probe " + nonce)));
  ASSERT_TRUE(waitState(HealthState::kOk)) << (record() ? record()->detail : "no record");
  EXPECT_EQ(record()->detail, "user:echo answered on loopback:default in 250 ms");
  EXPECT_FALSE(record()->critical);
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_success{probe="echo"})"), 1);
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_runs_total{probe="echo",outcome="ok"})"), 1);
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_duration_seconds{probe="echo"})"), 0.25);

  // The reply went no further than the probe: no turn, no session, no transcript.
  gw_.executors.runReady();
  EXPECT_EQ(intercepted(), 1);
  EXPECT_EQ(gw_.provider->count(), 0u);
  auto sessions = gw_.store->sessions().list({});
  ASSERT_TRUE(sessions) << sessions.error().toString();
  EXPECT_TRUE(sessions->sessions.empty());

  // Anything else the echo bot says, and the nonce from someone else, take the normal path to the agent.
  ASSERT_TRUE(channel_->inject(directMessage("echo", "hello there")));
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "hello there");
  gw_.provider->call(0)->answer("hi");  // both peers share the main session: one turn at a time
  ASSERT_TRUE(channel_->inject(directMessage("bob", "talon-probe " + nonce)));
  ASSERT_TRUE(gw_.waitCalls(2));
  EXPECT_EQ(gw_.provider->call(1)->request.messages.back().content, "talon-probe " + nonce);
  EXPECT_EQ(intercepted(), 1);
  gw_.provider->call(1)->answer("hi");
  gw_.executors.runReady();
}

TEST_F(ChannelProbeTest, NoReplyWithinTheTimeoutFailsTheProbeAndALateEchoIsStillConsumed) {
  startProbe();
  const std::string nonce = waitPing(1);
  ASSERT_TRUE(waitConfirmed(1));
  gw_.executors.advance(4'999);
  EXPECT_EQ(record()->state, HealthState::kUnknown) << "still within the 5 s";
  gw_.executors.advance(1);
  ASSERT_EQ(record()->state, HealthState::kFailed);
  EXPECT_EQ(record()->detail, "sent, no reply containing \"" + nonce + "\" from user:echo within 5 s");
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_success{probe="echo"})"), 0);
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_runs_total{probe="echo",outcome="failed"})"), 1);

  // The echo comes after all: it is dropped (no agent answers an echo bot), and the run stays failed.
  ASSERT_TRUE(channel_->inject(directMessage("echo", "talon-probe " + nonce)));
  gw_.executors.runReady();
  EXPECT_EQ(intercepted(), 1);
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_EQ(record()->state, HealthState::kFailed);

  // The next run, at the interval, sends a fresh nonce; its echo makes the probe ok again.
  gw_.executors.advance(55'000);
  const std::string next = waitPing(2);
  EXPECT_NE(next, nonce);
  ASSERT_TRUE(channel_->inject(directMessage("echo", "talon-probe " + next)));
  ASSERT_TRUE(waitState(HealthState::kOk));
  EXPECT_EQ(metricValue(gw_.metrics, R"(talon_probe_runs_total{probe="echo",outcome="ok"})"), 1);
}

TEST_F(ChannelProbeTest, APingTheChannelCannotSendFailsTheProbeWithTheSendError) {
  channel_->failSends(100, Error(ErrorCode::kUnavailable, "the network is down"));
  startProbe();
  ASSERT_TRUE(gw_.executors.runUntil([&] {
    return metricValue(gw_.metrics,
                       R"(talon_channel_deliveries_total{channel="loopback:default",outcome="retried"})") >= 1;
  }));
  EXPECT_GE(channel_->health().sendFailures, 1) << "the send error counts as the channel's";
  gw_.executors.advance(5'000);
  ASSERT_TRUE(waitState(HealthState::kFailed));
  EXPECT_EQ(record()->detail.rfind("not sent within 5 s: ", 0), 0u) << record()->detail;
  EXPECT_NE(record()->detail.find("the network is down"), std::string::npos) << record()->detail;
}

TEST_F(ChannelProbeTest, AnAccountThatIsNotRunningFailsTheProbe) {
  channelPresent_ = false;
  startProbe();
  ASSERT_TRUE(gw_.executors.runUntil([&] {
    return metricValue(gw_.metrics,
                       R"(talon_channel_deliveries_total{channel="loopback:default",outcome="retried"})") >= 1;
  }));
  gw_.executors.advance(5'000);
  ASSERT_TRUE(waitState(HealthState::kFailed));
  EXPECT_NE(record()->detail.find("not sent within 5 s"), std::string::npos) << record()->detail;
  EXPECT_NE(record()->detail.find("channel loopback:default is not running"), std::string::npos) << record()->detail;
}

TEST_F(ChannelProbeTest, ACustomTextAndExpectationAreUsedAndOnlyTheProbedPeerCanAnswer) {
  startProbe([](config::SyntheticProbeConfig& c) {
    c.text = "ping";
    c.expect = "pong";
  });
  const std::string nonce = waitPing(1);
  EXPECT_EQ(channel_->sent()[0].text, "ping " + nonce);
  ASSERT_TRUE(channel_->inject(directMessage("bob", "pong")));
  ASSERT_TRUE(gw_.waitCalls(1)) << "bob is not the probed peer: his message reaches the agent";
  EXPECT_EQ(record()->state, HealthState::kUnknown);
  ASSERT_TRUE(channel_->inject(directMessage("ECHO", "PONG? no: pong")));
  ASSERT_TRUE(waitState(HealthState::kOk));
  EXPECT_EQ(intercepted(), 1);
  gw_.provider->call(0)->answer("hi");
  gw_.executors.runReady();
}

TEST_F(ChannelProbeTest, AfterStopTheProbesRepliesTakeTheNormalPath) {
  startProbe();
  const std::string nonce = waitPing(1);
  probes_->stop();
  ASSERT_TRUE(channel_->inject(directMessage("echo", "talon-probe " + nonce)));
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(intercepted(), 0);
  EXPECT_EQ(record()->state, HealthState::kUnknown);
  gw_.provider->call(0)->answer("hi");
  gw_.executors.runReady();
}

TEST_F(ChannelProbeTest, AChannelProbeNeedsTheOutboxAndTheInterceptors) {
  SyntheticProbesDeps deps;
  deps.probes = gw_.config->config.gateway.probes;
  deps.health = &gw_.healthRecords;
  deps.metrics = &gw_.metrics;
  deps.executors = gw_.executors.executors();
  deps.clock = gw_.clock;
  auto probes = SyntheticProbes::create(std::move(deps));
  ASSERT_FALSE(probes);
  EXPECT_EQ(probes.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace talon::gateway::health
