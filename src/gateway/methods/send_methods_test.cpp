// `send` over real components (tests/support/method_harness.h) and the loopback channel: OpenClaw's
// params and result, the outbox row behind it, idempotency, retries, the channel and target rules, the
// audit record and the params Talon refuses as not supported yet.
#include <gtest/gtest.h>

#include "gateway/channels/loopback_channel.h"
#include "gateway/methods/builtin_methods.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

class SendMethodTest : public ::testing::Test {
 protected:
  /// The loopback channel in the components' channel set and an outbox over it, before the methods are
  /// registered (they capture services().outbound).
  bool wire() {
    auto channel = std::make_unique<channels::LoopbackChannel>("default", gw_.clock);
    loopback_ = channel.get();
    gw_.channels.add("loopback", std::move(channel));
    EXPECT_TRUE(loopback_->start(sink_));
    channels::OutboundPolicy policy;
    policy.jitter = 0.0;
    auto outbound = channels::OutboundDispatcher::create(
        *gw_.store, gw_.metrics, gw_.healthRecords, gw_.bus, gw_.executors.executors(), gw_.clock,
        [this](std::string_view id) { return gw_.channels.find(id); }, policy);
    EXPECT_TRUE(outbound) << outbound.error().toString();
    if (!outbound) return false;
    gw_.outbound = std::move(*outbound);
    return true;
  }

  struct NullSink final : channels::ChannelSink {
    void onInbound(std::string_view, routing::InboundMessage) override {}
  };

  std::vector<store::OutboundDelivery> rows() {
    auto all = gw_.store->outbound().list(std::nullopt, 100);
    EXPECT_TRUE(all);
    return all ? *all : std::vector<store::OutboundDelivery>{};
  }

  NullSink sink_;
  channels::LoopbackChannel* loopback_ = nullptr;
  talon::testing::GatewayComponents gw_;
  bool wired_ = wire();
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(SendMethodTest, SendsOnTheChannelThroughTheOutboxAndAnswersAsOpenClaw) {
  ASSERT_TRUE(wired_ && harness_.ok());
  auto answer = harness_.call("send", jsonValue(R"({"to":"Bob","message":"hello Bob","channel":"loopback",
                                                 "threadId":"9","idempotencyKey":"k-1"})"));
  ASSERT_TRUE(answer.ok) << (answer.error ? answer.error->toString() : "");
  const auto& p = answer.payload.as_object();
  EXPECT_EQ(p.at("runId").as_string(), "k-1");
  EXPECT_EQ(p.at("channel").as_string(), "loopback");
  ASSERT_TRUE(p.at("messageId").is_string());

  auto sent = loopback_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].text, "hello Bob");
  EXPECT_EQ(sent[0].peer.kind, routing::PeerKind::kDirect);
  EXPECT_EQ(sent[0].peer.id, "Bob");
  EXPECT_EQ(sent[0].threadId, "9");
  ASSERT_TRUE(
      gw_.executors.runUntil([&] { return rows().size() == 1 && rows()[0].state == store::DeliveryState::kSent; }));
  auto row = rows()[0];
  EXPECT_EQ(row.id, p.at("messageId").as_string());
  EXPECT_EQ(row.idempotencyKey, "k-1");
  EXPECT_EQ(row.channelId, "loopback");

  // The decision is audited, without the text.
  auto events = gw_.audit.events();
  auto it = std::find_if(events.begin(), events.end(), [](const auto& e) { return e.kind == "channel.send"; });
  ASSERT_NE(it, events.end());
  EXPECT_EQ(it->target, "loopback:direct:Bob");
  EXPECT_EQ(it->outcome, security::AuditOutcome::kAllowed);
  for (const auto& [k, v] : it->details) EXPECT_EQ(json::serialize(v).find("hello Bob"), std::string::npos) << k;
}

TEST_F(SendMethodTest, TheSameIdempotencyKeyAnswersTheSameDeliveryAndSendsOnce) {
  ASSERT_TRUE(wired_ && harness_.ok());
  auto first = harness_.call("send", jsonValue(R"({"to":"Bob","message":"once","idempotencyKey":"same"})"));
  ASSERT_TRUE(first.ok);
  auto second = harness_.call("send", jsonValue(R"({"to":"Bob","message":"once","idempotencyKey":"same"})"));
  ASSERT_TRUE(second.ok);
  EXPECT_EQ(first.payload.at("messageId"), second.payload.at("messageId"));
  EXPECT_EQ(loopback_->sent().size(), 1u);  // without `channel`: the only running channel
}

TEST_F(SendMethodTest, AFirstAttemptThatFailsIsUnavailableAndTheOutboxKeepsRetrying) {
  ASSERT_TRUE(wired_ && harness_.ok());
  loopback_->failSends(1, Error(ErrorCode::kUnavailable, "the network is down"));
  auto answer =
      harness_.call("send", jsonValue(R"({"to":"group:ops","message":"deploy done","idempotencyKey":"k-2"})"));
  ASSERT_FALSE(answer.ok);
  ASSERT_TRUE(answer.error);
  EXPECT_EQ(answer.error->code, ErrorCode::kUnavailable);
  EXPECT_EQ(answer.error->details.at("state").as_string(), "pending");
  EXPECT_EQ(answer.error->details.at("attempts").as_int64(), 1);
  const std::string id(answer.error->details.at("deliveryId").as_string());

  gw_.executors.advance(1000);
  ASSERT_TRUE(gw_.executors.runUntil([&] { return loopback_->sent().size() == 1; }));
  EXPECT_EQ(loopback_->sent()[0].peer.kind, routing::PeerKind::kGroup);
  EXPECT_EQ(loopback_->sent()[0].peer.id, "ops");
  ASSERT_TRUE(gw_.executors.runUntil([&] { return rows()[0].state == store::DeliveryState::kSent; }));
  // Asking again with the key reads the delivery as it stands now: sent.
  auto again = harness_.call("send", jsonValue(R"({"to":"group:ops","message":"deploy done","idempotencyKey":"k-2"})"));
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.payload.at("messageId").as_string(), id);
  EXPECT_EQ(loopback_->sent().size(), 1u);
}

TEST_F(SendMethodTest, BadRequestsAreRefusedBeforeAnythingIsStored) {
  ASSERT_TRUE(wired_ && harness_.ok());
  auto noText = harness_.call("send", jsonValue(R"({"to":"Bob","message":"  ","idempotencyKey":"a"})"));
  ASSERT_FALSE(noText.ok);
  EXPECT_EQ(noText.error->publicMessage(), "invalid send params: text or media is required");
  auto noKey = harness_.call("send", jsonValue(R"({"to":"Bob","message":"x"})"));
  ASSERT_FALSE(noKey.ok);
  EXPECT_EQ(noKey.error->code, ErrorCode::kInvalidArgument);
  auto unknown =
      harness_.call("send", jsonValue(R"({"to":"Bob","message":"x","channel":"telegram","idempotencyKey":"b"})"));
  ASSERT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error->publicMessage(), "unsupported channel: telegram");
  auto media = harness_.call("send", jsonValue(R"({"to":"Bob","mediaUrl":"https://x/y.png","idempotencyKey":"c"})"));
  ASSERT_FALSE(media.ok);
  EXPECT_EQ(media.error->code, ErrorCode::kUnsupported);
  auto silent = harness_.call("send", jsonValue(R"({"to":"Bob","message":"x","silent":true,"idempotencyKey":"d"})"));
  ASSERT_FALSE(silent.ok);
  EXPECT_EQ(silent.error->code, ErrorCode::kUnsupported);
  EXPECT_TRUE(rows().empty());
  EXPECT_TRUE(loopback_->sent().empty());
}

}  // namespace
}  // namespace talon::gateway::methods
