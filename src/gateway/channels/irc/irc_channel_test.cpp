// The IRC channel's settings and its liveness rules, hermetic: a scripted server on a loopback socket
// (the test writes the server's lines and reads the channel's), the channel's timers on ManualExecutors
// over a SimulatedClock. The real-server tests are in tests/irc/ (ngircd).
#include "gateway/channels/irc/irc_channel.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <thread>

#include "support/io_thread.h"
#include "support/manual_executors.h"
#include "support/temp_dir.h"

namespace talon::gateway::channels {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

Result<IrcSettings> ircParse(const std::string& json5) {
  auto v = parseJson(json5);
  EXPECT_TRUE(v && v->is_object());
  return IrcSettings::parse("work", v->as_object());
}

TEST(IrcSettingsTest, DefaultsFollowOpenClaw) {
  auto s = ircParse(R"({"host": "irc.example.net", "nick": "talon"})");
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(s->port, 6697);
  EXPECT_EQ(s->username, "talon");
  EXPECT_EQ(s->realname, "Talon");
  EXPECT_TRUE(s->channels.empty());
  EXPECT_TRUE(s->nickserv.enabled);
  EXPECT_EQ(s->nickserv.service, "NickServ");

  auto plain = ircParse(R"({"host": "h", "nick": "n", "tls": false, "channels": ["#a", "&b"],
                        "nickserv": {"password": "pw", "register": true, "registerEmail": "bot@example.com"}})");
  ASSERT_TRUE(plain) << plain.error().toString();
  EXPECT_EQ(plain->port, 6667);
  EXPECT_EQ(plain->channels, (std::vector<std::string>{"#a", "&b"}));
  EXPECT_TRUE(plain->nickserv.registerNick);
}

TEST(IrcSettingsTest, PasswordFilesAreReadAndInlinePasswordsWin) {
  testing::TempDir dir("talon-irc");
  {
    std::ofstream(dir / "server.pass") << "from-file\r\nsecond line ignored\n";
    std::ofstream(dir / "ns.pass") << "ns-from-file\n";
  }
  const std::string server = (dir / "server.pass").string();
  const std::string ns = (dir / "ns.pass").string();
  auto s = ircParse(R"({"host": "h", "nick": "n", "textChunkLimit": 200, "passwordFile": ")" + server +
                    R"(", "nickserv": {"passwordFile": ")" + ns + R"("}})");
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_EQ(s->password, "from-file");
  EXPECT_EQ(s->nickserv.password, "ns-from-file");
  EXPECT_EQ(s->textChunkLimit, 200u);

  auto inlineWins =
      ircParse(R"({"host": "h", "nick": "n", "password": "inline", "passwordFile": ")" + server + R"("})");
  ASSERT_TRUE(inlineWins);
  EXPECT_EQ(inlineWins->password, "inline");

  for (const std::string& bad : {dir.path().string(), (dir / "missing").string()}) {
    auto r = ircParse(R"({"host": "h", "nick": "n", "passwordFile": ")" + bad + R"("})");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message.rfind("channels.irc.accounts.work.passwordFile:", 0), 0u) << r.error().message;
  }
}

TEST(IrcSettingsTest, BadValuesNameTheirKey) {
  struct Case {
    const char* json;
    const char* key;
  };
  for (const auto& c : {
           Case{R"({"nick": "n"})", "channels.irc.accounts.work.host"},
           Case{R"({"host": "h"})", "channels.irc.accounts.work.nick"},
           Case{R"({"host": "h", "nick": "a b"})", "channels.irc.accounts.work.nick"},
           Case{R"({"host": "h", "nick": "n", "port": 0})", "channels.irc.accounts.work.port"},
           Case{R"({"host": "h", "nick": "n", "port": 70000})", "channels.irc.accounts.work.port"},
           Case{R"({"host": "h", "nick": "n", "tls": "yes"})", "channels.irc.accounts.work.tls"},
           Case{R"({"host": "h", "nick": "n", "channels": ["ops"]})", "channels.irc.accounts.work.channels"},
           Case{R"({"host": "h", "nick": "n", "channels": ["#a,#b"]})", "channels.irc.accounts.work.channels"},
           Case{R"({"host": "h", "nick": "n", "password": "a\r\nQUIT"})", "channels.irc.accounts.work.password"},
           Case{R"({"host": "h", "nick": "n", "nickserv": {"register": true, "password": "p"}})",
                "channels.irc.accounts.work.nickserv.registerEmail"},
           Case{R"({"host": "h", "nick": "n", "nickserv": {"passwordFile": "/x"}})",
                "channels.irc.accounts.work.nickserv.passwordFile"},
           Case{R"({"host": "h", "nick": "n", "nickserv": {"ghost": true}})",
                "channels.irc.accounts.work.nickserv.ghost"},
           Case{R"({"host": "h", "nick": "n", "textChunkLimit": 0})", "channels.irc.accounts.work.textChunkLimit"},
           Case{R"({"host": "h", "nick": "n", "nickserv": {"password": {"source": "env", "id": "X"}}})",
                "channels.irc.accounts.work.nickserv.password"},
       }) {
    auto s = ircParse(c.json);
    ASSERT_FALSE(s) << c.json;
    EXPECT_EQ(s.error().code, ErrorCode::kConfigInvalid) << c.json;
    EXPECT_EQ(s.error().message.rfind(std::string(c.key) + ":", 0), 0u) << s.error().message;
  }
}

TEST(IrcChannelFactoryTest, NeedsTheGatewaysIoContext) {
  auto clock = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors(clock);
  ChannelContext context;
  context.accountId = "default";
  context.settings = json::object{{"host", "h"}, {"nick", "n"}};
  context.executors = executors.executors();
  context.clock = clock;
  auto channel = IrcChannel::fromContext(context);
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().code, ErrorCode::kFailedPrecondition);

  // Registered under OpenClaw's id; bad settings are the factory's error.
  ChannelRegistry registry;
  ASSERT_TRUE(registerBuiltinChannels(registry));
  context.settings = json::object{{"nick", "n"}};
  auto viaRegistry = registry.create("irc", context);
  ASSERT_FALSE(viaRegistry);
  EXPECT_EQ(viaRegistry.error().code, ErrorCode::kConfigInvalid);
}

/// A sink that records what arrives.
class RecordingSink final : public ChannelSink {
 public:
  void onInbound(std::string_view, routing::InboundMessage message) override {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(message));
  }
  std::vector<routing::InboundMessage> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<routing::InboundMessage> messages_;
};

/// A scripted IRC server: accepts connections one at a time; the test reads and writes lines.
class ScriptedServer {
 public:
  ScriptedServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    socket_.emplace(io_);
    buffer_.consume(buffer_.size());
    acceptor_.accept(*socket_);
  }
  std::string readLine() {
    asio::read_until(*socket_, buffer_, "\r\n");
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  /// Reads lines until one starts with `prefix`; returns it ("" when the connection ends first).
  std::string readUntil(std::string_view prefix) {
    for (;;) {
      boost::system::error_code ec;
      asio::read_until(*socket_, buffer_, "\r\n", ec);
      if (ec) return "";
      std::istream in(&buffer_);
      std::string line;
      std::getline(in, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind(prefix, 0) == 0) return line;
    }
  }
  void write(const std::string& line) { asio::write(*socket_, asio::buffer(line + "\r\n")); }
  void close() {
    boost::system::error_code ec;
    socket_->shutdown(tcp::socket::shutdown_both, ec);
    socket_->close(ec);
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<tcp::socket> socket_;
  asio::streambuf buffer_;
};

class IrcChannelLivenessTest : public ::testing::Test {
 protected:
  void SetUp() override { io_.start(); }
  void TearDown() override {
    if (channel_) channel_->stop();
    io_.stop();
  }

  void startChannel(json::object extra = {}) {
    ChannelContext context;
    context.accountId = "default";
    context.settings = json::object{{"host", "127.0.0.1"},
                                    {"port", server_.port()},
                                    {"tls", false},
                                    {"nick", "talon"},
                                    {"channels", json::array{"#ops"}}};
    for (auto& [k, v] : extra) context.settings[k] = v;
    context.executors = executors_.executors();
    context.clock = clock_;
    context.io = &io_.io();
    auto settings = IrcSettings::parse("default", context.settings);
    ASSERT_TRUE(settings) << settings.error().toString();
    auto channel = IrcChannel::create(context, std::move(*settings));
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_ = std::move(*channel);
    ASSERT_TRUE(channel_->start(sink_));
  }

  /// Accepts the channel's connection and registers it as `nick`.
  void acceptAndWelcome(const std::string& nick = "talon") {
    server_.accept();
    EXPECT_EQ(server_.readLine(), "NICK talon");
    EXPECT_EQ(server_.readLine(), "USER talon 0 * :Talon");
    server_.write(":srv 001 " + nick + " :Welcome to the Internet Relay Network " + nick + "!~talon@127.0.0.1");
    EXPECT_EQ(server_.readLine(), "JOIN #ops");
  }

  bool until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      executors_.runReady();
      if (done()) return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors_{clock_};
  testing::IoThread io_;
  ScriptedServer server_;
  RecordingSink sink_;
  std::unique_ptr<IrcChannel> channel_;
};

TEST_F(IrcChannelLivenessTest, AnswersPingAndParsesMessages) {
  startChannel(json::object{{"password", "server-secret"}});
  server_.accept();
  EXPECT_EQ(server_.readLine(), "PASS server-secret");
  EXPECT_EQ(server_.readLine(), "NICK talon");
  EXPECT_EQ(server_.readLine(), "USER talon 0 * :Talon");
  EXPECT_FALSE(channel_->health().authenticated);
  server_.write(":srv 001 talon :Welcome to the Internet Relay Network talon!~talon@127.0.0.1");
  EXPECT_EQ(server_.readLine(), "JOIN #ops");
  EXPECT_TRUE(channel_->health().authenticated);

  server_.write("PING :srv-check");
  EXPECT_EQ(server_.readLine(), "PONG :srv-check");

  server_.write("@time=2026-01-01T00:00:00Z :Alice!~alice@host.example PRIVMSG talon :\x02hi\x02 there");
  server_.write(
      ":bob!~bob@h PRIVMSG #ops :\x01"
      "ACTION waves at talon\x01");
  server_.write(":bob!~bob@h PRIVMSG talon :\x01VERSION\x01");  // ignored
  server_.write(":bob!~bob@h PRIVMSG #ops :talons everywhere");
  server_.write(":talon!~talon@127.0.0.1 PRIVMSG #ops :my own echo");  // ignored
  ASSERT_TRUE(until([&] { return sink_.messages().size() == 3; }));
  auto m = sink_.messages();
  EXPECT_EQ(m[0].channel, "irc");
  EXPECT_EQ(m[0].accountId, "default");
  EXPECT_EQ(m[0].peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(m[0].peer.id, "Alice");
  EXPECT_EQ(m[0].sender, "alice!~alice@host.example");
  EXPECT_EQ(m[0].text, "hi there");
  EXPECT_FALSE(m[0].mentioned.has_value());
  EXPECT_EQ(m[1].peer.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(m[1].peer.id, "#ops");
  EXPECT_EQ(m[1].text, "* bob waves at talon");
  EXPECT_EQ(m[1].mentioned, true);
  EXPECT_EQ(m[2].mentioned, false);
  EXPECT_EQ(channel_->health().received, 3);
}

TEST_F(IrcChannelLivenessTest, ASilentServerIsDetectedAndReplaced) {
  startChannel();
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  // 90 s without traffic: the channel asks.
  executors_.advance(30'000);
  executors_.advance(30'000);
  executors_.advance(30'000);
  EXPECT_EQ(server_.readLine(), "PING :talon-keepalive");
  EXPECT_EQ(channel_->health().reconnects, 0);
  // No answer within 60 s: the connection is dead, closed and retried with backoff.
  executors_.advance(30'000);
  executors_.advance(30'000);
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }));
  auto health = channel_->health();
  EXPECT_FALSE(health.authenticated);
  EXPECT_NE(health.detail.find("PING"), std::string::npos) << health.detail;
  executors_.advance(1'300);  // the first backoff delay: 1 s ± 20 %
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  EXPECT_EQ(channel_->health().reconnects, 1);
}

TEST_F(IrcChannelLivenessTest, OnlyAStableConnectionResetsTheBackoff) {
  startChannel();
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  auto dropped = [&] { return channel_->health().state == ChannelHealth::State::kDisconnected; };

  // Welcomed, then dropped at once: the first failure waits 1 s ± 20 %.
  server_.close();
  ASSERT_TRUE(until(dropped));
  executors_.advance(1'300);
  EXPECT_EQ(channel_->health().reconnects, 1);
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));

  // Dropped again right after the welcome: the second failure waits 2 s ± 20 %, not 1 s.
  server_.close();
  ASSERT_TRUE(until(dropped));
  executors_.advance(1'300);
  EXPECT_EQ(channel_->health().reconnects, 1);
  executors_.advance(1'200);
  EXPECT_EQ(channel_->health().reconnects, 2);
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));

  // Registered for 60 s, then dropped: the backoff starts over at 1 s.
  executors_.advance(60'000);
  server_.close();
  ASSERT_TRUE(until(dropped));
  executors_.advance(1'300);
  EXPECT_EQ(channel_->health().reconnects, 3);
}

TEST_F(IrcChannelLivenessTest, AServerThatAnswersStaysConnected) {
  startChannel();
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  executors_.advance(90'000);
  EXPECT_EQ(server_.readLine(), "PING :talon-keepalive");
  server_.write(":srv PONG srv :talon-keepalive");
  server_.write(":bob!~bob@h PRIVMSG talon :after the pong");  // lines are handled in order
  ASSERT_TRUE(until([&] { return sink_.messages().size() == 1; }));
  executors_.advance(30'000);
  executors_.advance(30'000);
  executors_.runReady();
  EXPECT_TRUE(channel_->health().authenticated);
  EXPECT_EQ(channel_->health().state, ChannelHealth::State::kConnected);
}

TEST_F(IrcChannelLivenessTest, ProbesGoToTheServerAndBack) {
  startChannel();
  std::optional<Status> early;
  channel_->probe([&](Status s) { early = std::move(s); });
  ASSERT_TRUE(early);  // not registered yet: refused at once
  ASSERT_FALSE(*early);
  EXPECT_EQ(early->error().code, ErrorCode::kUnavailable);

  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  std::mutex mu;
  std::vector<Status> results;
  auto record = [&](Status s) {
    std::lock_guard lock(mu);
    results.push_back(std::move(s));
  };
  auto count = [&] {
    std::lock_guard lock(mu);
    return results.size();
  };
  channel_->probe(record);
  EXPECT_EQ(server_.readLine(), "PING :talon-probe-1");
  server_.write(":srv PONG srv :talon-probe-1");
  ASSERT_TRUE(until([&] { return count() == 1; }));
  EXPECT_TRUE(results[0]);

  // A PONG that never comes: the probe times out (10 s).
  channel_->probe(record);
  EXPECT_EQ(server_.readLine(), "PING :talon-probe-2");
  executors_.advance(10'000);
  ASSERT_TRUE(until([&] { return count() == 2; }));
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, ErrorCode::kDeadlineExceeded);

  // A probe pending when the channel stops ends with kCancelled.
  channel_->probe(record);
  EXPECT_EQ(server_.readLine(), "PING :talon-probe-3");
  channel_->stop();
  ASSERT_EQ(count(), 3u);
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(results[2].error().code, ErrorCode::kCancelled);
}

TEST_F(IrcChannelLivenessTest, AChannelItCannotJoinOrIsKickedFromDegradesTheChannel) {
  startChannel();
  acceptAndWelcome();
  ASSERT_TRUE(until([&] { return channel_->health().authenticated; }));
  EXPECT_EQ(channel_->health().state, ChannelHealth::State::kConnected);
  server_.write(":srv 474 talon #ops :Cannot join channel (+b) -- Banned");
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDegraded; }));
  EXPECT_EQ(channel_->health().detail, "cannot join #ops (474): Cannot join channel (+b) -- Banned");
  EXPECT_TRUE(channel_->health().authenticated);

  server_.write(":talon!~talon@127.0.0.1 JOIN :#OPS");  // channel names compare case-insensitively
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kConnected; }));

  server_.write(":alice!~a@h KICK #ops talon :behave");
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDegraded; }));
  EXPECT_EQ(channel_->health().detail, "kicked from #ops by alice: behave");
}

TEST_F(IrcChannelLivenessTest, NickCollisionsTryAlternativesThenGiveUp) {
  startChannel();
  server_.accept();
  EXPECT_EQ(server_.readLine(), "NICK talon");
  EXPECT_EQ(server_.readLine(), "USER talon 0 * :Talon");
  for (const char* alt : {"talon_", "talon__", "talon___"}) {
    server_.write(":srv 433 * talon :Nickname already in use");
    EXPECT_EQ(server_.readLine(), std::string("NICK ") + alt);
  }
  server_.write(":srv 433 * talon___ :Nickname already in use");
  ASSERT_TRUE(until([&] { return channel_->health().state == ChannelHealth::State::kDisconnected; }));
  EXPECT_NE(channel_->health().detail.find("in use"), std::string::npos) << channel_->health().detail;
}

TEST_F(IrcChannelLivenessTest, SendFailsWhileNotRegisteredAndValidatesTheTarget) {
  startChannel();
  std::optional<Status> result;
  OutboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, "alice"};
  m.text = "hi";
  channel_->send(m, [&](Status s) { result = std::move(s); });
  executors_.runReady();
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().code, ErrorCode::kUnavailable);

  for (auto peer :
       {routing::Peer{routing::PeerKind::kDirect, "a b"}, routing::Peer{routing::PeerKind::kDirect, ""},
        routing::Peer{routing::PeerKind::kGroup, "alice"}, routing::Peer{routing::PeerKind::kDirect, "#ops"}}) {
    result.reset();
    m.peer = peer;
    channel_->send(m, [&](Status s) { result = std::move(s); });
    executors_.runReady();
    ASSERT_TRUE(result) << peer.id;
    ASSERT_FALSE(*result) << peer.id;
    EXPECT_EQ(result->error().code, ErrorCode::kInvalidArgument) << peer.id;
  }
}

}  // namespace
}  // namespace talon::gateway::channels
