// The Telegram channel against a local Bot API server (tests/support/telegram_bot_peer.h) over the real
// HTTP client, wired to the gateway's inbound path (InboundRouter over a real AgentRunner with a model the
// test answers; tests/support/gateway_components.h). Channel logic runs on the test thread through
// ManualExecutors, and its retry and 429 timers run in simulated time: nothing sleeps.
#include "gateway/channels/telegram/telegram_channel.h"

#include <gtest/gtest.h>

#include <fstream>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "support/channel_pairing.h"
#include "support/gateway_components.h"
#include "support/io_thread.h"
#include "support/telegram_bot_peer.h"

namespace talon::gateway::channels {
namespace {

constexpr std::string_view kTelegramConfig = R"({
  bindings: [ { agentId: "main", match: { channel: "telegram", accountId: "*" } } ],
  channels: {
    telegram: {
      accounts: {
        default: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open", groups: { "*": { requireMention: true } } },
        strict: { dmPolicy: "pairing" },
      },
    },
  },
})";

constexpr int64_t kGroup = -1001234567890;

class TelegramChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    auto peer = testing::TelegramBotPeer::create();
    ASSERT_TRUE(peer) << peer.error().toString();
    peer_ = std::move(*peer);
    auto find = [this](std::string_view id) -> Channel* {
      return channel_ && id == channel_->channelId() ? channel_.get() : nullptr;
    };
    auto outbound = OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                               gw_.executors.executors(), gw_.clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner, gw_.metrics,
                                        gw_.audit, gw_.executors.executors(), find, *gw_.outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);
    io_.start();
  }
  void TearDown() override {
    if (channel_) channel_->stop();
    peer_.reset();
    io_.stop();
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kTelegramConfig);
    return o;
  }

  ChannelContext context(const std::string& account, json::object settings) {
    return ChannelContext{account, std::move(settings), gw_.executors.executors(), gw_.clock, nullptr, http_};
  }
  json::object settings() const {
    return json::object{{"botToken", peer_->options().token}, {"apiRoot", peer_->apiRoot()}};
  }

  static TelegramTuning tuning() {
    TelegramTuning t;
    t.backoff.initial = std::chrono::milliseconds(1000);
    t.backoff.jitter = 0.2;
    t.backoff.breakerThreshold = 3;
    return t;
  }

  /// Creates and starts the channel of `account` and runs it until polling (getMe and deleteWebhook done).
  void startChannel(const std::string& account = "default", json::object s = {}) {
    auto channel = TelegramChannel::create(context(account, s.empty() ? settings() : std::move(s)), tuning());
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_ = std::move(*channel);
    ASSERT_TRUE(channel_->start(*router_));
  }
  bool connected() {
    return gw_.executors.runUntil([&] { return channel_->health().state == ChannelHealth::State::kConnected; });
  }

  bool sent(std::size_t n) {
    return gw_.executors.runUntil([&] { return channel_->health().sent >= static_cast<int64_t>(n); });
  }
  bool received(uint64_t n) {
    return gw_.executors.runUntil([&] { return router_->counters().received.value() >= n; });
  }

  int64_t sessionRows() {
    auto sessions = gw_.store->sessions().list(store::SessionQuery{std::nullopt, 0, 0});
    EXPECT_TRUE(sessions);
    return sessions ? sessions->totalCount : -1;
  }

  static json::array mentionEntity(std::size_t offset, std::size_t length) {
    return json::array{json::object{{"type", "mention"}, {"offset", offset}, {"length", length}}};
  }

  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  testing::IoThread io_;
  net::HttpClientPtr http_ = net::HttpClient::create(io_.io());
  std::unique_ptr<testing::TelegramBotPeer> peer_;
  std::unique_ptr<TelegramChannel> channel_;
  std::unique_ptr<InboundRouter> router_;
};

TEST_F(TelegramChannelTest, APrivateMessageIsAnsweredWithSendMessage) {
  startChannel();
  ASSERT_TRUE(connected());
  auto health = channel_->health();
  EXPECT_TRUE(health.authenticated);
  EXPECT_EQ(channel_->botUsername(), "talon_test_bot");
  EXPECT_EQ(channel_->capabilities().maxTextChars, 4096u);

  const int64_t update = peer_->pushPrivateText(4242, "hello bot");
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "hello bot");
  gw_.provider->call(0)->answer("Hello, human");
  ASSERT_TRUE(sent(1));

  auto messages = peer_->sentMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("chat_id"), json::value(4242));
  EXPECT_EQ(messages[0].at("text"), json::value("Hello, human"));
  EXPECT_FALSE(messages[0].contains("message_thread_id"));

  // The next poll confirms the update (offset = update_id + 1) and asks for messages only.
  ASSERT_TRUE(peer_->waitForCalls("getUpdates", 1));
  peer_->pushPrivateText(4242, "second");
  ASSERT_TRUE(gw_.waitCalls(2));
  auto polls = peer_->calls("getUpdates");
  ASSERT_GE(polls.size(), 2u);
  EXPECT_EQ(polls[1].params.at("offset"), json::value(update + 1));
  EXPECT_EQ(polls[1].params.at("timeout"), json::value(30));
  EXPECT_EQ(polls[1].params.at("allowed_updates"), json::value(json::array{"message"}));
  gw_.provider->call(1)->answer("again");
  ASSERT_TRUE(sent(2));
  EXPECT_EQ(gw_.provider->count(), 2u);  // each update once

  health = channel_->health();
  EXPECT_EQ(health.received, 2);
  EXPECT_EQ(health.sent, 2);
  EXPECT_GT(health.lastInboundAtMs, 0);
  EXPECT_GT(health.lastOutboundAtMs, 0);
  EXPECT_EQ(health.reconnects, 0);
}

TEST_F(TelegramChannelTest, GroupMessagesNeedAMentionAndForumRepliesKeepTheirTopic) {
  startChannel();
  ASSERT_TRUE(connected());
  peer_->pushGroupText(kGroup, 11, "just talking among ourselves");
  ASSERT_TRUE(received(1));
  EXPECT_EQ(router_->counters().refused.value(), 1u);
  EXPECT_EQ(gw_.provider->count(), 0u);

  const std::string text = "@talon_test_bot what time is it?";
  peer_->pushGroupText(kGroup, 11, text, mentionEntity(0, 15));
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->answer("noon");
  ASSERT_TRUE(sent(1));
  auto messages = peer_->sentMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("chat_id"), json::value(kGroup));
  EXPECT_EQ(messages[0].at("text"), json::value("noon"));

  // A forum topic: the reply goes to the same topic.
  peer_->pushGroupText(kGroup, 11, "@talon_test_bot in the topic", mentionEntity(0, 15), 77, true);
  ASSERT_TRUE(gw_.waitCalls(2));
  gw_.provider->call(1)->answer("topic answer");
  ASSERT_TRUE(sent(2));
  messages = peer_->sentMessages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].at("message_thread_id"), json::value(77));
  EXPECT_EQ(router_->counters().refused.value(), 1u);
}

TEST_F(TelegramChannelTest, A429OnSendMessageIsRetriedAfterRetryAfter) {
  startChannel();
  ASSERT_TRUE(connected());
  peer_->failNext("sendMessage", 429, "Too Many Requests: retry after 3", 1, 3);
  peer_->pushPrivateText(5, "hi");
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->answer("patient reply");
  // The 429 arrives and the message waits out its retry_after (3 s of simulated time).
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->rateLimitedSends() == 1; }));
  auto attempts = peer_->calls("sendMessage");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].status, 429);
  gw_.executors.advance(2999);
  EXPECT_EQ(channel_->rateLimitedSends(), 1u);  // not yet
  gw_.executors.advance(1);
  EXPECT_EQ(channel_->rateLimitedSends(), 0u);
  ASSERT_TRUE(sent(1));
  attempts = peer_->calls("sendMessage");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[1].status, 200);
  EXPECT_EQ(peer_->sentMessages().at(0).at("text"), json::value("patient reply"));
  EXPECT_EQ(channel_->health().sendFailures, 0);
  // The confirmation reaches the router through the outbox (recorded first, then counted).
  EXPECT_TRUE(gw_.executors.runUntil([&] { return router_->counters().delivered.value() == 1u; }));
}

TEST_F(TelegramChannelTest, PollingResumesAfterThePeerRestartsAndTheReplyIsDelivered) {
  startChannel();
  ASSERT_TRUE(connected());
  peer_->pushPrivateText(8, "before the restart");
  ASSERT_TRUE(gw_.waitCalls(1));
  ASSERT_TRUE(peer_->waitForCalls("getUpdates", 1));

  // The Bot API goes away mid-conversation: the held poll is cut.
  peer_->stop();
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 1; }));
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kDisconnected);
  EXPECT_NE(health.detail.find("getUpdates failed"), std::string::npos) << health.detail;
  peer_->pushPrivateText(8, "while it was down");
  ASSERT_TRUE(peer_->restart());

  // The turn that was running replies to the restarted server.
  gw_.provider->call(0)->answer("reply one");
  ASSERT_TRUE(sent(1));
  // The retry (1 s ± 20 %) resumes polling; the queued message is answered.
  gw_.executors.advance(1200);
  ASSERT_TRUE(gw_.waitCalls(2));
  EXPECT_EQ(gw_.provider->call(1)->request.messages.back().content, "while it was down");
  gw_.provider->call(1)->answer("reply two");
  ASSERT_TRUE(sent(2));
  auto messages = peer_->sentMessages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("text"), json::value("reply one"));
  EXPECT_EQ(messages[1].at("text"), json::value("reply two"));
  health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_GE(health.reconnects, 1);
}

TEST_F(TelegramChannelTest, RepeatedGetUpdatesFailuresAreCountedAndVisible) {
  peer_->failNext("getUpdates", 502, "Bad Gateway", 4);
  startChannel();
  // Each failure is retried after its backoff delay: 1 s, 2 s, then the circuit opens (5 min).
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 1; }));
  auto health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kDisconnected);
  EXPECT_TRUE(health.authenticated);  // getMe worked: the token is fine, polling is not
  EXPECT_NE(health.detail.find("getUpdates failed (1 in a row)"), std::string::npos) << health.detail;
  EXPECT_NE(health.detail.find("502"), std::string::npos) << health.detail;
  gw_.executors.advance(1200);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 2; }));
  gw_.executors.advance(2400);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 3; }));
  health = channel_->health();
  EXPECT_TRUE(health.circuitOpen);
  EXPECT_NE(health.detail.find("circuit open"), std::string::npos) << health.detail;
  gw_.executors.advance(360'000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 4; }));
  // The fifth poll succeeds and delivers what was queued meanwhile.
  peer_->pushPrivateText(3, "still there?");
  gw_.executors.advance(360'000);
  ASSERT_TRUE(gw_.waitCalls(1));
  health = channel_->health();
  EXPECT_EQ(health.state, ChannelHealth::State::kConnected);
  EXPECT_EQ(health.reconnects, 4);
  EXPECT_FALSE(health.circuitOpen);
  EXPECT_TRUE(health.detail.empty());
  auto polls = peer_->calls("getUpdates");
  ASSERT_GE(polls.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(polls[i].status, 502);
  EXPECT_EQ(polls[4].status, 200);
}

TEST_F(TelegramChannelTest, ARejectedTokenIsReportedAndNotRetriedHot) {
  json::object s = settings();
  s["botToken"] = "123456789:wrong";
  startChannel("default", s);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 1; }));
  auto health = channel_->health();
  EXPECT_FALSE(health.authenticated);
  EXPECT_EQ(health.state, ChannelHealth::State::kDisconnected);
  EXPECT_NE(health.detail.find("rejected the bot token"), std::string::npos) << health.detail;
  EXPECT_NE(health.detail.find("next getMe in 300 s"), std::string::npos) << health.detail;
  EXPECT_EQ(health.detail.find("wrong"), std::string::npos) << "the token leaked: " << health.detail;
  EXPECT_EQ(peer_->calls("getMe").size(), 1u);
  EXPECT_TRUE(peer_->calls("getUpdates").empty());
  // The next attempt comes only after five minutes.
  gw_.executors.advance(300'000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().reconnects >= 2; }));
  EXPECT_EQ(peer_->calls("getMe").size(), 2u);
  EXPECT_TRUE(peer_->calls("getUpdates").empty());
}

TEST_F(TelegramChannelTest, AStrangerUnderPairingGetsACodeThatAnOperatorApproves) {
  startChannel("strict");
  EXPECT_EQ(channel_->channelId(), "telegram:strict");
  ASSERT_TRUE(connected());
  peer_->pushPrivateText(999, "let me in");
  ASSERT_TRUE(sent(1));
  auto messages = peer_->sentMessages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("chat_id"), json::value(999));
  const std::string text(messages[0].at("text").as_string());
  EXPECT_NE(text.find("Pairing code"), std::string::npos) << text;
  EXPECT_NE(text.find("talon pairing approve telegram"), std::string::npos) << text;
  EXPECT_EQ(gw_.provider->count(), 0u);
  EXPECT_EQ(sessionRows(), 0);
  auto denied = gw_.audit.ofKind("access.dm");
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(denied[0].details.at("senderId").as_string(), "999");
  EXPECT_EQ(denied[0].details.at("accountId").as_string(), "strict");

  // The operator approves the code; the stranger's next message reaches the agent and is answered.
  const std::string code = testing::pairingCodeIn(text);
  ASSERT_FALSE(code.empty()) << text;
  EXPECT_EQ(testing::approvePairing(*gw_.store, "telegram", code, gw_.clock->nowMs()), "999");
  peer_->pushPrivateText(999, "approved now?");
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->answer("welcome");
  ASSERT_TRUE(sent(2));
  EXPECT_EQ(peer_->sentMessages()[1].at("text").as_string(), "welcome");
  EXPECT_EQ(sessionRows(), 1);
}

TEST_F(TelegramChannelTest, TypingIsSentAndRepeatedWhileOn) {
  startChannel();
  ASSERT_TRUE(connected());
  routing::Peer peer{routing::PeerKind::kDirect, "4242"};
  channel_->setTyping("default", peer, true);
  ASSERT_TRUE(peer_->waitForCalls("sendChatAction", 1));
  gw_.executors.advance(4000);
  ASSERT_TRUE(peer_->waitForCalls("sendChatAction", 2));
  auto actions = peer_->calls("sendChatAction");
  EXPECT_EQ(actions[0].params.at("action"), json::value("typing"));
  EXPECT_EQ(actions[0].params.at("chat_id"), json::value(4242));
  channel_->setTyping("default", peer, false);
}

TEST_F(TelegramChannelTest, SettingsAreValidated) {
  auto missing = TelegramChannel::create(context("acct", json::object{}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kConfigInvalid);
  EXPECT_NE(missing.error().message.find("channels.telegram.accounts.acct.botToken"), std::string::npos);

  auto badRoot = TelegramChannel::create(context("acct", json::object{{"botToken", "1:a"}, {"apiRoot", "ftp://x"}}));
  ASSERT_FALSE(badRoot);
  EXPECT_NE(badRoot.error().message.find("channels.telegram.accounts.acct.apiRoot"), std::string::npos);

  testing::TempDir dir("talon-tg");
  const auto file = dir.path() / "token";
  std::ofstream(file) << peer_->options().token << "\n";
  auto fromFile = TelegramChannel::create(
      context("acct", json::object{{"tokenFile", file.string()}, {"apiRoot", peer_->apiRoot()}}));
  EXPECT_TRUE(fromFile) << fromFile.error().toString();
  const auto link = dir.path() / "link";
  std::filesystem::create_symlink(file, link);
  auto linked = TelegramChannel::create(context("acct", json::object{{"tokenFile", link.string()}}));
  ASSERT_FALSE(linked);
  EXPECT_NE(linked.error().message.find("symlink"), std::string::npos);
  EXPECT_NE(linked.error().message.find("channels.telegram.accounts.acct.tokenFile"), std::string::npos);

  ChannelContext noHttp = context("acct", settings());
  noHttp.http = nullptr;
  EXPECT_EQ(TelegramChannel::create(noHttp).error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace talon::gateway::channels
