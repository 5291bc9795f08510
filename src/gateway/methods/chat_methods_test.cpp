// The chat family through the method registry over real components (tests/support/method_harness.h):
// chat.send → events on the bus → chat.history, idempotency, chat.abort of a running turn, and the
// params Talon does not act on yet. In simulated time; nothing sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "gateway/idempotency_pruner.h"
#include "gateway/methods/method_registry.h"
#include "store/sqlite_store.h"
#include "support/json_text.h"
#include "support/method_harness.h"

namespace talon::gateway::methods {
namespace {

using testing::jsonValue;

struct Event {
  std::string name;
  std::string sessionKey;
  std::string runId;
  json::object payload;
};

class ChatMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(harness_.ok());
    gw_.bus.subscribe(
        [this](const GatewayEvent& e) {
          auto v = parseJson(*e.payloadJson);
          std::lock_guard lock(mu_);
          events_.push_back({e.name, e.sessionKey, e.runId, v && v->is_object() ? v->get_object() : json::object{}});
        },
        EventBus::Interest::kEverySession);
  }

  /// The `chat` events of a run, as their states in order.
  std::vector<std::string> chatStates(const std::string& runId) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_) {
      if (e.name == "chat" && e.runId == runId) out.emplace_back(getString(e.payload, "state").value_or(""));
    }
    return out;
  }
  std::vector<Event> chatEvents(const std::string& runId, std::string_view state) {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const auto& e : events_) {
      if (e.name == "chat" && e.runId == runId && getString(e.payload, "state") == state) out.push_back(e);
    }
    return out;
  }

  talon::testing::GatewayComponents gw_;
  talon::testing::MethodHarness harness_{gw_};
  std::mutex mu_;
  std::vector<Event> events_;
};

TEST_F(ChatMethodsTest, ChatSendStreamsEventsAndTheHistoryHoldsTheExchange) {
  auto sent =
      harness_.call("chat.send", jsonValue(R"({"sessionKey":"main","message":"hello","idempotencyKey":"run-1"})"));
  ASSERT_TRUE(sent.ok) << (sent.error ? sent.error->toString() : "");
  EXPECT_EQ(json::serialize(sent.payload), R"({"runId":"run-1","status":"started"})");
  // The connection now receives the session's events.
  EXPECT_EQ(harness_.responder().sessions(), std::set<std::string>{"agent:main:main"});

  ASSERT_TRUE(gw_.waitCalls(1));
  EXPECT_EQ(gw_.provider->call(0)->request.messages.back().content, "hello");
  gw_.provider->call(0)->delta("Hi ");
  gw_.provider->call(0)->delta("there");
  gw_.provider->call(0)->answer("Hi there");
  ASSERT_TRUE(gw_.settle("run-1"));

  // Startup "status" events, then the streamed text, then the final.
  auto states = chatStates("run-1");
  auto firstDelta = std::find(states.begin(), states.end(), "delta");
  ASSERT_NE(firstDelta, states.end());
  EXPECT_TRUE(std::all_of(states.begin(), firstDelta, [](const std::string& s) { return s == "status"; }));
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "final");
  EXPECT_EQ(std::count(states.begin(), states.end(), "final"), 1);
  auto finals = chatEvents("run-1", "final");
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].sessionKey, "agent:main:main");
  EXPECT_EQ(json::serialize(finals[0].payload.at("message").at("content")), R"([{"type":"text","text":"Hi there"}])");

  auto history = harness_.call("chat.history", jsonValue(R"({"sessionKey":"main"})"));
  ASSERT_TRUE(history.ok) << (history.error ? history.error->toString() : "");
  const auto& h = history.payload.as_object();
  EXPECT_EQ(getString(h, "sessionKey"), "agent:main:main");
  EXPECT_EQ(h.at("totalMessages"), json::value(2));
  EXPECT_EQ(h.at("hasMore"), json::value(false));
  const auto& messages = h.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(getString(messages[0].as_object(), "role"), "user");
  EXPECT_EQ(json::serialize(messages[0].at("content")), R"([{"type":"text","text":"hello"}])");
  EXPECT_EQ(getString(messages[1].as_object(), "role"), "assistant");
  EXPECT_EQ(json::serialize(messages[1].at("content")), R"([{"type":"text","text":"Hi there"}])");
  EXPECT_EQ(getString(messages[1].as_object(), "runId"), "run-1");
}

TEST_F(ChatMethodsTest, TheSameIdempotencyKeyReturnsTheFirstRun) {
  auto request = jsonValue(R"({"sessionKey":"main","message":"once","idempotencyKey":"k1"})");
  auto first = harness_.call("chat.send", request);
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(json::serialize(first.payload), R"({"runId":"k1","status":"started"})");
  ASSERT_TRUE(gw_.waitCalls(1));

  auto whileRunning = harness_.call("chat.send", request);
  ASSERT_TRUE(whileRunning.ok);
  EXPECT_EQ(json::serialize(whileRunning.payload), R"({"runId":"k1","status":"in_flight"})");

  gw_.provider->call(0)->answer("done once");
  ASSERT_TRUE(gw_.settle("k1"));
  auto afterwards = harness_.call("chat.send", request);
  ASSERT_TRUE(afterwards.ok);
  EXPECT_EQ(json::serialize(afterwards.payload), R"({"runId":"k1","status":"ok"})");

  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 1u);  // one model call for three requests
  auto t = gw_.store->transcripts().tail("agent:main:main", 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ(chatEvents("k1", "final").size(), 1u);
}

// A retry after a restart: the runs an earlier process left (one interrupted by its crash and marked
// aborted by the start-up sweep, one failed, one done, one still marked running) are written through
// another Store on the same file, which is then closed; this process's in-memory registry has never
// seen their keys. Each key answers its run's terminal outcome — never UNAVAILABLE, which would have
// the client retry a key that can never complete — and starts no model call.
TEST_F(ChatMethodsTest, AKeyFromBeforeARestartAnswersItsRunsTerminalOutcome) {
  {
    store::SqliteStoreOptions o;
    o.path = gw_.store->location();
    auto previous = store::openSqliteStore(o);
    ASSERT_TRUE(previous) << previous.error().toString();
    store::WriteBatch b;
    store::SessionRecord session;
    session.sessionKey = "agent:main:main";
    session.agentId = "main";
    session.sessionId = "s-before";
    session.createdAtMs = session.updatedAtMs = 1;
    store::SessionRepository::upsert(b, session);
    auto run = [&](std::string key, store::RunStatus status, std::string code, std::string message,
                   std::string text = "") {
      store::RunRecord r;
      r.runId = r.idempotencyKey = std::move(key);
      r.sessionKey = "agent:main:main";
      r.agentId = "main";
      r.status = status;
      r.errorCode = std::move(code);
      r.errorMessage = std::move(message);
      r.finalText = std::move(text);
      r.startedAtMs = 10;
      r.endedAtMs = 30;
      store::RunRepository::upsert(b, std::move(r));
    };
    run("crashed", store::RunStatus::kAborted, "ABORTED", "the gateway stopped while the run was in progress");
    run("failed", store::RunStatus::kError, "UPSTREAM_ERROR", "upstream exploded");
    run("done", store::RunStatus::kOk, "", "", "the answer");
    run("orphan", store::RunStatus::kRunning, "", "");
    ASSERT_TRUE((*previous)->write(std::move(b)));
    (*previous)->close();
  }
  auto send = [&](const char* method, const std::string& key) {
    json::object p{{"message", "again"}, {"idempotencyKey", key}};
    if (std::string_view(method) == "chat.send") p["sessionKey"] = "main";
    return harness_.call(method, p);
  };

  for (const char* method : {"chat.send", "agent"}) {
    SCOPED_TRACE(method);
    auto crashed = send(method, "crashed");
    ASSERT_FALSE(crashed.ok);
    ASSERT_TRUE(crashed.error);
    EXPECT_EQ(crashed.error->code, ErrorCode::kCancelled);
    EXPECT_FALSE(crashed.error->retryable());
    EXPECT_EQ(crashed.error->publicMessage(), "the gateway stopped while the run was in progress");
    EXPECT_EQ(getString(crashed.payload.as_object(), "status"),
              std::string_view(method) == "agent" ? "aborted" : "error");

    auto orphan = send(method, "orphan");
    ASSERT_FALSE(orphan.ok);
    EXPECT_EQ(orphan.error->code, ErrorCode::kCancelled);
    EXPECT_FALSE(orphan.error->retryable());

    auto failed = send(method, "failed");
    ASSERT_FALSE(failed.ok);
    EXPECT_EQ(failed.error->code, ErrorCode::kUpstream);
    EXPECT_EQ(failed.error->publicMessage(), "upstream exploded");

    auto done = send(method, "done");
    ASSERT_TRUE(done.ok);
    EXPECT_EQ(getString(done.payload.as_object(), "status"), "ok");
  }
  auto agentDone = send("agent", "done");
  ASSERT_TRUE(agentDone.ok);
  EXPECT_EQ(json::serialize(agentDone.payload.at("result").at("payloads")), R"([{"text":"the answer"}])");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);  // no key started a run
}

// Keys past their TTL: the pruner released "old" (ended 10 minutes ago) and kept "recent" (1 minute).
// chat.send and agent use the key as the runId, so a released key still answers the run that has that
// id in the ledger; neither starts a model call, and the old run record is not overwritten.
TEST_F(ChatMethodsTest, AKeyPastItsTtlStillAnswersTheRunWhoseIdItIs) {
  store::WriteBatch b;
  store::SessionRecord session;
  session.sessionKey = "agent:main:main";
  session.agentId = "main";
  session.sessionId = "s-before";
  session.createdAtMs = session.updatedAtMs = 1;
  store::SessionRepository::upsert(b, session);
  for (auto [key, endedAgoMs] : {std::pair<std::string, int64_t>{"old", 600'000}, {"recent", 60'000}}) {
    store::RunRecord r;
    r.runId = r.idempotencyKey = key;
    r.sessionKey = "agent:main:main";
    r.agentId = "main";
    r.status = store::RunStatus::kOk;
    r.finalText = "answer of " + key;
    r.startedAtMs = gw_.clock->nowMs() - endedAgoMs - 10;
    r.endedAtMs = gw_.clock->nowMs() - endedAgoMs;
    r.inputTokens = 7;
    store::RunRepository::upsert(b, std::move(r));
  }
  ASSERT_TRUE(gw_.store->write(std::move(b)));
  gateway::IdempotencyPruner pruner(*gw_.store, gw_.executors.executors(), gw_.clock, 300'000);
  pruner.start();
  ASSERT_TRUE(gw_.executors.runUntil([&] { return pruner.passes() == 1; }));
  EXPECT_EQ(pruner.released(), 1);
  auto released = gw_.store->idempotency().findRun("old");
  ASSERT_TRUE(released);
  EXPECT_FALSE(released->has_value());

  for (const char* key : {"old", "recent"}) {
    auto again =
        harness_.call("chat.send", json::object{{"sessionKey", "main"}, {"message", "again"}, {"idempotencyKey", key}});
    ASSERT_TRUE(again.ok) << key;
    EXPECT_EQ(getString(again.payload.as_object(), "status"), "ok") << key;
  }
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);
  auto old = gw_.store->runs().get("old");
  ASSERT_TRUE(old && old->has_value());
  EXPECT_EQ((*old)->finalText, "answer of old");
  EXPECT_EQ((*old)->inputTokens, 7);
  pruner.stop();
}

TEST_F(ChatMethodsTest, ChatAbortStopsARunningTurn) {
  ASSERT_TRUE(
      harness_.call("chat.send", jsonValue(R"({"sessionKey":"main","message":"think hard","idempotencyKey":"slow"})"))
          .ok);
  ASSERT_TRUE(gw_.waitCalls(1));
  gw_.provider->call(0)->delta("Let me th");  // the model hangs after this piece

  auto aborted = harness_.call("chat.abort", jsonValue(R"({"sessionKey":"main","runId":"slow"})"));
  ASSERT_TRUE(aborted.ok) << (aborted.error ? aborted.error->toString() : "");
  EXPECT_EQ(json::serialize(aborted.payload), R"({"ok":true,"aborted":true,"runIds":["slow"]})");
  EXPECT_TRUE(gw_.provider->call(0)->cancelled);
  ASSERT_TRUE(gw_.settle("slow"));

  auto abortedEvents = chatEvents("slow", "aborted");
  ASSERT_EQ(abortedEvents.size(), 1u);
  EXPECT_EQ(getString(abortedEvents[0].payload, "stopReason"), "rpc");
  EXPECT_EQ(abortedEvents[0].sessionKey, "agent:main:main");
  EXPECT_TRUE(chatEvents("slow", "final").empty());
  EXPECT_TRUE(gw_.outcome("slow")->aborted);
  auto run = gw_.store->runs().get("slow");
  ASSERT_TRUE(run && *run);
  EXPECT_EQ(store::runStatusName((*run)->status), "aborted");

  // Nothing left to abort.
  auto again = harness_.call("chat.abort", jsonValue(R"({"sessionKey":"main"})"));
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(json::serialize(again.payload), R"({"ok":true,"aborted":false,"runIds":[]})");
}

TEST_F(ChatMethodsTest, ChatAbortRefusesARunOfAnotherSession) {
  ASSERT_TRUE(
      harness_.call("chat.send", jsonValue(R"({"sessionKey":"main","message":"x","idempotencyKey":"mine"})")).ok);
  ASSERT_TRUE(gw_.waitCalls(1));
  auto r = harness_.call("chat.abort", jsonValue(R"({"sessionKey":"elsewhere","runId":"mine"})"));
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(protocolErrorCode(r.error->code), "INVALID_REQUEST");
  EXPECT_FALSE(gw_.provider->call(0)->cancelled);
}

/// A value of `type`, for a request that sets a param.
json::value sampleOf(ParamType type) {
  switch (type) {
    case ParamType::kString:
    case ParamType::kNonEmptyString:
      return "x";
    case ParamType::kInteger:
      return 1;
    case ParamType::kBoolean:
      return true;
    case ParamType::kObject:
      return json::object{};
    case ParamType::kArray:
      return json::array{json::object{}};
    case ParamType::kAny:
      return "x";
  }
  return nullptr;
}

TEST_F(ChatMethodsTest, EveryParamTalonDoesNotActOnIsRefusedAsUnsupported) {
  // Generated from the registry: every method's params marked `unsupported`.
  std::size_t checked = 0;
  for (auto name : harness_.registry().names()) {
    for (const auto& spec : harness_.registry().find(name)->params) {
      if (!spec.unsupported) continue;
      SCOPED_TRACE(std::string(name) + " param " + std::string(spec.name));
      auto r = harness_.call(name, json::object{{spec.name, sampleOf(spec.type)}});
      ASSERT_FALSE(r.ok);
      ASSERT_TRUE(r.error);
      EXPECT_EQ(r.error->code, ErrorCode::kUnsupported);
      EXPECT_EQ(protocolErrorCode(r.error->code), "INVALID_REQUEST");
      EXPECT_EQ(r.error->details.at("code").as_string(), "UNSUPPORTED");
      EXPECT_EQ(r.error->publicMessage(),
                std::string(name) + " param '" + std::string(spec.name) + "' is not supported by Talon yet");
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
  // A set `deliver` (channel delivery) is refused the same way, by the handler.
  auto deliver = harness_.call("chat.send",
                               jsonValue(R"({"sessionKey":"main","message":"m","idempotencyKey":"d","deliver":true})"));
  ASSERT_FALSE(deliver.ok);
  EXPECT_EQ(deliver.error->details.at("code").as_string(), "UNSUPPORTED");
  gw_.executors.runReady();
  EXPECT_EQ(gw_.provider->count(), 0u);  // no refused request started a turn
}

}  // namespace
}  // namespace talon::gateway::methods

namespace talon::gateway::methods {
namespace {

TEST(MessageSizeLimit, ChatSendAndAgentRefuseAMessageOverGatewayLimitsMaxMessageBytes) {
  talon::testing::GatewayComponentsOptions options;
  options.configText = "{ gateway: { limits: { maxMessageBytes: 16 } } }";
  talon::testing::GatewayComponents gw(options);
  talon::testing::MethodHarness harness(gw);
  ASSERT_TRUE(harness.ok());
  std::string big(17, 'x');
  for (std::string_view method : {"chat.send", "agent"}) {
    SCOPED_TRACE(method);
    json::object p{{"sessionKey", "main"}, {"message", big}, {"idempotencyKey", std::string(method) + "-big"}};
    auto answer = harness.call(method, p);
    ASSERT_FALSE(answer.ok);
    ASSERT_TRUE(answer.error);
    EXPECT_EQ(answer.error->code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(answer.error->publicMessage(),
              "message is too large: 17 bytes; the limit is 16 bytes (gateway.limits.maxMessageBytes)");
  }
  gw.executors.runReady();
  EXPECT_EQ(gw.provider->count(), 0u);  // nothing reached the model
  auto t = gw.store->transcripts().tail("agent:main:main", 0);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->empty());  // nor the transcript
  // At the limit it is accepted.
  auto ok = harness.call(
      "chat.send",
      json::object{{"sessionKey", "main"}, {"message", std::string(16, 'y')}, {"idempotencyKey", "at-limit"}});
  EXPECT_TRUE(ok.ok) << (ok.error ? ok.error->toString() : "");
}

}  // namespace
}  // namespace talon::gateway::methods

namespace talon::gateway::methods {
namespace {

TEST(AgentModelOverride, ResolvesAliasesChecksModelPolicyAndSendsTheModelsParams) {
  talon::testing::GatewayComponentsOptions options;
  options.configText = R"({ agents: { defaults: {
      models: { "fake/model-2": { alias: "two", params: { temperature: 0.3, maxTokens: 77 } } },
      modelPolicy: { allow: ["two", "other/*"] } } } })";
  talon::testing::GatewayComponents gw(options);
  talon::testing::MethodHarness harness(gw);
  ASSERT_TRUE(harness.ok());

  auto refused = harness.call(
      "agent",
      json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", "r1"}, {"model", "fake/model-3"}});
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error->publicMessage(),
            "Model override \"fake/model-3\" is not allowed for agent \"main\" by agents.defaults.modelPolicy.allow. "
            "Add \"fake/model-3\" or \"fake/*\" to agents.defaults.modelPolicy.allow, or remove/empty the list to "
            "allow any model.");
  auto noModel = harness.call(
      "agent", json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", "r2"}, {"provider", "fake"}});
  ASSERT_FALSE(noModel.ok);
  EXPECT_EQ(noModel.error->publicMessage(), "Invalid model override.");
  gw.executors.runReady();
  EXPECT_EQ(gw.provider->count(), 0u);  // nothing refused reached the model

  auto ok = harness.call(
      "agent", json::object{{"sessionKey", "main"}, {"message", "hi"}, {"idempotencyKey", "r3"}, {"model", "TWO"}});
  EXPECT_TRUE(ok.ok) << (ok.error ? ok.error->toString() : "");
  ASSERT_TRUE(gw.waitCalls(1));
  const ModelRequest& request = gw.provider->call(0)->request;
  EXPECT_EQ(request.model, "model-2");
  EXPECT_EQ(request.temperature, 0.3);
  EXPECT_EQ(request.maxTokens, 77);
}

}  // namespace
}  // namespace talon::gateway::methods
