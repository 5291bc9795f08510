// The MQTT channel against a real MQTT broker: mosquitto started by the test on a loopback port
// (tests/support/mosquitto_server.h), people and devices played by libmosquitto clients on the test thread
// (tests/support/mqtt_test_client.h), and the gateway's inbound path in process (InboundRouter over a real
// AgentRunner with a FakeModelProvider, ManualExecutors and a SimulatedClock;
// tests/support/gateway_components.h). The channel's network loop runs on its own thread; its reconnect
// timers and every callback it posts run on the manual executors, so the test moves time itself. Waiting
// for the broker and the sockets is bounded by a safety net only.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gateway/channels/channel_manager.h"
#include "gateway/channels/inbound_router.h"
#include "gateway/channels/mqtt/mqtt_channel.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "support/channel_pairing.h"
#include "support/gateway_components.h"
#include "support/manual_executors.h"
#include "support/mosquitto_server.h"
#include "support/mqtt_test_client.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;
constexpr auto kSafetyNet = 15s;

/// Everyone may talk to the agent; topic conversations open.
constexpr std::string_view kOpenConfig = R"({
  channels: { mqtt: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" } },
})";
/// Only alice.
constexpr std::string_view kAllowlistConfig = R"({
  channels: { mqtt: { dmPolicy: "allowlist", allowFrom: ["alice"] } },
})";
/// OpenClaw's default DM policy: strangers get a pairing code.
constexpr std::string_view kPairingConfig = R"({
  channels: { mqtt: { dmPolicy: "pairing" } },
})";

class MqttChannelMosquittoTest : public ::testing::Test {
 protected:
  void SetUp() override { startBroker({}); }
  void TearDown() override {
    if (channel_) channel_->stop();
    router_.reset();
  }

  void startBroker(testing::MosquittoOptions options) {
    auto server = testing::MosquittoServer::start(std::move(options));
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
  }

  /// The account's settings: questions on talon/in/<sender>, rooms on rooms/<room> (one conversation per
  /// topic), replies on talon/out/<peer>.
  json::object settings() const {
    return json::object{{"url", server_->url()},
                        {"clientId", "talon-test"},
                        {"replyTopic", "talon/out/{peer}"},
                        {"subscriptions", json::array{json::object{{"topic", "talon/in/+"}, {"senderLevel", 2}},
                                                      json::object{{"topic", "rooms/+"}, {"session", "topic"}}}}};
  }

  /// Builds the gateway components with `config`, the MQTT channel with `account` and the router between
  /// them; starts the channel and, when `waitReady`, waits until every subscription is granted.
  void startGateway(std::string_view config, json::object account, bool waitReady = true) {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(config);
    gw_ = std::make_unique<testing::GatewayComponents>(o);
    ASSERT_TRUE(gw_->ok());
    gate_ = std::make_unique<routing::AccessGate>(gw_->config->config.channels, gw_->store.get(), gw_->clock);
    ChannelContext context;
    context.accountId = "default";
    context.settings = std::move(account);
    context.executors = gw_->executors.executors();
    context.clock = gw_->clock;
    auto channel = MqttChannel::fromContext(context);
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_.reset(static_cast<MqttChannel*>(channel->release()));
    auto find = [this](std::string_view id) -> Channel* {
      return id == "mqtt" || id == "mqtt:default" ? channel_.get() : nullptr;
    };
    auto outbound = OutboundDispatcher::create(*gw_->store, gw_->metrics, gw_->healthRecords, gw_->bus,
                                               gw_->executors.executors(), gw_->clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_->outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_->config->config, gw_->agents->roster(), *gate_, *gw_->runner, gw_->metrics,
                                        gw_->audit, gw_->executors.executors(), find, *gw_->outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    ASSERT_TRUE(channel_->start(*router_));
    if (waitReady) {
      ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail << "\n"
                                                                           << server_->log();
    }
  }

  /// Runs the manual executors until `done` holds (the channel's network loop works on its own thread).
  bool until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kSafetyNet;
    while (std::chrono::steady_clock::now() < deadline) {
      gw_->executors.runReady();
      if (done()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  std::function<void()> pump() {
    return [this] { gw_->executors.runReady(); };
  }
  int64_t sessionCount() {
    auto sessions = gw_->store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
    EXPECT_TRUE(sessions);
    return sessions ? sessions->totalCount : -1;
  }

  std::unique_ptr<testing::MosquittoServer> server_;
  std::unique_ptr<testing::GatewayComponents> gw_;
  std::unique_ptr<routing::AccessGate> gate_;
  std::unique_ptr<MqttChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(MqttChannelMosquittoTest, AnswersAQuestionOnTheReplyTopic) {
  startGateway(kOpenConfig, settings());
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_TRUE(health.authenticated);
  EXPECT_EQ(health.lastInboundAtMs, 0);
  // The probe goes to the broker and back (a QoS 1 publish and its PUBACK).
  std::atomic<int> probed{0};
  channel_->probe([&](Status s) { probed = s ? 1 : -1; });
  ASSERT_TRUE(until([&] { return probed != 0; }));
  EXPECT_EQ(probed, 1);

  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.subscribe("talon/out/alice"));
  ASSERT_TRUE(alice.publish("talon/in/alice", "hello bot\nsecond line"));
  ASSERT_TRUE(gw_->waitCalls(1));
  auto call = gw_->provider->call(0);
  EXPECT_EQ(call->request.messages.back().content, "hello bot\nsecond line");
  call->answer("Hello Alice");
  auto reply = alice.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->topic, "talon/out/alice");
  EXPECT_EQ(reply->payload, "Hello Alice");
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));
  health = channel_->health();
  EXPECT_EQ(health.received, 1);
  EXPECT_GT(health.lastInboundAtMs, 0);
  EXPECT_GT(health.lastOutboundAtMs, 0);
  EXPECT_EQ(sessionCount(), 1);

  // A JSON payload names its sender when the topic does not say it… but here the topic level wins.
  ASSERT_TRUE(alice.publish("talon/in/alice", R"({"text": "and again", "from": "mallory"})"));
  ASSERT_TRUE(gw_->waitCalls(2));
  EXPECT_EQ(gw_->provider->call(1)->request.messages.back().content, "and again");
  gw_->provider->call(1)->answer("Again, Alice");
  reply = alice.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "Again, Alice");
  EXPECT_EQ(sessionCount(), 1);  // the same conversation
}

TEST_F(MqttChannelMosquittoTest, ATopicIsAConversationOfItsOwn) {
  startGateway(kOpenConfig, settings());
  testing::MqttTestClient device;
  ASSERT_TRUE(device.connect(server_->port()));
  ASSERT_TRUE(device.subscribe("talon/out/#"));
  ASSERT_TRUE(device.publish("rooms/kitchen", "lights are on"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("noted");
  auto reply = device.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->topic, "talon/out/rooms/kitchen");
  EXPECT_EQ(reply->payload, "noted");
}

TEST_F(MqttChannelMosquittoTest, TheChannelDoesNotHearItsOwnReplies) {
  // A reply topic inside a subscribed filter: MQTT 5's no-local keeps the reply from coming back as a
  // question (which would loop forever).
  auto account = settings();
  account["replyTopic"] = "talon/in/{peer}-reply";
  startGateway(kOpenConfig, std::move(account));
  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.subscribe("talon/in/alice-reply"));
  ASSERT_TRUE(alice.publish("talon/in/alice", "echo?"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("no echo");
  auto reply = alice.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "no echo");
  // alice hears the reply; the channel received only alice's question.
  ASSERT_TRUE(alice.publish("talon/in/alice", "second"));
  ASSERT_TRUE(gw_->waitCalls(2));
  EXPECT_EQ(channel_->health().received, 2);
  EXPECT_EQ(gw_->provider->count(), 2u);
}

TEST_F(MqttChannelMosquittoTest, ABrokerRestartMidConversationStillDeliversTheReply) {
  startGateway(kOpenConfig, settings());
  {
    testing::MqttTestClient carol;
    ASSERT_TRUE(carol.connect(server_->port()));
    ASSERT_TRUE(carol.publish("talon/in/carol", "before the restart"));
  }
  ASSERT_TRUE(gw_->waitCalls(1));

  // The broker dies while the agent thinks: the reply cannot go out now.
  server_->kill();
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }));
  EXPECT_FALSE(channel_->health().authenticated);
  std::optional<Status> probed;
  channel_->probe([&](Status s) { probed = s; });
  ASSERT_TRUE(until([&] { return probed.has_value(); }));
  EXPECT_EQ(probed->error().code, ErrorCode::kUnavailable);
  gw_->provider->call(0)->answer("first answer");
  ASSERT_TRUE(until([&] { return channel_->health().sendFailures >= 1; }));

  // While the broker is down, attempts fail and back off; each one is counted.
  gw_->executors.advance(1300);  // the first delay: 1 s ± 20 %
  ASSERT_TRUE(until([&] {
    const auto h = channel_->health();
    return h.reconnects == 1 && h.state == ChannelHealth::State::kDisconnected &&
           h.detail.find("cannot connect") != std::string::npos;
  })) << channel_->health().detail;

  ASSERT_TRUE(server_->restart());
  gw_->executors.advance(2500);  // the second delay: 2 s ± 20 %
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail;
  EXPECT_EQ(channel_->health().reconnects, 2);
  EXPECT_EQ(channel_->health().state, ChannelHealth::State::kConnected);

  // The outbox retries the reply: time moves while carol waits.
  testing::MqttTestClient carol;
  ASSERT_TRUE(carol.connect(server_->port()));
  ASSERT_TRUE(carol.subscribe("talon/out/carol"));
  auto reply = carol.next([this] { gw_->executors.advance(250); });
  ASSERT_TRUE(reply) << channel_->health().detail;
  EXPECT_EQ(reply->payload, "first answer");

  // A later message is still answered.
  ASSERT_TRUE(carol.publish("talon/in/carol", "after the restart"));
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("still here");
  reply = carol.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "still here");
}

TEST_F(MqttChannelMosquittoTest, RestartReconnectsAtOnce) {
  startGateway(kOpenConfig, settings());
  ASSERT_TRUE(channel_->restart());
  ASSERT_TRUE(until([&] { return channel_->health().reconnects == 1 && channel_->health().authenticated; }))
      << channel_->health().detail;
  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.subscribe("talon/out/alice"));
  ASSERT_TRUE(alice.publish("talon/in/alice", "still there?"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("yes");
  auto reply = alice.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "yes");
}

TEST_F(MqttChannelMosquittoTest, AnUnlistedSenderIsRefusedBeforeAnySessionExists) {
  startGateway(kAllowlistConfig, settings());
  testing::MqttTestClient mallory;
  ASSERT_TRUE(mallory.connect(server_->port()));
  ASSERT_TRUE(mallory.subscribe("talon/out/#"));
  ASSERT_TRUE(mallory.publish("talon/in/mallory", "let me in"));
  ASSERT_TRUE(until([&] { return channel_->health().received == 1; }));
  ASSERT_TRUE(until([&] { return !gw_->audit.ofKind("access.dm").empty(); }));
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);
  EXPECT_TRUE(mallory.inboxEmpty());

  // alice is listed.
  ASSERT_TRUE(mallory.publish("talon/in/alice", "hi, it is alice"));
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(sessionCount(), 1);
}

TEST_F(MqttChannelMosquittoTest, AStrangerUnderPairingGetsACodeThatAnOperatorApproves) {
  startGateway(kPairingConfig, settings());
  testing::MqttTestClient mallory;
  ASSERT_TRUE(mallory.connect(server_->port()));
  ASSERT_TRUE(mallory.subscribe("talon/out/mallory"));
  ASSERT_TRUE(mallory.publish("talon/in/mallory", "let me in"));
  auto reply = mallory.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_NE(reply->payload.find("talon pairing approve mqtt"), std::string::npos) << reply->payload;
  EXPECT_NE(reply->payload.find("mallory"), std::string::npos) << reply->payload;
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);

  // The operator approves the code; mallory's next publish reaches the agent and is answered.
  const std::string code = testing::pairingCodeIn(reply->payload);
  ASSERT_FALSE(code.empty()) << reply->payload;
  EXPECT_EQ(testing::approvePairing(*gw_->store, "mqtt", code, gw_->clock->nowMs()), "mallory");
  ASSERT_TRUE(mallory.publish("talon/in/mallory", "approved now?"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("welcome, mallory");
  auto welcome = mallory.next(pump());
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->payload, "welcome, mallory");
  EXPECT_EQ(sessionCount(), 1);
}

TEST_F(MqttChannelMosquittoTest, PublishesWithoutASenderAreDroppedNotRouted) {
  auto account = settings();
  account["subscriptions"] = json::array{json::object{{"topic", "talon/ask"}}};
  startGateway(kOpenConfig, std::move(account));
  testing::MqttTestClient device;
  ASSERT_TRUE(device.connect(server_->port()));
  ASSERT_TRUE(device.subscribe("talon/out/#"));
  ASSERT_TRUE(device.publish("talon/ask", "who am I?"));
  ASSERT_TRUE(until([&] { return channel_->health().lastInboundAtMs > 0; }));  // traffic seen…
  gw_->executors.runReady();
  EXPECT_EQ(channel_->health().received, 0);  // …but nothing handed to the gateway
  // The same topic with a JSON payload that names its sender goes through.
  ASSERT_TRUE(device.publish("talon/ask", R"({"text": "it is bob", "from": "bob"})"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("hi bob");
  auto reply = device.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->topic, "talon/out/bob");
}

// The functional dimension (docs/channels.md "Health"): the channel runtime reports an MQTT account that
// is connected but hears nothing for the stale-event threshold as muted, and healthy again as soon as a
// publish arrives — over the real broker, in simulated time for the threshold.
TEST_F(MqttChannelMosquittoTest, TheRuntimeReportsAConnectedAccountThatHearsNothingAsMutedUntilAPublishArrives) {
  testing::GatewayComponentsOptions o;
  o.configText = std::string(kOpenConfig);
  gw_ = std::make_unique<testing::GatewayComponents>(o);
  ASSERT_TRUE(gw_->ok());
  ChannelRegistry registry;
  ASSERT_TRUE(registry.add("mqtt", MqttChannel::fromContext));
  config::ChannelsConfig channels;
  config::ChannelConfig mqtt;
  mqtt.id = "mqtt";
  mqtt.settings.values = settings();
  channels.entries.push_back(std::move(mqtt));
  ChannelSet set;
  health::HealthRegistry records(gw_->clock);
  health::MetricsRegistry metrics;
  EventBus bus;
  ChannelManagerOptions options;
  options.checkInterval = 10s;
  options.staleEventThreshold = 60s;
  options.recovery.enabled = false;  // the muted state itself is under test, not what recovery does to it
  auto runtime = ChannelManager::create(
      ChannelManagerDeps{channels, registry, set, records, metrics, bus, gw_->executors.executors(), gw_->clock},
      options);
  ASSERT_TRUE(runtime) << runtime.error().toString();
  struct Counting final : ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override { ++received; }
    std::atomic<int> received{0};
  } sink;
  (*runtime)->start(sink);
  auto account = [&] { return (*runtime)->status().at(0); };
  ASSERT_TRUE(until([&] {
    (*runtime)->reconcile();
    return account().health.healthState == "healthy";
  })) << account().health.healthState
      << " " << account().lastError << "\n"
      << server_->log();

  // Connected and subscribed, but nothing is published for longer than the threshold.
  gw_->executors.advance(70'000);
  auto a = account();
  EXPECT_EQ(a.health.healthState, "muted");
  EXPECT_TRUE(a.health.muted);
  EXPECT_EQ(a.health.transport, DimensionHealth::kHealthy);
  EXPECT_EQ(a.health.application, DimensionHealth::kHealthy);
  EXPECT_EQ(a.health.functional, DimensionHealth::kUnhealthy);
  ASSERT_TRUE(records.get("channel:mqtt/default", "functional"));
  EXPECT_EQ(records.get("channel:mqtt/default", "functional")->state, health::HealthState::kFailed);

  // A publish on a subscription: healthy again at once, not at the next reconciliation.
  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.publish("talon/in/alice", "anyone there?"));
  ASSERT_TRUE(until([&] { return sink.received == 1 && !account().health.muted; }))
      << account().health.healthState << " received " << sink.received;
  EXPECT_EQ(account().health.healthState, "healthy");
  EXPECT_EQ(records.get("channel:mqtt/default", "functional")->state, health::HealthState::kOk);
  (*runtime)->stop();
}

class MqttChannelMosquittoTlsTest : public MqttChannelMosquittoTest {
 protected:
  void SetUp() override {
    testing::MosquittoOptions options;
    options.tls = true;
    startBroker(std::move(options));
  }
};

TEST_F(MqttChannelMosquittoTlsTest, ConnectsOverTlsVerifyingTheBroker) {
  // The broker's certificate is not in the system trust store: the handshake is refused.
  auto account = settings();
  account["url"] = "mqtts://localhost:" + std::to_string(server_->tlsPort());
  startGateway(kOpenConfig, account, false);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }))
      << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
  channel_->stop();
  channel_.reset();
  router_.reset();

  // Trusted through caFile: connected and subscribed over TLS, and a question answered.
  account["caFile"] = server_->certificateFile();
  startGateway(kOpenConfig, account);
  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.subscribe("talon/out/alice"));
  ASSERT_TRUE(alice.publish("talon/in/alice", "over TLS?"));
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("over TLS");
  auto reply = alice.next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload, "over TLS");
}

class MqttChannelMosquittoAuthTest : public MqttChannelMosquittoTest {
 protected:
  void SetUp() override {
    startBroker(
        testing::MosquittoOptions{.username = "talon", .password = "s3cret", .deniedSubscriptions = {"secret/#"}});
  }
};

TEST_F(MqttChannelMosquittoAuthTest, ARefusedSubscriptionIsUnhealthyWithTheBrokersReason) {
  auto account = settings();
  account["username"] = "talon";
  account["password"] = "s3cret";
  account["subscriptions"].as_array().push_back(json::object{{"topic", "secret/+"}, {"senderLevel", 1}});
  startGateway(kOpenConfig, std::move(account), false);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDegraded; }))
      << channel_->health().detail << "\n"
      << server_->log();
  const auto health = channel_->health();
  EXPECT_FALSE(health.authenticated);
  EXPECT_NE(health.detail.find("secret/+"), std::string::npos) << health.detail;
  EXPECT_NE(health.detail.find("refused"), std::string::npos) << health.detail;

  // The granted subscriptions still work.
  testing::MqttTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port()));
  ASSERT_TRUE(alice.subscribe("talon/out/alice"));
  ASSERT_TRUE(alice.publish("talon/in/alice", "hi"));
  ASSERT_TRUE(gw_->waitCalls(1));
}

TEST_F(MqttChannelMosquittoAuthTest, AWrongPasswordIsRefusedAndRetried) {
  auto account = settings();
  account["username"] = "talon";
  account["password"] = "wrong";
  startGateway(kOpenConfig, std::move(account), false);
  ASSERT_TRUE(until([&] {
    const auto h = channel_->health();
    return h.state == ChannelHealth::State::kDisconnected && h.detail.find("refused") != std::string::npos;
  })) << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
  EXPECT_EQ(channel_->health().reconnects, 0);
  gw_->executors.advance(1300);
  ASSERT_TRUE(until([&] { return channel_->health().reconnects == 1; }));
}

}  // namespace
}  // namespace talon::gateway::channels
