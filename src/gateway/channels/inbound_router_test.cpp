// The inbound path end to end, in process: a LoopbackChannel feeding an InboundRouter over a real
// AgentRunner (SQLite in a temp dir, a model provider the test drives, deterministic executors and a
// SimulatedClock; tests/support/gateway_components.h). A message injected from a peer goes through the
// access gate, the binding resolver (tier and dmScope session key), the session lane and the turn, and
// the reply comes back on the loopback channel. Nothing sleeps.
#include "gateway/channels/inbound_router.h"

#include <gtest/gtest.h>

#include "gateway/channels/loopback_channel.h"
#include "gateway/routing/binding_resolver.h"
#include "support/gateway_components.h"
#include "support/inbound_messages.h"

namespace talon::gateway::channels {
namespace {

using testing::directMessage;

// Two agents; Bob's direct messages go to beta (tier binding.peer), everyone else on the loopback
// channel's accounts to alpha (tier binding.channel, accountId "*"), and "ghost" to an agent that is not
// configured ("main" is accepted by the loader with a warning, as OpenClaw accepts it). One session per
// channel and peer.
constexpr std::string_view kRouterConfig = R"({
  agents: { ownership: "explicit", entries: { alpha: { name: "Alpha" }, beta: {} } },
  session: { dmScope: "per-channel-peer" },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
  bindings: [
    { agentId: "alpha", match: { channel: "loopback", accountId: "*" } },
    { agentId: "beta", match: { channel: "loopback", peer: { kind: "direct", id: "Bob" } } },
    { agentId: "main", match: { channel: "loopback", peer: { kind: "direct", id: "ghost" } } },
  ],
})";

class InboundRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    auto find = [this](std::string_view id) -> Channel* {
      return id == "loopback" && channel_ ? channel_.get() : nullptr;
    };
    OutboundPolicy policy;
    policy.jitter = 0.0;  // retries at exactly 1, 2, 4, ... s
    auto outbound = OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                               gw_.executors.executors(), gw_.clock, find, policy);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router =
        InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner, gw_.metrics, gw_.audit,
                              gw_.executors.executors(), find, *gw_.outbound, nullptr, nullptr, &interceptors_);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    ASSERT_TRUE(channel_->start(*router_));
  }
  void TearDown() override { channel_->stop(); }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kRouterConfig);
    return o;
  }

  /// The value of one series in the /metrics text, or -1 when it is not rendered.
  double metric(std::string_view series) const {
    const std::string text = gw_.metrics.render();
    const std::string prefix = std::string(series) + " ";
    for (std::size_t pos = 0; pos < text.size();) {
      auto end = text.find('\n', pos);
      std::string_view line(text.data() + pos, (end == std::string::npos ? text.size() : end) - pos);
      if (line.substr(0, prefix.size()) == prefix) return std::stod(std::string(line.substr(prefix.size())));
      pos = end == std::string::npos ? text.size() : end + 1;
    }
    return -1;
  }

  std::vector<store::TranscriptEntry> transcript(const std::string& sessionKey) {
    auto t = gw_.store->transcripts().tail(sessionKey, 0);
    EXPECT_TRUE(t) << t.error().toString();
    return t ? *t : std::vector<store::TranscriptEntry>{};
  }

  bool sentCount(std::size_t n) {
    return gw_.executors.runUntil([&] { return channel_->sent().size() >= n; });
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  std::unique_ptr<LoopbackChannel> channel_ = std::make_unique<LoopbackChannel>("default", gw_.clock);
  InboundInterceptors interceptors_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(InboundRouterTest, AMessageAnInterceptorConsumesGoesNoFurtherAndTheOthersAreRouted) {
  std::vector<std::string> seen;  // what the interceptors were offered, in order
  const uint64_t first = interceptors_.add([&](std::string_view channelId, const routing::InboundMessage& m) {
    seen.push_back(std::string(channelId) + " " + m.channel + "/" + m.accountId + " " + m.text);
    return m.text == "for the first";
  });
  interceptors_.add([&](std::string_view, const routing::InboundMessage& m) {
    seen.push_back("second " + m.text);
    return m.text == "for the second";
  });
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "for the first")));
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "for the second")));
  gw_.executors.runReady();
  EXPECT_EQ(seen, (std::vector<std::string>{"loopback loopback/default for the first",
                                            "loopback loopback/default for the second", "second for the second"}));
  EXPECT_EQ(gw_.provider->count(), 0u) << "no turn for a consumed message";
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="received"})"), 2);
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="intercepted"})"), 2);

  // A message no interceptor takes is routed; a removed interceptor is not asked again.
  interceptors_.remove(first);
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "for the first")));
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "for the first");
  EXPECT_EQ(seen.back(), "second for the first");
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="intercepted"})"), 2);
  gw_.provider->call(0)->answer("ok");
  ASSERT_TRUE(sentCount(1));
}

TEST_F(InboundRouterTest, APeerBoundMessageIsAnsweredOnTheChannelItCameFrom) {
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "hi beta")));
  ASSERT_TRUE(gw_.waitCalls(1));
  auto call = gw_.provider->call(0);
  EXPECT_EQ(call->request.model, "model-1");
  ASSERT_FALSE(call->request.messages.empty());
  EXPECT_EQ(call->request.messages.back().content, "hi beta");
  EXPECT_TRUE(channel_->sent().empty());  // nothing is sent before the turn has committed
  call->answer("Hello Bob");
  ASSERT_TRUE(sentCount(1));

  auto sent = channel_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].text, "Hello Bob");
  EXPECT_EQ(sent[0].accountId, "default");
  EXPECT_EQ(sent[0].peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(sent[0].peer.id, "Bob");
  ASSERT_FALSE(sent[0].runId.empty());

  // The peer tier chose beta; dmScope per-channel-peer named the session after channel and peer.
  const std::string key = "agent:beta:loopback:direct:bob";
  auto outcome = gw_.outcome(sent[0].runId);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->agentId, "beta");
  EXPECT_EQ(outcome->sessionKey, key);
  EXPECT_FALSE(outcome->error);
  auto t = transcript(key);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(store::transcriptRoleName(t[0].role), "user");
  EXPECT_EQ(t[0].content, "hi beta");
  EXPECT_EQ(t[1].content, "Hello Bob");
  auto session = gw_.store->sessions().get(key);
  ASSERT_TRUE(session && *session);
  EXPECT_EQ((*session)->agentId, "beta");
  auto run = gw_.store->runs().get(sent[0].runId);
  ASSERT_TRUE(run && *run);
  EXPECT_EQ(store::runStatusName((*run)->status), "ok");

  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="received"})"), 1);
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="unrouted"})"), 0);
  // A reply counts as delivered once the outbox has recorded the channel's confirmation.
  ASSERT_TRUE(gw_.executors.runUntil([&] { return router_->counters().delivered.value() == 1; }));
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="delivered"})"), 1);
  EXPECT_EQ(router_->counters().delivered.value(), 1u);
  auto health = channel_->health();
  EXPECT_EQ(health.received, 1);
  EXPECT_EQ(health.sent, 1);
}

TEST_F(InboundRouterTest, OtherPeersFallToTheChannelTierAndKeepTheirOwnSessions) {
  ASSERT_TRUE(channel_->inject(directMessage("Carol", "one")));
  ASSERT_TRUE(channel_->inject(directMessage("Dave", "two")));
  ASSERT_TRUE(gw_.waitCalls(2));  // two sessions: two lanes, both running
  gw_.provider->call(0)->answer("to Carol");
  gw_.provider->call(1)->answer("to Dave");
  ASSERT_TRUE(sentCount(2));
  for (const auto& m : channel_->sent()) {
    auto outcome = gw_.outcome(m.runId);
    ASSERT_TRUE(outcome);
    EXPECT_EQ(outcome->agentId, "alpha");
    EXPECT_EQ(outcome->sessionKey,
              "agent:alpha:loopback:direct:" + std::string(m.peer.id == "Carol" ? "carol" : "dave"));
    EXPECT_EQ(m.text, "to " + m.peer.id);
  }
  EXPECT_EQ(transcript("agent:alpha:loopback:direct:carol").size(), 2u);
  EXPECT_EQ(transcript("agent:alpha:loopback:direct:dave").size(), 2u);
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="received"})"), 2);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return router_->counters().delivered.value() == 2; }));
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="delivered"})"), 2);
}

TEST_F(InboundRouterTest, MessagesOfOnePeerWaitForEachOtherInTheirLane) {
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "first")));
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "second")));
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u);  // the second turn waits for the first
  gw_.provider->call(0)->answer("answer one");
  ASSERT_TRUE(gw_.waitCalls(2));
  // The second turn's context holds the first exchange.
  const auto& messages = gw_.provider->call(1)->request.messages;
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages[messages.size() - 2].content, "answer one");
  EXPECT_EQ(messages.back().content, "second");
  gw_.provider->call(1)->answer("answer two");
  ASSERT_TRUE(sentCount(2));
  auto sent = channel_->sent();
  EXPECT_EQ(sent[0].text, "answer one");
  EXPECT_EQ(sent[1].text, "answer two");
  EXPECT_EQ(transcript("agent:beta:loopback:direct:bob").size(), 4u);
}

TEST_F(InboundRouterTest, AMessageBoundToAnUnknownAgentIsUnroutedAndGetsNoReply) {
  // The reason, as the router sees it: the peer binding names an agent outside the roster.
  routing::InboundMessage ghost = directMessage("ghost", "anyone there?");
  ghost.channel = "loopback";
  ghost.accountId = "default";
  auto route = routing::resolveBinding(gw_.config->config, ghost);
  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().code, ErrorCode::kAgentSelectionRequired);

  ASSERT_TRUE(channel_->inject(directMessage("ghost", "anyone there?")));
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_TRUE(channel_->sent().empty());
  EXPECT_EQ(gw_.runner->stats().queued + gw_.runner->stats().running, 0);
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="received"})"), 1);
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="unrouted"})"), 1);
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="delivered"})"), 0);
  auto sessions = gw_.store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
  ASSERT_TRUE(sessions);
  EXPECT_EQ(sessions->totalCount, 0);
}

TEST_F(InboundRouterTest, AFailedRunSendsNoReplyText) {
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "hi")));
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->complete(fail(ErrorCode::kUpstream, "the model is down"));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.runner->stats().failed == 1; }));
  gw_.executors.runReady();
  EXPECT_TRUE(channel_->sent().empty());
  EXPECT_EQ(metric(R"(talon_channel_messages_total{outcome="received"})"), 1);
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="delivered"})"), 0);
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="failed"})"), 0);  // not a delivery failure
  auto t = transcript("agent:beta:loopback:direct:bob");
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t[0].content, "hi");
}

TEST_F(InboundRouterTest, AReplyTheChannelCannotSendIsRetriedThenCountedAsFailed) {
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "hi")));
  ASSERT_TRUE(gw_.waitCalls(1));
  channel_->stop();
  gw_.provider->call(0)->answer("too late");
  // The outbox retries (1, 2, 4, ... 64 s) and gives up after its eighth attempt.
  const char* failed = R"(talon_channel_replies_total{result="failed"})";
  for (int i = 0; i < 50 && metric(failed) != 1; ++i) {
    ASSERT_TRUE(gw_.executors.runUntil([&] { return metric(failed) == 1 || gw_.executors.armedTimers() > 0; }));
    if (metric(failed) != 1) gw_.executors.advance(64'000);
  }
  EXPECT_EQ(metric(failed), 1);
  EXPECT_TRUE(channel_->sent().empty());
  EXPECT_EQ(channel_->health().sendFailures, 8);
  EXPECT_EQ(metric(R"(talon_channel_replies_total{result="delivered"})"), 0);
  EXPECT_EQ(metric(R"(talon_channel_deliveries_total{channel="loopback",outcome="failed"})"), 1);
  auto rows = gw_.store->outbound().list(store::DeliveryState::kFailed, 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text, "too late");
  EXPECT_EQ((*rows)[0].attempts, 8);
  EXPECT_EQ(gw_.healthRecords.get("channel:loopback", "delivery")->state, health::HealthState::kDegraded);
}

TEST_F(InboundRouterTest, AReplyIsStoredInTheOutboxAndALongOneIsSplitToTheChannelsLimit) {
  channel_->setMaxTextChars(12);
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "hi")));
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->answer("one two three four five");
  ASSERT_TRUE(sentCount(3));
  auto sent = channel_->sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].text, "one two");
  EXPECT_EQ(sent[1].text, "three four");
  EXPECT_EQ(sent[2].text, "five");
  ASSERT_TRUE(
      gw_.executors.runUntil([&] { return metric(R"(talon_channel_replies_total{result="delivered"})") == 1; }));
  auto rows = gw_.store->outbound().list(std::nullopt, 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].state, store::DeliveryState::kSent);
  EXPECT_EQ((*rows)[0].partsTotal, 3);
  EXPECT_EQ((*rows)[0].runId, sent[0].runId);
  EXPECT_EQ((*rows)[0].peerId, "Bob");
}

// The typing indicator (OpenClaw #97042: left on after a run ended): on when the run starts, off when it
// ends, however it ends.
class InboundTypingTest : public InboundRouterTest {
 protected:
  /// Injects a message from Bob and waits for its model call; typing is on by then.
  void startRun() {
    ASSERT_TRUE(channel_->inject(directMessage("Bob", "hi")));
    ASSERT_TRUE(gw_.waitCalls(1));
    auto typing = channel_->typing();
    ASSERT_EQ(typing.size(), 1u);
    EXPECT_EQ(typing[0].peerId, "Bob");
    EXPECT_TRUE(typing[0].on);
  }
  /// Waits until the run has ended and checks that typing went off exactly once after it went on.
  void expectTypingOff() {
    ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->typing().size() >= 2; }));
    gw_.executors.runReady();
    auto typing = channel_->typing();
    ASSERT_EQ(typing.size(), 2u);
    EXPECT_TRUE(typing[0].on);
    EXPECT_FALSE(typing[1].on);
    EXPECT_EQ(typing[1].peerId, "Bob");
  }
  const std::string key_ = "agent:beta:loopback:direct:bob";
};

TEST_F(InboundTypingTest, TypingGoesOffWhenTheRunEndsWithItsReply) {
  startRun();
  gw_.provider->call(0)->answer("Hello Bob");
  expectTypingOff();
  ASSERT_TRUE(sentCount(1));
}

TEST_F(InboundTypingTest, TypingGoesOffWhenTheRunFails) {
  startRun();
  gw_.provider->call(0)->complete(fail(ErrorCode::kUpstream, "the model is down"));
  expectTypingOff();
  EXPECT_TRUE(channel_->sent().empty());
}

TEST_F(InboundTypingTest, TypingGoesOffWhenTheRunIsAborted) {
  startRun();
  auto aborted = gw_.runner->abortSession(key_);
  EXPECT_TRUE(aborted.aborted);
  expectTypingOff();
  EXPECT_TRUE(channel_->sent().empty());
}

TEST_F(InboundTypingTest, TypingGoesOffWhenTheRunTimesOut) {
  startRun();
  gw_.executors.advance(testing::GatewayComponentsOptions::defaultRunnerOptions().defaultTimeout.count());
  expectTypingOff();
  EXPECT_EQ(gw_.runner->stats().failed, 1);
}

TEST_F(InboundTypingTest, TypingGoesOffWhenTheGatewayDrains) {
  startRun();
  bool drained = false;
  gw_.runner->drain([&] { drained = true; });
  gw_.executors.advance(testing::GatewayComponentsOptions::defaultRunnerOptions().drainGrace.count());
  expectTypingOff();
  ASSERT_TRUE(gw_.executors.runUntil([&] { return drained; }));
  EXPECT_EQ(gw_.runner->stats().aborted, 1);
}

TEST_F(InboundTypingTest, AQueuedRunAbortedBeforeItStartsLeavesNoTypingOn) {
  startRun();
  ASSERT_TRUE(channel_->inject(directMessage("Bob", "second")));  // waits in Bob's lane
  gw_.executors.runReady();
  auto aborted = gw_.runner->abortSession(key_);  // the queued run first, then the running one
  EXPECT_EQ(aborted.runIds.size(), 2u);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return gw_.runner->stats().aborted == 2; }));
  gw_.executors.runReady();
  auto typing = channel_->typing();
  int on = 0;
  for (const auto& t : typing) on += t.on ? 1 : -1;
  EXPECT_LE(on, 0);  // every "on" was followed by an "off"
  ASSERT_FALSE(typing.empty());
  EXPECT_FALSE(typing.back().on);
}

}  // namespace
}  // namespace talon::gateway::channels
