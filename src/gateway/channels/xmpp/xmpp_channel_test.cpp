// The XMPP channel's settings, its message mapping and its behaviour without a server, hermetic. The
// real-server tests are in tests/xmpp/ (Prosody).
#include "gateway/channels/xmpp/xmpp_channel.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "support/manual_executors.h"

namespace talon::gateway::channels {
namespace {

using namespace std::chrono_literals;

Result<XmppSettings> xmppParse(const std::string& json) {
  auto v = parseJson(json);
  EXPECT_TRUE(v && v->is_object()) << json;
  return XmppSettings::parse("work", v->as_object());
}

TEST(XmppSettingsTest, DefaultsAndValues) {
  auto s = xmppParse(R"({"jid": "Talon@Example.org", "password": "pw"})");
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_EQ(s->jid.bare(), "talon@example.org");
  EXPECT_EQ(s->host(), "example.org");
  EXPECT_EQ(s->port, 5222);
  EXPECT_EQ(s->resource, "talon");
  EXPECT_FALSE(s->allowPlaintext);
  EXPECT_EQ(s->nick, "talon");
  EXPECT_TRUE(s->rooms.empty());

  auto full = xmppParse(R"({"jid": "t@localhost", "password": "pw", "server": "127.0.0.1", "port": 15222,
                        "allowPlaintext": true, "resource": "gw", "nick": "Bot", "enabled": true, "name": "Work",
                        "rooms": ["Ops@Conference.localhost", {"jid": "dev@conference.localhost", "nick": "b2"}]})");
  ASSERT_TRUE(full) << full.error().toString();
  EXPECT_EQ(full->host(), "127.0.0.1");
  EXPECT_EQ(full->port, 15222);
  EXPECT_TRUE(full->allowPlaintext);
  ASSERT_EQ(full->rooms.size(), 2u);
  EXPECT_EQ(full->rooms[0].jid, "ops@conference.localhost");
  EXPECT_EQ(full->rooms[0].nick, "Bot");  // the account's nick
  EXPECT_EQ(full->rooms[1].nick, "b2");
}

TEST(XmppSettingsTest, BadValuesNameTheirKey) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"password": "pw"})", "jid"},
      {R"({"jid": "example.org", "password": "pw"})", "jid"},
      {R"({"jid": "t@example.org"})", "password"},
      {R"({"jid": "t@example.org", "password": "pw", "port": 0})", "port"},
      {R"({"jid": "t@example.org", "password": "pw", "resource": "a/b"})", "resource"},
      {R"({"jid": "t@example.org", "password": "pw", "allowPlaintext": true})", "allowPlaintext"},
      {R"({"jid": "t@localhost", "password": "pw", "server": "xmpp.example.org", "allowPlaintext": true})",
       "allowPlaintext"},
      {R"({"jid": "t@example.org", "password": "pw", "caFile": "/nonexistent/ca.pem"})", "caFile"},
      {R"({"jid": "t@example.org", "password": "pw", "rooms": [{"jid": "r@c.example.org", "nick": ""}]})",
       "rooms[0].nick"},
      {R"({"jid": "t@example.org", "password": "pw", "tls": false})", "tls"},
  };
  for (const auto& [json, key] : cases) {
    auto s = xmppParse(json);
    ASSERT_FALSE(s) << json;
    EXPECT_EQ(s.error().code, ErrorCode::kConfigInvalid);
    EXPECT_NE(s.error().message.find(std::string("channels.xmpp.accounts.work.") + key), std::string::npos)
        << s.error().message;
  }
  // Plaintext is accepted for this machine's loopback.
  EXPECT_TRUE(
      xmppParse(R"({"jid": "t@example.org", "password": "pw", "server": "127.0.0.1", "allowPlaintext": true})"));
  EXPECT_TRUE(xmppParse(R"({"jid": "t@localhost", "password": "pw", "allowPlaintext": true})"));
}

const std::vector<config::XmppRoom> kRooms = {{"lobby@conference.localhost", "talon"}};

std::optional<routing::InboundMessage> map(const XmppStanza& s) {
  auto r = mapXmppMessage(kRooms, s);
  EXPECT_TRUE(r) << r.error().toString();
  return r ? *r : std::nullopt;
}

TEST(XmppMappingTest, DirectMessagesAreConversationsWithTheBareJid) {
  auto m = map(XmppStanza{"chat", "Alice@Localhost/phone", "hello", false});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "xmpp");
  EXPECT_EQ(m->peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(m->peer.id, "alice@localhost");
  EXPECT_EQ(m->sender, "alice@localhost");
  EXPECT_EQ(m->text, "hello");
  EXPECT_FALSE(m->mentioned.has_value());
  // type normal (or none) is a message too; a message stored while we were offline still counts.
  EXPECT_TRUE(map(XmppStanza{"", "alice@localhost", "hi", true}));
  // Nothing to answer: no body, an error, a headline.
  EXPECT_FALSE(map(XmppStanza{"chat", "alice@localhost", "", false}));
  EXPECT_FALSE(map(XmppStanza{"chat", "alice@localhost", " \n", false}));
  EXPECT_FALSE(map(XmppStanza{"error", "alice@localhost", "x", false}));
  EXPECT_FALSE(map(XmppStanza{"headline", "alice@localhost", "x", false}));
  // A private message through a room names an occupant, not a person: not routed.
  EXPECT_FALSE(map(XmppStanza{"chat", "lobby@conference.localhost/bob", "psst", false}));
  // A sender that is no JID is an error (logged, dropped).
  EXPECT_FALSE(mapXmppMessage(kRooms, XmppStanza{"chat", "not a jid", "x", false}));
}

TEST(XmppMappingTest, RoomMessagesAreGroupConversationsWithMentionDetection) {
  auto m = map(XmppStanza{"groupchat", "lobby@conference.localhost/bob", "talon: status?", false});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->peer.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(m->peer.id, "lobby@conference.localhost");
  EXPECT_EQ(m->sender, "lobby@conference.localhost/bob");
  EXPECT_EQ(m->mentioned, std::optional<bool>(true));
  m = map(XmppStanza{"groupchat", "lobby@conference.localhost/bob", "talonic acid", false});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mentioned, std::optional<bool>(false));
  // Our own echo, the history replay, the room itself, and rooms we are not in.
  EXPECT_FALSE(map(XmppStanza{"groupchat", "lobby@conference.localhost/talon", "42", false}));
  EXPECT_FALSE(map(XmppStanza{"groupchat", "lobby@conference.localhost/bob", "old", true}));
  EXPECT_FALSE(map(XmppStanza{"groupchat", "lobby@conference.localhost", "subject", false}));
  EXPECT_FALSE(map(XmppStanza{"groupchat", "other@conference.localhost/bob", "talon: hi", false}));
}

uint16_t xmppClosedPort() {
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

TEST(XmppChannelTest, AServerThatCannotBeReachedIsRetriedWithBackoff) {
  auto clock = std::make_shared<SimulatedClock>();
  testing::ManualExecutors executors(clock);
  ChannelContext context;
  context.accountId = "work";
  context.executors = executors.executors();
  context.clock = clock;
  auto settings =
      xmppParse(R"({"jid": "t@localhost", "password": "pw", "server": "127.0.0.1", "allowPlaintext": true})");
  ASSERT_TRUE(settings);
  settings->port = xmppClosedPort();
  auto channel = XmppChannel::create(context, *settings);
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

  // Sends and probes fail at once while disconnected; a peer that is no JID is refused as such.
  std::optional<Status> sent, probed, badPeer;
  OutboundMessage m;
  m.peer = routing::Peer{routing::PeerKind::kDirect, "alice@localhost"};
  m.text = "hi";
  (*channel)->send(m, [&](Status s) { sent = s; });
  (*channel)->probe([&](Status s) { probed = s; });
  m.peer.id = "not a jid";
  (*channel)->send(m, [&](Status s) { badPeer = s; });
  executors.runReady();
  ASSERT_TRUE(sent && probed && badPeer);
  EXPECT_EQ(sent->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(probed->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(badPeer->error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*channel)->health().sendFailures, 2);

  executors.advance(1300);  // the first delay: 1 s ± 20 %
  ASSERT_TRUE(until(
      [&](const ChannelHealth& h) { return h.reconnects == 1 && h.state == ChannelHealth::State::kDisconnected; }));
  (*channel)->stop();
  EXPECT_EQ((*channel)->health().state, ChannelHealth::State::kStopped);
  EXPECT_FALSE((*channel)->restart());
  (*channel)->stop();  // idempotent
}

}  // namespace
}  // namespace talon::gateway::channels
