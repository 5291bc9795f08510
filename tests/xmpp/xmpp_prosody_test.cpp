// The XMPP channel against a real XMPP server: Prosody started by the test on a loopback port
// (tests/support/prosody_server.h), people played by libstrophe clients on the test thread
// (tests/support/xmpp_test_client.h), and the gateway's inbound path in process (InboundRouter over a real
// AgentRunner with a FakeModelProvider, ManualExecutors and a SimulatedClock;
// tests/support/gateway_components.h). The channel's network loop runs on its own thread; its reconnect
// timers and every callback it posts run on the manual executors, so the test moves time itself. Waiting
// for the server and the sockets is bounded by a safety net only.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/channels/xmpp/xmpp_channel.h"
#include "support/channel_pairing.h"
#include "support/gateway_components.h"
#include "support/manual_executors.h"
#include "support/prosody_server.h"
#include "support/xmpp_test_client.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;
constexpr auto kSafetyNet = 15s;
constexpr const char* kRoom = "lobby@conference.localhost";

/// Everyone may talk to the agent; rooms open, mention-gated (requireMention defaults to true).
constexpr std::string_view kOpenConfig = R"({
  channels: { xmpp: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" } },
})";
/// Only alice.
constexpr std::string_view kAllowlistConfig = R"({
  channels: { xmpp: { dmPolicy: "allowlist", allowFrom: ["alice@localhost"] } },
})";

/// OpenClaw's default DM policy: strangers get a pairing code.
constexpr std::string_view kPairingConfig = R"({
  channels: { xmpp: { dmPolicy: "pairing" } },
})";

class XmppChannelProsodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::ProsodyServer::start();
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
    for (const char* user : {"talon", "alice", "carol", "mallory"}) {
      ASSERT_TRUE(server_->registerUser(user, std::string(user) + "-pw"));
    }
  }
  void TearDown() override {
    if (channel_) channel_->stop();
    router_.reset();
  }

  /// The account's settings: talon@localhost over plaintext loopback, in the lobby as "talon".
  json::object settings() const {
    return json::object{{"jid", "talon@localhost"}, {"password", "talon-pw"}, {"server", "127.0.0.1"},
                        {"port", server_->port()},  {"allowPlaintext", true}, {"rooms", json::array{kRoom}}};
  }

  /// Builds the gateway components with `config`, the XMPP channel with `account` and the router between
  /// them; starts the channel and, when `waitReady`, waits until the session is up and the rooms joined.
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
    auto channel = XmppChannel::fromContext(context);
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_.reset(static_cast<XmppChannel*>(channel->release()));
    auto find = [this](std::string_view id) -> Channel* {
      return id == "xmpp" || id == "xmpp:default" ? channel_.get() : nullptr;
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
    return [this] {
      if (gw_) gw_->executors.runReady();
    };
  }
  int64_t sessionCount() {
    auto sessions = gw_->store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
    EXPECT_TRUE(sessions);
    return sessions ? sessions->totalCount : -1;
  }
  std::unique_ptr<testing::XmppTestClient> person(const std::string& user) {
    auto c = std::make_unique<testing::XmppTestClient>(user, user + "-pw", server_->port());
    EXPECT_TRUE(c->connect(pump())) << server_->log();
    return c;
  }

  std::unique_ptr<testing::ProsodyServer> server_;
  std::unique_ptr<testing::GatewayComponents> gw_;
  std::unique_ptr<routing::AccessGate> gate_;
  std::unique_ptr<XmppChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(XmppChannelProsodyTest, AnswersADirectMessage) {
  startGateway(kOpenConfig, settings());
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_TRUE(health.authenticated);
  EXPECT_EQ(health.received, 0);
  // The probe is a ping to the server and its answer.
  std::atomic<int> probed{0};
  channel_->probe([&](Status s) { probed = s ? 1 : -1; });
  ASSERT_TRUE(until([&] { return probed != 0; }));
  EXPECT_EQ(probed, 1);

  auto alice = person("alice");
  alice->send("talon@localhost", "hello bot\nsecond line");
  ASSERT_TRUE(gw_->waitCalls(1));
  auto call = gw_->provider->call(0);
  EXPECT_EQ(call->request.messages.back().content, "hello bot\nsecond line");
  call->answer("Hello Alice");
  auto reply = alice->next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->from, "talon@localhost/talon");
  EXPECT_EQ(reply->type, "chat");
  EXPECT_EQ(reply->body, "Hello Alice");
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));
  health = channel_->health();
  EXPECT_EQ(health.received, 1);
  EXPECT_GT(health.lastInboundAtMs, 0);
  EXPECT_GT(health.lastOutboundAtMs, 0);
  EXPECT_EQ(sessionCount(), 1);

  // The channel answers a ping, and any other request with service-unavailable.
  EXPECT_EQ(alice->query("talon@localhost/talon", "ping", "urn:xmpp:ping", pump()), "result");
  EXPECT_EQ(alice->query("talon@localhost/talon", "query", "jabber:iq:version", pump()), "error/service-unavailable");

  // The same person (another letter case) is the same conversation.
  alice->send("Talon@LOCALHOST", "and again");
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("Again, Alice");
  reply = alice->next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "Again, Alice");
  EXPECT_EQ(sessionCount(), 1);
}

TEST_F(XmppChannelProsodyTest, RoomMessagesNeedAMention) {
  startGateway(kOpenConfig, settings());
  auto alice = person("alice");
  ASSERT_TRUE(alice->join(kRoom, "alice", pump()));
  ASSERT_TRUE(alice->wait([&] { return alice->sees(std::string(kRoom) + "/talon"); }, pump()));

  alice->send(kRoom, "just chatting among humans", "groupchat");
  ASSERT_TRUE(until([&] { return !gw_->audit.ofKind("access.group").empty(); }));
  EXPECT_EQ(channel_->health().received, 1);
  EXPECT_EQ(gw_->provider->count(), 0u);  // refused: mention_required
  EXPECT_EQ(sessionCount(), 0);
  // alice hears her own message back from the room; nothing else.
  auto echo = alice->next(pump());
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->from, std::string(kRoom) + "/alice");

  alice->send(kRoom, "talon: what is the answer?", "groupchat");
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "talon: what is the answer?");
  gw_->provider->call(0)->answer("42");
  std::optional<testing::XmppTestClient::Message> reply;
  ASSERT_TRUE(alice->wait(
      [&] {
        auto m = alice->next({}, 0ms);
        if (m && m->from == std::string(kRoom) + "/talon") reply = m;
        return reply.has_value();
      },
      pump()));
  EXPECT_EQ(reply->type, "groupchat");
  EXPECT_EQ(reply->body, "42");
  // The room's echo of the reply is not taken for a new message.
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));
  EXPECT_TRUE(alice->inboxEmpty(200));
  gw_->executors.runReady();
  EXPECT_EQ(channel_->health().received, 2);
  EXPECT_EQ(gw_->provider->count(), 1u);
}

TEST_F(XmppChannelProsodyTest, AnUnlistedJidIsRefusedBeforeAnySessionExists) {
  startGateway(kAllowlistConfig, settings());
  auto mallory = person("mallory");
  mallory->send("talon@localhost", "let me in");
  ASSERT_TRUE(until([&] { return !gw_->audit.ofKind("access.dm").empty(); }));
  gw_->executors.runReady();
  EXPECT_EQ(channel_->health().received, 1);
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);
  EXPECT_TRUE(mallory->inboxEmpty());

  // alice is listed.
  auto alice = person("alice");
  alice->send("talon@localhost", "hi, it is alice");
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(sessionCount(), 1);
}

TEST_F(XmppChannelProsodyTest, AStrangerUnderPairingGetsACodeThatAnOperatorApproves) {
  startGateway(kPairingConfig, settings());
  auto mallory = person("mallory");
  mallory->send("talon@localhost", "let me in");
  auto reply = mallory->next(pump());
  ASSERT_TRUE(reply);
  EXPECT_NE(reply->body.find("Your xmpp id: mallory@localhost"), std::string::npos) << reply->body;
  const std::string code = testing::pairingCodeIn(reply->body);
  ASSERT_FALSE(code.empty()) << reply->body;
  EXPECT_NE(reply->body.find("talon pairing approve xmpp " + code), std::string::npos) << reply->body;
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  EXPECT_EQ(sessionCount(), 0);

  // The operator approves the code; mallory's next message reaches the agent and is answered.
  EXPECT_EQ(testing::approvePairing(*gw_->store, "xmpp", code, gw_->clock->nowMs()), "mallory@localhost");
  mallory->send("talon@localhost", "it is mallory, approved");
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "it is mallory, approved");
  gw_->provider->call(0)->answer("Welcome, Mallory");
  auto welcome = mallory->next(pump());
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->body, "Welcome, Mallory");
  EXPECT_EQ(sessionCount(), 1);
}

TEST_F(XmppChannelProsodyTest, AServerRestartMidConversationStillDeliversTheReply) {
  startGateway(kOpenConfig, settings());
  {
    auto carol = person("carol");
    carol->send("talon@localhost", "before the restart");
  }
  ASSERT_TRUE(gw_->waitCalls(1));

  // Prosody dies while the agent thinks: the reply cannot go out now.
  server_->kill();
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }))
      << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
  std::optional<Status> probed;
  channel_->probe([&](Status s) { probed = s; });
  ASSERT_TRUE(until([&] { return probed.has_value(); }));
  EXPECT_EQ(probed->error().code, ErrorCode::kUnavailable);
  gw_->provider->call(0)->answer("first answer");
  ASSERT_TRUE(until([&] { return channel_->health().sendFailures >= 1; }));

  // While the server is down, attempts fail and back off; each one is counted.
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
  auto carol = person("carol");
  auto reply = carol->next([this] { gw_->executors.advance(250); });
  ASSERT_TRUE(reply) << channel_->health().detail;
  EXPECT_EQ(reply->body, "first answer");

  // A later message is still answered.
  carol->send("talon@localhost", "after the restart");
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("still here");
  reply = carol->next(pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "still here");
}

TEST_F(XmppChannelProsodyTest, RestartReconnectsAtOnceAndRejoinsTheRoom) {
  startGateway(kOpenConfig, settings());
  ASSERT_TRUE(channel_->restart());
  ASSERT_TRUE(until([&] { return channel_->health().reconnects == 1 && channel_->health().authenticated; }))
      << channel_->health().detail;
  auto alice = person("alice");
  ASSERT_TRUE(alice->join(kRoom, "alice", pump()));
  ASSERT_TRUE(alice->wait([&] { return alice->sees(std::string(kRoom) + "/talon"); }, pump()));
  alice->send(kRoom, "talon, still there?", "groupchat");
  ASSERT_TRUE(gw_->waitCalls(1));
}

TEST_F(XmppChannelProsodyTest, AWrongPasswordIsReportedAndRetried) {
  auto account = settings();
  account["password"] = "wrong";
  startGateway(kOpenConfig, std::move(account), false);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }))
      << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
  EXPECT_EQ(channel_->health().reconnects, 0);
  const int64_t firstFailureAt = channel_->health().sinceMs;
  gw_->executors.advance(1300);
  ASSERT_TRUE(until([&] { return channel_->health().reconnects == 1; }));
  // The test ends only once the second attempt has failed too: libstrophe 0.12.2 leaks its SCRAM
  // context (61 bytes) when a connection is released while a SASL exchange is still pending, which a
  // stop in the middle of the retry would do.
  ASSERT_TRUE(until([&] {
    const auto h = channel_->health();
    return h.state == ChannelHealth::State::kDisconnected && h.sinceMs > firstFailureAt;
  })) << channel_->health().detail;
  EXPECT_FALSE(channel_->health().authenticated);
}

TEST_F(XmppChannelProsodyTest, ARoomThatRefusesTheNickIsDegraded) {
  // alice sits in the lobby as "talon": the room refuses the channel's nick (a conflict).
  auto alice = person("alice");
  ASSERT_TRUE(alice->join(kRoom, "talon"));
  startGateway(kOpenConfig, settings(), false);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDegraded; }))
      << channel_->health().detail;
  const auto health = channel_->health();
  EXPECT_FALSE(health.authenticated);
  EXPECT_NE(health.detail.find("conflict"), std::string::npos) << health.detail;
  // Direct messages still work.
  auto carol = person("carol");
  carol->send("talon@localhost", "hi");
  ASSERT_TRUE(gw_->waitCalls(1));
}

}  // namespace
}  // namespace talon::gateway::channels
