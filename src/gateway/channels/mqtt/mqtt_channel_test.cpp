// The MQTT channel's settings, its topic/payload mapping and its behaviour without a broker, hermetic.
// The real-broker tests are in tests/mqtt/ (Mosquitto).
#include "gateway/channels/mqtt/mqtt_channel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "support/manual_executors.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;

Result<MqttSettings> mqttParse(const std::string& json) {
  auto v = parseJson(json);
  EXPECT_TRUE(v && v->is_object()) << json;
  return MqttSettings::parse("home", v->as_object());
}

TEST(MqttSettingsTest, DefaultsAndValues) {
  auto s = mqttParse(R"({"url": "mqtt://127.0.0.1:1884"})");
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_EQ(s->broker.host, "127.0.0.1");
  EXPECT_EQ(s->broker.port, 1884);
  EXPECT_FALSE(s->broker.tls);
  EXPECT_EQ(s->clientId, "talon-home");
  EXPECT_EQ(s->replyTopic, "talon/reply/{peer}");
  EXPECT_EQ(s->probeTopic, "talon/probe/talon-home");
  EXPECT_EQ(s->replyFormat, MqttSettings::ReplyFormat::kText);
  EXPECT_EQ(s->qos, 1);
  EXPECT_EQ(s->keepaliveSeconds, 60);
  EXPECT_TRUE(s->subscriptions.empty());

  auto full = mqttParse(R"({"url": "mqtts://b", "clientId": "c1", "username": "u", "password": "p", "qos": 0,
                        "keepaliveSeconds": 10, "replyTopic": "out/{peer}", "replyFormat": "json",
                        "probeTopic": "probe", "enabled": true, "name": "Home",
                        "subscriptions": [{"topic": "in/+", "senderLevel": 1, "qos": 2},
                                          {"topic": "rooms/#", "session": "topic"}]})");
  ASSERT_TRUE(full) << full.error().toString();
  EXPECT_TRUE(full->broker.tls);
  EXPECT_EQ(full->broker.port, 8883);
  EXPECT_EQ(full->password, "p");
  EXPECT_EQ(full->replyFormat, MqttSettings::ReplyFormat::kJson);
  ASSERT_EQ(full->subscriptions.size(), 2u);
  EXPECT_EQ(full->subscriptions[0].senderLevel, std::optional<int>(1));
  EXPECT_EQ(full->subscriptions[0].qos, std::optional<int>(2));
  EXPECT_EQ(full->subscriptions[1].session, config::MqttSessionBy::kTopic);
}

TEST(MqttSettingsTest, BadValuesNameTheirKey) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})", "url"},
      {R"({"url": "tcp://b"})", "url"},
      {R"({"url": "mqtt://b", "qos": 3})", "qos"},
      {R"({"url": "mqtt://b", "keepaliveSeconds": 0})", "keepaliveSeconds"},
      {R"({"url": "mqtt://b", "password": "p"})", "password"},
      {R"({"url": "mqtt://b", "caFile": "/nonexistent/ca.pem"})", "caFile"},
      {R"({"url": "mqtt://b", "replyTopic": "a/#"})", "replyTopic"},
      {R"({"url": "mqtt://b", "probeTopic": "a/+"})", "probeTopic"},
      {R"({"url": "mqtt://b", "replyFormat": "xml"})", "replyFormat"},
      {R"({"url": "mqtt://b", "subscriptions": [{"topic": "a/+", "senderLevel": 3}]})", "subscriptions[0].senderLevel"},
      {R"({"url": "mqtt://b", "subscriptions": {}})", "subscriptions"},
      {R"({"url": "mqtt://b", "retain": true})", "retain"},
      {R"({"url": 5})", "url"},
  };
  for (const auto& [json, key] : cases) {
    auto r = mqttParse(json);
    ASSERT_FALSE(r) << json;
    EXPECT_EQ(r.error().code, ErrorCode::kConfigInvalid);
    EXPECT_EQ(r.error().message.rfind("channels.mqtt.accounts.home." + std::string(key) + ":", 0), 0u)
        << r.error().message;
  }
}

config::MqttSubscription subscription(const std::string& topic, std::optional<int> senderLevel,
                                      config::MqttSessionBy session = config::MqttSessionBy::kSender) {
  config::MqttSubscription s;
  s.topic = topic;
  s.senderLevel = senderLevel;
  s.session = session;
  return s;
}

TEST(MqttMappingTest, TheSenderComesFromTheTopicLevelOrThePayload) {
  auto byTopic = mapMqttPublish(subscription("talon/+/ask", 1), "talon/alice/ask", "hello\nthere");
  ASSERT_TRUE(byTopic) << byTopic.error().toString();
  EXPECT_EQ(byTopic->sender, "alice");
  EXPECT_EQ(byTopic->peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(byTopic->peer.id, "alice");
  EXPECT_EQ(byTopic->text, "hello\nthere");

  // The topic level wins over the payload's "from" (a broker ACL can vouch for the topic, not the payload).
  auto both = mapMqttPublish(subscription("talon/+/ask", 1), "talon/alice/ask", R"({"text": "hi", "from": "mallory"})");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->sender, "alice");
  EXPECT_EQ(both->text, "hi");

  auto byPayload =
      mapMqttPublish(subscription("talon/ask", std::nullopt), "talon/ask", R"({"text": "hi", "from": "bob"})");
  ASSERT_TRUE(byPayload);
  EXPECT_EQ(byPayload->sender, "bob");
  EXPECT_EQ(byPayload->peer.id, "bob");

  // A level under '#'.
  auto deep = mapMqttPublish(subscription("site/#", 2), "site/a/carol/x", "hi");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->sender, "carol");
}

TEST(MqttMappingTest, TopicSessionsAreGroupConversations) {
  auto m =
      mapMqttPublish(subscription("rooms/#", std::nullopt, config::MqttSessionBy::kTopic), "rooms/kitchen", "lights?");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->peer.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(m->peer.id, "rooms/kitchen");
  EXPECT_EQ(m->sender, "");
  auto withSender =
      mapMqttPublish(subscription("rooms/+/+", 2, config::MqttSessionBy::kTopic), "rooms/kitchen/dave", "lights?");
  ASSERT_TRUE(withSender);
  EXPECT_EQ(withSender->peer.id, "rooms/kitchen/dave");
  EXPECT_EQ(withSender->sender, "dave");
}

TEST(MqttMappingTest, UnusablePublishesAreRefusedWithTheReason) {
  const auto sub = subscription("in/+", 1);
  const auto noSender = subscription("in", std::nullopt);
  const std::tuple<config::MqttSubscription, std::string, std::string, std::string> cases[] = {
      {noSender, "in", "hello", "no sender"},
      {sub, "in/alice", "", "no text"},
      {sub, "in/alice", "  \n", "no text"},
      {sub, "in/alice", "\xC3\x28", "not UTF-8"},
      {sub, "in/alice", "\xED\xA0\x80", "not UTF-8"},  // a surrogate
      {sub, "in/alice", R"({"from": "x"})", "\"text\""},
      {sub, "in/alice", R"({"text": 5})", "\"text\""},
      {noSender, "in", R"({"text": "hi", "from": "a/b"})", "one topic level"},
      {sub, "in/alice", std::string(1024 * 1024 + 1, 'x'), "1 MiB"},
  };
  for (const auto& [s, topic, payload, why] : cases) {
    auto m = mapMqttPublish(s, topic, payload);
    ASSERT_FALSE(m) << payload.substr(0, 40);
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(m.error().message.find(why), std::string::npos) << m.error().message;
  }
  // Not JSON after all: the payload is the text.
  auto text = mapMqttPublish(sub, "in/alice", "{not json");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->text, "{not json");
  auto utf8 = mapMqttPublish(sub, "in/alice", "gr\xC3\xBC\xC3\x9F dich \xF0\x9F\x91\x8B");
  EXPECT_TRUE(utf8);
}

TEST(MqttMappingTest, RepliesAreTextOrJson) {
  OutboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, "alice"};
  m.text = "hi \"there\"";
  EXPECT_EQ(renderMqttReply(MqttSettings::ReplyFormat::kText, m), "hi \"there\"");
  auto plain = parseJson(renderMqttReply(MqttSettings::ReplyFormat::kJson, m));
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, (json::value{{"text", "hi \"there\""}, {"peer", "alice"}}));
  m.runId = "run-1";
  auto withRun = parseJson(renderMqttReply(MqttSettings::ReplyFormat::kJson, m));
  ASSERT_TRUE(withRun);
  EXPECT_EQ(withRun->as_object().at("runId"), json::value("run-1"));
}

/// A loopback port nothing listens on (bound, read back, closed).
uint16_t mqttClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(MqttChannelTest, ABrokerThatCannotBeReachedIsRetriedWithBackoffAndEveryAttemptCounted) {
  auto clock = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors(clock);
  ChannelContext context;
  context.accountId = "home";
  context.executors = executors.executors();
  context.clock = clock;
  MqttSettings settings;
  settings.broker = config::MqttUrl{"127.0.0.1", mqttClosedPort(), false};
  settings.clientId = "talon-test";
  settings.probeTopic = "talon/probe";
  auto channel = MqttChannel::create(context, settings);
  ASSERT_TRUE(channel) << channel.error().toString();
  struct NullSink final : ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  } sink;
  auto until = [&](auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline && !pred((*channel)->health())) {
      executors.runReady();
      std::this_thread::sleep_for(2ms);
    }
    return pred((*channel)->health());
  };
  EXPECT_FALSE((*channel)->restart());  // not started yet
  ASSERT_TRUE((*channel)->start(sink));
  EXPECT_FALSE((*channel)->start(sink));
  ASSERT_TRUE(until([](const ChannelHealth& h) { return h.state == ChannelHealth::State::kDisconnected; }));
  auto h = (*channel)->health();
  EXPECT_FALSE(h.authenticated);
  EXPECT_NE(h.detail.find("cannot connect"), std::string::npos) << h.detail;
  EXPECT_EQ(h.reconnects, 0);

  // Sends and probes fail at once while disconnected; the failure is counted.
  std::optional<Status> sent, probed;
  OutboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, "alice"};
  m.text = "hi";
  (*channel)->send(m, [&](Status s) { sent = s; });
  (*channel)->probe([&](Status s) { probed = s; });
  executors.runReady();
  ASSERT_TRUE(sent && probed);
  EXPECT_EQ(sent->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(probed->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*channel)->health().sendFailures, 1);

  // A peer id that makes no topic name is refused as such.
  std::optional<Status> badPeer;
  m.peer.id = "a/#";
  (*channel)->send(m, [&](Status s) { badPeer = s; });
  executors.runReady();
  ASSERT_TRUE(badPeer);
  EXPECT_EQ(badPeer->error().code, ErrorCode::kInvalidArgument);

  // The first retry comes after 1 s ± 20 % of (simulated) time, the next after 2 s ± 20 %.
  executors.advance(700);
  executors.runReady();
  EXPECT_EQ((*channel)->health().reconnects, 0);
  // An attempt that failed shows as a new kDisconnected period (sinceMs: when it began, simulated).
  const int64_t firstFailureAt = (*channel)->health().sinceMs;
  executors.advance(600);
  ASSERT_TRUE(until([&](const ChannelHealth& h) {
    return h.reconnects == 1 && h.state == ChannelHealth::State::kDisconnected && h.sinceMs > firstFailureAt;
  }));
  // restart() skips the backoff: one more attempt at once.
  executors.advance(1);
  const int64_t secondFailureAt = (*channel)->health().sinceMs;
  ASSERT_TRUE((*channel)->restart());
  ASSERT_TRUE(until([&](const ChannelHealth& h) {
    return h.reconnects == 2 && h.state == ChannelHealth::State::kDisconnected && h.sinceMs > secondFailureAt;
  })) << (*channel)->health().reconnects;
  (*channel)->stop();
  EXPECT_EQ((*channel)->health().state, ChannelHealth::State::kStopped);
  EXPECT_FALSE((*channel)->restart());
  (*channel)->stop();  // idempotent
}

}  // namespace
}  // namespace talon::gateway::channels
