// Telegram webhook mode: the account calls setWebhook (not getUpdates) against the local Bot API server,
// and Telegram's deliveries arrive through the gateway's route (telegram_webhook_route.h), which checks
// X-Telegram-Bot-Api-Secret-Token, audits refusals and hands the update to the inbound path; the reply
// leaves by sendMessage. Deterministic executors, simulated time, no sleeps.
#include <gtest/gtest.h>

#include "gateway/channels/inbound_router.h"
#include "gateway/channels/outbound_dispatcher.h"
#include "gateway/channels/telegram/telegram_channel.h"
#include "gateway/channels/telegram/telegram_webhook_route.h"
#include "support/gateway_components.h"
#include "support/io_thread.h"
#include "support/telegram_bot_peer.h"

namespace talon::gateway::channels {
namespace {

constexpr std::string_view kSecret = "hook-Secret_42";

constexpr std::string_view kWebhookConfig = R"({
  bindings: [ { agentId: "main", match: { channel: "telegram", accountId: "*" } } ],
  channels: {
    telegram: {
      accounts: {
        hook: { dmPolicy: "open", allowFrom: ["*"], webhookUrl: "https://bot.example.com/tg/hook",
                webhookSecret: "hook-Secret_42", webhookPath: "/tg/hook" },
      },
    },
  },
})";

/// An exchange that records the answer.
class RecordingExchange final : public net::HttpExchange {
 public:
  RecordingExchange(std::string method, std::string path, net::Headers headers, std::string body) {
    request_.method = std::move(method);
    request_.path = std::move(path);
    request_.target = request_.path;
    request_.headers = std::move(headers);
    request_.body = std::move(body);
    request_.remoteAddress = "149.154.167.197";
  }
  const net::HttpRequest& request() const override { return request_; }
  void respond(net::HttpResponse response) override { response_ = std::move(response); }
  net::ResponseStreamPtr startStream(int, std::string, net::Headers) override { return nullptr; }
  std::optional<net::HttpResponse> response_;

 private:
  net::HttpRequest request_;
};

std::string update(int64_t id, int64_t from, std::string_view text) {
  json::object message{{"message_id", id},
                       {"from", json::object{{"id", from}, {"is_bot", false}, {"first_name", "U"}}},
                       {"chat", json::object{{"id", from}, {"type", "private"}}},
                       {"date", 1700000000},
                       {"text", text}};
  return json::serialize(json::object{{"update_id", id}, {"message", std::move(message)}});
}

class TelegramWebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gw_.ok());
    auto peer = testing::TelegramBotPeer::create();
    ASSERT_TRUE(peer) << peer.error().toString();
    peer_ = std::move(*peer);
    io_.start();
    auto find = [this](std::string_view id) { return gw_.channels.find(id); };
    auto outbound = OutboundDispatcher::create(*gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus,
                                               gw_.executors.executors(), gw_.clock, find);
    ASSERT_TRUE(outbound) << outbound.error().toString();
    gw_.outbound = std::move(*outbound);
    auto router = InboundRouter::create(gw_.config->config, gw_.agents->roster(), gate_, *gw_.runner, gw_.metrics,
                                        gw_.audit, gw_.executors.executors(), find, *gw_.outbound);
    ASSERT_TRUE(router) << router.error().toString();
    router_ = std::move(*router);

    // The account's settings as the config holds them, pointed at the local Bot API server.
    const config::ChannelConfig* telegram = nullptr;
    for (const auto& c : gw_.config->config.channels.entries) {
      if (c.id == "telegram") telegram = &c;
    }
    ASSERT_NE(telegram, nullptr);
    json::object settings = telegram->accountSettings.at("hook").values;
    settings["botToken"] = peer_->options().token;
    settings["apiRoot"] = peer_->apiRoot();
    auto channel = TelegramChannel::create(
        ChannelContext{"hook", std::move(settings), gw_.executors.executors(), gw_.clock, nullptr, http_});
    ASSERT_TRUE(channel) << channel.error().toString();
    channel_ = channel->get();
    EXPECT_TRUE(channel_->webhookMode());
    gw_.channels.add(channel_->channelId(), std::move(*channel));
    ASSERT_TRUE(registerTelegramWebhookRoutes(routes_, gw_.services()));
  }
  void TearDown() override {
    gw_.channels.stopAll();
    peer_.reset();
    io_.stop();
  }

  static testing::GatewayComponentsOptions options() {
    testing::GatewayComponentsOptions o;
    o.configText = std::string(kWebhookConfig);
    return o;
  }

  net::HttpResponse post(std::string body, std::optional<std::string_view> secret = kSecret,
                         std::string path = "/tg/hook") {
    net::Headers headers{{"Content-Type", "application/json"}};
    if (secret) headers.emplace_back("X-Telegram-Bot-Api-Secret-Token", std::string(*secret));
    auto ex = std::make_shared<RecordingExchange>("POST", std::move(path), std::move(headers), std::move(body));
    routes_.dispatch(ex);
    EXPECT_TRUE(ex->response_);
    return ex->response_ ? *ex->response_ : net::HttpResponse{};
  }

  // The I/O thread and HTTP client come first: the channel, owned by gw_.channels, holds the client and
  // must go before the io_context it runs on.
  testing::IoThread io_;
  net::HttpClientPtr http_ = net::HttpClient::create(io_.io());
  testing::GatewayComponents gw_{options()};
  routing::AccessGate gate_{gw_.config->config.channels, gw_.store.get(), gw_.clock};
  std::unique_ptr<testing::TelegramBotPeer> peer_;
  std::unique_ptr<InboundRouter> router_;
  TelegramChannel* channel_ = nullptr;
  net::HttpRouter routes_;
};

TEST_F(TelegramWebhookTest, StartSetsTheWebhookInsteadOfPolling) {
  ASSERT_TRUE(channel_->start(*router_));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().state == ChannelHealth::State::kConnected; }));
  EXPECT_TRUE(channel_->health().authenticated);
  auto set = peer_->calls("setWebhook");
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].params.at("url"), json::value("https://bot.example.com/tg/hook"));
  EXPECT_EQ(set[0].params.at("secret_token"), json::value(kSecret));
  EXPECT_EQ(set[0].params.at("allowed_updates"), json::value(json::array{"message"}));
  EXPECT_EQ(peer_->webhookUrl(), "https://bot.example.com/tg/hook");
  EXPECT_TRUE(peer_->calls("getUpdates").empty());
  EXPECT_TRUE(peer_->calls("deleteWebhook").empty());
}

TEST_F(TelegramWebhookTest, DeliveriesWithTheSecretReachTheAgentAndOthersAreRefused) {
  ASSERT_TRUE(channel_->start(*router_));
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().state == ChannelHealth::State::kConnected; }));

  EXPECT_EQ(post(update(500, 31, "no secret"), std::nullopt).status, 401);
  EXPECT_EQ(post(update(501, 31, "bad secret"), "hook-Secret_43").status, 401);
  auto refused = gw_.audit.ofKind("channel.webhook");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].outcome, security::AuditOutcome::kDenied);
  EXPECT_EQ(refused[0].details.at("reason").as_string(), "secret_missing");
  EXPECT_EQ(refused[1].details.at("reason").as_string(), "secret_mismatch");
  EXPECT_EQ(refused[1].details.at("accountId").as_string(), "hook");
  for (const auto& e : refused) EXPECT_EQ(json::serialize(e.details).find("hook-Secret"), std::string::npos);
  EXPECT_EQ(post("{not json").status, 400);
  EXPECT_EQ(channel_->health().received, 0);

  auto ok = post(update(502, 31, "hello via webhook"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(ok.body.empty());
  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "hello via webhook");
  gw_.provider->call(0)->answer("hello from Talon");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return channel_->health().sent >= 1; }));
  auto sent = peer_->sentMessages();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("chat_id"), json::value(31));
  EXPECT_EQ(sent[0].at("text"), json::value("hello from Talon"));

  // Telegram redelivers an update it got no 2xx for: taken once.
  EXPECT_EQ(post(update(502, 31, "hello via webhook")).status, 200);
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u);
  EXPECT_EQ(channel_->health().received, 1);
}

TEST_F(TelegramWebhookTest, AStoppedAccountAnswers503) {
  // Not started: Telegram is told to retry later.
  EXPECT_EQ(post(update(600, 31, "early")).status, 503);
}

TEST(TelegramWebhookSettings, WebhookModeNeedsAValidSecret) {
  testing::IoThread io;
  auto http = net::HttpClient::create(io.io());
  auto clock = std::make_shared<SimulatedClock>();
  json::object s{{"botToken", "1:abc"}, {"webhookUrl", "https://x.example/hook"}};
  auto missing = TelegramChannel::create(ChannelContext{"a", s, {}, clock, nullptr, http});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("channels.telegram.accounts.a.webhookSecret"), std::string::npos);
  s["webhookSecret"] = "has spaces";
  EXPECT_FALSE(TelegramChannel::create(ChannelContext{"a", s, {}, clock, nullptr, http}));
  s["webhookSecret"] = "ok_secret-1";
  s["webhookPath"] = "no-slash";
  auto badPath = TelegramChannel::create(ChannelContext{"a", s, {}, clock, nullptr, http});
  ASSERT_FALSE(badPath);
  EXPECT_NE(badPath.error().message.find("webhookPath"), std::string::npos);
  s.erase("webhookPath");
  EXPECT_TRUE(TelegramChannel::create(ChannelContext{"a", s, {}, clock, nullptr, http}));
}

}  // namespace
}  // namespace talon::gateway::channels
