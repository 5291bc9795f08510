// The IRC channel against a real IRC server: ngircd started by the test on a loopback port
// (tests/support/ngircd_server.h), a human played by a raw IRC client on the test thread, and the
// gateway's inbound path in process (InboundRouter over a real AgentRunner with a FakeModelProvider,
// ManualExecutors and a SimulatedClock; tests/support/gateway_components.h). The channel's socket runs
// on a real io_context; its timers (reconnect backoff, pacing, keepalive) on the manual executors, so
// the test moves time itself. Waiting for the server and the socket is bounded by a safety net only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/irc/irc_channel.h"
#include "gateway/channels/irc/irc_protocol.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "support/channel_pairing.h"
#include "support/gateway_components.h"
#include "support/irc_test_client.h"
#include "support/manual_executors.h"
#include "support/ngircd_server.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;
constexpr auto kSafetyNet = 15s;

/// Direct messages open to everyone; channels open, mention-gated (requireMention defaults to true).
constexpr std::string_view kOpenConfig = R"({
  channels: { irc: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open" } },
})";
/// OpenClaw's default DM policy: strangers get a pairing code.
constexpr std::string_view kPairingConfig = R"({
  channels: { irc: { dmPolicy: "pairing" } },
})";

class IrcChannelNgircdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::NgircdServer::start();
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
    ioThread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (channel_) channel_->stop();
    router_.reset();
    work_.reset();
    io_.stop();
    if (ioThread_.joinable()) ioThread_.join();
  }

  /// Builds the gateway components with `config`, an IRC channel as `nick` joined to #talon, and the
  /// router between them; starts the channel and waits for it to register and join.
  void startGateway(std::string_view config, const std::string& nick = "talon") {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(config);
    gw_ = std::make_unique<testing::GatewayComponents>(o);
    ASSERT_TRUE(gw_->ok());
    gate_ = std::make_unique<routing::AccessGate>(gw_->config->config.channels, gw_->store.get(), gw_->clock);
    ChannelContext context;
    context.accountId = "default";
    context.settings = json::object{{"host", "127.0.0.1"},
                                    {"port", server_->port()},
                                    {"tls", false},
                                    {"nick", nick},
                                    {"channels", json::array{"#talon"}}};
    context.executors = gw_->executors.executors();
    context.clock = gw_->clock;
    context.io = &io_;
    auto channel = IrcChannel::fromContext(context);
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_.reset(static_cast<IrcChannel*>(channel->release()));
    auto find = [this](std::string_view id) -> Channel* {
      return id == "irc" || id == "irc:default" ? channel_.get() : nullptr;
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
    ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail;
  }

  /// Runs the manual executors until `done` holds (the channel's socket works on its own thread).
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

  /// Whether `nick` is in #talon now, by the NAMES reply the human gets (membership prefixes such as
  /// '@' stripped); the human must be in #talon.
  bool botInChannel(testing::IrcTestClient& human, const std::string& nick) {
    human.send("NAMES #talon");
    bool found = false;
    auto end = human.waitFor([&](const irc::IrcLine& l) {
      if (l.command == "353") {
        std::string names = " " + l.params.back() + " ";
        for (char p : std::string("~&@%+")) {
          for (auto pos = names.find(std::string(" ") + p); pos != std::string::npos;
               pos = names.find(std::string(" ") + p))
            names.erase(pos + 1, 1);
        }
        found = found || names.find(" " + nick + " ") != std::string::npos;
      }
      return l.command == "366";
    });
    return end && found;
  }

  std::unique_ptr<testing::NgircdServer> server_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{boost::asio::make_work_guard(io_)};
  std::thread ioThread_;
  std::unique_ptr<testing::GatewayComponents> gw_;
  std::unique_ptr<routing::AccessGate> gate_;
  std::unique_ptr<IrcChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(IrcChannelNgircdTest, RegistersJoinsAndAnswersADirectMessage) {
  startGateway(kOpenConfig);
  EXPECT_EQ(channel_->currentNick(), "talon");
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_TRUE(health.authenticated);
  // The probe goes to the server and back (PING/PONG).
  std::atomic<int> probed{0};
  channel_->probe([&](Status s) { probed = s ? 1 : -1; });
  ASSERT_TRUE(until([&] { return probed != 0; }));
  EXPECT_EQ(probed, 1);

  testing::IrcTestClient alice;
  ASSERT_TRUE(alice.connect(server_->port(), "alice"));
  ASSERT_TRUE(alice.join("#talon"));
  ASSERT_TRUE(until([&] { return botInChannel(alice, "talon"); }));

  alice.say("talon", "hello bot");
  ASSERT_TRUE(gw_->waitCalls(1));
  auto call = gw_->provider->call(0);
  EXPECT_EQ(call->request.messages.back().content, "hello bot");
  call->answer("Hello Alice\nsecond line");
  auto first = alice.nextPrivmsg("talon", pump());
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "Hello Alice");
  auto second = alice.nextPrivmsg("talon", pump());
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, "second line");
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));
  health = channel_->health();
  EXPECT_EQ(health.received, 1);
  EXPECT_GT(health.lastInboundAtMs, 0);
  EXPECT_GT(health.lastOutboundAtMs, 0);

  // The session is the DM peer's: OpenClaw's sender identity nick!user@host is what the gate saw.
  auto sessions = gw_->store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
  ASSERT_TRUE(sessions);
  EXPECT_EQ(sessions->totalCount, 1);
}

TEST(IrcChannelNgircdTlsTest, RegistersOverTlsVerifyingTheServer) {
  auto server = testing::NgircdServer::start(testing::NgircdOptions{.tls = true});
  ASSERT_TRUE(server) << server.error().toString();
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread ioThread([&] { io.run(); });
  auto clock = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors(clock);
  ChannelContext context;
  context.accountId = "default";
  context.executors = executors.executors();
  context.clock = clock;
  context.io = &io;
  IrcSettings settings;
  settings.host = "localhost";
  settings.port = (*server)->tlsPort();
  settings.tls = true;
  settings.nick = settings.username = "talon";

  struct NullSink final : ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  } sink;
  auto waitFor = [&](IrcChannel& channel, auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + kSafetyNet;
    while (std::chrono::steady_clock::now() < deadline && !pred(channel.health())) {
      executors.runReady();
      std::this_thread::sleep_for(2ms);
    }
    return pred(channel.health());
  };

  // The server's certificate is not in the system trust store: the handshake is refused.
  auto untrusted = IrcChannel::create(context, settings);
  ASSERT_TRUE(untrusted);
  ASSERT_TRUE((*untrusted)->start(sink));
  ASSERT_TRUE(
      waitFor(**untrusted, [](const ChannelHealth& h) { return h.state == ChannelHealth::State::kDisconnected; }));
  EXPECT_NE((*untrusted)->health().detail.find("TLS"), std::string::npos) << (*untrusted)->health().detail;
  (*untrusted)->stop();

  // Trusted: registered over TLS.
  auto trusted = IrcChannel::create(context, settings, {}, (*server)->certificatePem());
  ASSERT_TRUE(trusted);
  ASSERT_TRUE((*trusted)->start(sink));
  ASSERT_TRUE(waitFor(**trusted, [](const ChannelHealth& h) { return h.authenticated; }))
      << (*trusted)->health().detail;
  EXPECT_EQ((*trusted)->currentNick(), "talon");
  (*trusted)->stop();

  work.reset();
  io.stop();
  ioThread.join();
}

TEST_F(IrcChannelNgircdTest, ChannelMessagesNeedAMention) {
  startGateway(kOpenConfig);
  testing::IrcTestClient bob;
  ASSERT_TRUE(bob.connect(server_->port(), "bob"));
  ASSERT_TRUE(bob.join("#talon"));
  ASSERT_TRUE(until([&] { return botInChannel(bob, "talon"); }));

  bob.say("#talon", "just chatting among humans");
  // The channel counts the message on its own thread before the gateway's executors take it: wait for
  // the refusal itself, not only for the count.
  ASSERT_TRUE(until([&] { return !gw_->audit.ofKind("access.group").empty(); }));
  EXPECT_EQ(channel_->health().received, 1);
  EXPECT_EQ(gw_->provider->count(), 0u);  // refused: mention_required

  bob.say("#talon", "talon: what is the answer?");
  ASSERT_TRUE(gw_->waitCalls(1));
  EXPECT_EQ(gw_->provider->call(0)->request.messages.back().content, "talon: what is the answer?");
  gw_->provider->call(0)->answer("42");
  auto reply = bob.nextPrivmsg("talon", pump(), "#talon");
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, "42");
}

TEST_F(IrcChannelNgircdTest, ANickCollisionFallsBackToAnAlternative) {
  testing::IrcTestClient squatter;
  ASSERT_TRUE(squatter.connect(server_->port(), "talon"));
  startGateway(kOpenConfig);
  EXPECT_EQ(channel_->currentNick(), "talon_");
  ASSERT_TRUE(squatter.join("#talon"));
  ASSERT_TRUE(until([&] { return botInChannel(squatter, "talon_"); }));

  // Mentions follow the nick the server gave the bot.
  squatter.say("#talon", "talon_, are you there?");
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("yes");
  auto reply = squatter.nextPrivmsg("talon_", pump(), "#talon");
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, "yes");
}

TEST_F(IrcChannelNgircdTest, ReconnectsAfterTheServerRestartsAndDeliversTheNextReply) {
  startGateway(kOpenConfig);
  testing::IrcTestClient carol;
  ASSERT_TRUE(carol.connect(server_->port(), "carol"));
  carol.say("talon", "before the restart");
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("first answer");
  ASSERT_TRUE(carol.nextPrivmsg("talon", pump()));

  server_->kill();
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }));
  EXPECT_FALSE(channel_->health().authenticated);
  bool probeFailed = false;
  channel_->probe([&](Status s) { probeFailed = !s; });
  EXPECT_TRUE(probeFailed);

  // While the server is down, attempts fail and back off; each one is counted.
  gw_->executors.advance(1300);  // the first delay: 1 s ± 20 %
  ASSERT_TRUE(until([&] {
    return channel_->health().reconnects == 1 && channel_->health().state == ChannelHealth::State::kDisconnected;
  }));

  ASSERT_TRUE(server_->restart());
  gw_->executors.advance(2500);  // the second delay: 2 s ± 20 %
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; })) << channel_->health().detail;
  EXPECT_EQ(channel_->health().reconnects, 2);
  EXPECT_EQ(channel_->health().state, ChannelHealth::State::kConnected);

  ASSERT_TRUE(carol.connect(server_->port(), "carol"));
  carol.say("talon", "after the restart");
  ASSERT_TRUE(gw_->waitCalls(2));
  gw_->provider->call(1)->answer("still here");
  auto reply = carol.nextPrivmsg("talon", pump());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, "still here");
}

TEST_F(IrcChannelNgircdTest, AStrangerUnderPairingGetsACodeThatAnOperatorApproves) {
  startGateway(kPairingConfig);
  testing::IrcTestClient mallory;
  ASSERT_TRUE(mallory.connect(server_->port(), "mallory"));
  mallory.say("talon", "let me in");
  // The pairing reply has ten lines: five at once, the rest paced (time moves while the human waits).
  std::string reply;
  while (reply.find("talon pairing approve irc") == std::string::npos) {
    auto line = mallory.nextPrivmsg("talon", [this] { gw_->executors.advance(500); });
    ASSERT_TRUE(line) << reply;
    reply += *line + "\n";
  }
  EXPECT_NE(reply.find("Your irc id: mallory!~mallory@127.0.0.1"), std::string::npos) << reply;
  gw_->executors.runReady();
  EXPECT_EQ(gw_->provider->count(), 0u);
  auto sessions = gw_->store->sessions().list(store::SessionQuery{std::nullopt, 10, 0});
  ASSERT_TRUE(sessions);
  EXPECT_EQ(sessions->totalCount, 0);
  bool audited = false;
  for (const auto& e : gw_->audit.events()) audited = audited || e.kind == "access.dm";
  EXPECT_TRUE(audited);

  // The operator approves the code; mallory's next message reaches the agent and is answered.
  const std::string code = testing::pairingCodeIn(reply);
  ASSERT_FALSE(code.empty()) << reply;
  EXPECT_EQ(testing::approvePairing(*gw_->store, "irc", code, gw_->clock->nowMs()), "mallory!~mallory@127.0.0.1");
  mallory.say("talon", "approved now?");
  ASSERT_TRUE(gw_->waitCalls(1));
  gw_->provider->call(0)->answer("welcome, mallory");
  // The rest of the paced pairing reply may come first.
  std::string got;
  for (int i = 0; i < 20 && got != "welcome, mallory"; ++i) {
    auto line = mallory.nextPrivmsg("talon", [this] { gw_->executors.advance(500); });
    ASSERT_TRUE(line) << got;
    got = *line;
  }
  EXPECT_EQ(got, "welcome, mallory");
}

TEST_F(IrcChannelNgircdTest, LongRepliesAreSplitAndPaced) {
  startGateway(kOpenConfig);
  testing::IrcTestClient dave;
  ASSERT_TRUE(dave.connect(server_->port(), "dave"));
  dave.say("talon", "talk a lot");
  ASSERT_TRUE(gw_->waitCalls(1));
  // Seven lines: five leave at once (the burst), the rest one per 2 s of (simulated) time.
  std::string text;
  for (int i = 1; i <= 7; ++i) text += "line " + std::to_string(i) + "\n";
  gw_->provider->call(0)->answer(text);
  for (int i = 1; i <= 5; ++i) {
    auto got = dave.nextPrivmsg("talon", pump());
    ASSERT_TRUE(got) << i;
    EXPECT_EQ(*got, "line " + std::to_string(i));
  }
  EXPECT_EQ(channel_->health().sent, 0);  // not confirmed before its last line was written
  gw_->executors.advance(2000);
  auto sixth = dave.nextPrivmsg("talon", pump());
  ASSERT_TRUE(sixth);
  EXPECT_EQ(*sixth, "line 6");
  gw_->executors.advance(2000);
  auto seventh = dave.nextPrivmsg("talon", pump());
  ASSERT_TRUE(seventh);
  EXPECT_EQ(*seventh, "line 7");
  ASSERT_TRUE(until([&] { return channel_->health().sent == 1; }));

  // One line longer than IRC carries arrives in pieces that each fit the 512-byte limit.
  dave.say("talon", "and now one long line");
  ASSERT_TRUE(gw_->waitCalls(2));
  std::string longText;
  for (int i = 0; i < 120; ++i) longText += "w" + std::to_string(i) + " ";
  longText.pop_back();
  gw_->provider->call(1)->answer(longText);
  std::string joined;
  while (joined.size() < longText.size()) {
    gw_->executors.advance(2000);
    auto piece = dave.nextPrivmsg("talon", pump());
    ASSERT_TRUE(piece);
    EXPECT_LE(piece->size() + std::string(":talon!~talon@127.0.0.1 PRIVMSG dave :\r\n").size(), 512u);
    joined += (joined.empty() ? "" : " ") + *piece;
  }
  EXPECT_EQ(joined, longText);
}

}  // namespace
}  // namespace talon::gateway::channels
