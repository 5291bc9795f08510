// sessions.compact through the method registry over real components (tests/support/method_harness.h):
// a manual compaction stores a summary that the next turn sends, a session with a turn in flight is
// refused, and the method needs operator.admin. In simulated time; nothing sleeps.
#include <gtest/gtest.h>

#include "gateway/methods/method_registry.h"
#include "protocol/methods.h"
#include "protocol/scopes.h"
#include "store/compaction_repository.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

talon::testing::GatewayComponentsOptions compactOneTurnOptions() {
  talon::testing::GatewayComponentsOptions o;
  o.configText = "{agents: {defaults: {compaction: {recentTurnsPreserve: 1}}}}";
  return o;
}

class SessionCompactMethodTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(harness_.ok()); }

  /// One chat.send answered with `answer`.
  void exchange(const std::string& runId, const std::string& message, const std::string& answer) {
    const std::size_t n = gw_.provider->count() + 1;  // the turn may call the model before chat.send answers
    auto sent = harness_.call("chat.send",
                              json::object{{"sessionKey", "main"}, {"message", message}, {"idempotencyKey", runId}});
    ASSERT_TRUE(sent.ok) << (sent.error ? sent.error->toString() : "");
    ASSERT_TRUE(gw_.waitCalls(n));
    gw_.provider->call(n - 1)->answer(answer);
    ASSERT_TRUE(gw_.settle(runId));
  }

  talon::testing::GatewayComponents gw_{compactOneTurnOptions()};
  talon::testing::MethodHarness harness_{gw_};
};

TEST_F(SessionCompactMethodTest, CompactsTheSessionAndTheNextTurnSendsTheSummary) {
  exchange("run-1", "my name is Ada", "hello Ada");
  exchange("run-2", "what is 2+2", "4");

  auto id = harness_.send("sessions.compact", jsonValue(R"({"key":"main"})"));
  ASSERT_TRUE(gw_.waitCalls(3));
  const auto& summaryRequest = gw_.provider->call(2)->request;
  ASSERT_EQ(summaryRequest.messages.size(), 2u);
  EXPECT_NE(summaryRequest.messages[1].content.find("my name is Ada"), std::string::npos);
  EXPECT_EQ(summaryRequest.messages[1].content.find("what is 2+2"), std::string::npos);  // the kept turn
  gw_.provider->call(2)->answer("The user is Ada.");
  auto answers = harness_.awaitAnswers(id);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0].ok) << (answers[0].error ? answers[0].error->toString() : "");
  const auto& payload = answers[0].payload.as_object();
  EXPECT_EQ(payload.at("ok"), json::value(true));
  EXPECT_EQ(payload.at("key"), json::value("agent:main:main"));
  EXPECT_EQ(payload.at("compacted"), json::value(true));
  EXPECT_EQ(payload.at("result").as_object().at("compactionCount"), json::value(1));

  auto stored = store::CompactionRepository(*gw_.store).latest("agent:main:main");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->reason, "manual");
  EXPECT_EQ((*stored)->summary, "The user is Ada.");

  // sessions.list shows the session's compaction count.
  auto list = harness_.call("sessions.list", json::object{});
  ASSERT_TRUE(list.ok);
  const auto& rows = list.payload.as_object().at("sessions").as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].as_object().at("compactionCount"), json::value(1));

  exchange("run-3", "and my name?", "Ada");
  const auto& next = gw_.provider->call(3)->request;
  ASSERT_EQ(next.messages.size(), 4u);  // summary, the kept turn, the new message
  EXPECT_NE(next.messages[0].content.find("The user is Ada."), std::string::npos);
  EXPECT_EQ(next.messages[1].content, "what is 2+2");
  EXPECT_EQ(next.messages[3].content, "and my name?");
}

TEST_F(SessionCompactMethodTest, ASessionWithoutHistoryOrOldEnoughHistoryIsLeftAsItIs) {
  auto empty = harness_.call("sessions.compact", jsonValue(R"({"key":"main"})"));
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(json::serialize(empty.payload),
            R"({"ok":true,"key":"agent:main:main","compacted":false,"reason":"no transcript"})");
  exchange("run-1", "hi", "hello");
  auto young = harness_.call("sessions.compact", jsonValue(R"({"key":"main"})"));
  ASSERT_TRUE(young.ok);
  EXPECT_EQ(young.payload.as_object().at("reason"), json::value("nothing to compact"));
  auto list = harness_.call("sessions.list", json::object{});
  ASSERT_TRUE(list.ok);
  EXPECT_EQ(list.payload.as_object().at("sessions").as_array().at(0).as_object().at("compactionCount"), json::value(0));
  EXPECT_EQ(gw_.provider->count(), 1u);  // no summary call
}

TEST_F(SessionCompactMethodTest, ASessionWithATurnInFlightIsRefused) {
  auto sent = harness_.call("chat.send", jsonValue(R"({"sessionKey":"main","message":"hi","idempotencyKey":"run-1"})"));
  ASSERT_TRUE(sent.ok);
  ASSERT_TRUE(gw_.waitCalls(1));
  auto refused = harness_.call("sessions.compact", jsonValue(R"({"key":"main"})"));
  ASSERT_FALSE(refused.ok);
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(protocolErrorCode(refused.error->code), "INVALID_REQUEST");
  EXPECT_NE(refused.error->publicMessage().find("has an active run"), std::string::npos);
  gw_.provider->call(0)->answer("hello");
  ASSERT_TRUE(gw_.settle("run-1"));
}

TEST_F(SessionCompactMethodTest, MaxLinesIsRefusedAndTheMethodNeedsAdmin) {
  auto r = harness_.call("sessions.compact", jsonValue(R"({"key":"main","maxLines":10})"));
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error->publicMessage().find("not supported"), std::string::npos);
  using protocol::Scope;
  using protocol::ScopeSet;
  EXPECT_FALSE(protocol::authorize("sessions.compact", ScopeSet::of({Scope::kRead, Scope::kWrite}),
                                   protocol::Role::kOperator, true));
  EXPECT_TRUE(protocol::authorize("sessions.compact", ScopeSet::of({Scope::kAdmin}), protocol::Role::kOperator, true));
}

}  // namespace
}  // namespace talon::gateway::methods
