// The turn state machine in simulated time: a real SQLite store in a temp dir, a model provider the test
// drives (tests/support/fake_model_provider.h), deterministic executors (tests/support/manual_executors.h) and a
// SimulatedClock. Nothing sleeps: timers fire when the test advances the clock.
#include "gateway/agent/agent_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "base/json.h"
#include "gateway/agent/run_observer.h"
#include "gateway/agent/transcript_tool_calls.h"
#include "gateway/health/health_registry.h"
#include "gateway/health/metrics_registry.h"
#include "gateway/tools/tool_outcome.h"
#include "gateway/tools/tool_registry.h"
#include "store/compaction_repository.h"
#include "store/sqlite_store.h"
#include "support/fake_model_provider.h"
#include "support/manual_executors.h"
#include "support/temp_dir.h"

namespace talon::gateway {
namespace {
namespace fs = std::filesystem;

using talon::testing::FakeModelProvider;

// ---- tools and a gate the test drives -----------------------------------------------------------------

class TestTool final : public tools::Tool {
 public:
  TestTool(std::string name, std::function<Result<std::string>(const json::object&, const tools::ToolContext&)> run)
      : name_(std::move(name)), run_(std::move(run)) {}
  std::string_view name() const override { return name_; }
  std::string_view description() const override { return "test tool"; }
  const json::object& parameters() const override { return params_; }
  Result<std::string> invoke(const json::object& args, const tools::ToolContext& ctx) const override {
    return run_(args, ctx);
  }

 private:
  std::string name_;
  json::object params_{{"type", "object"}};
  std::function<Result<std::string>(const json::object&, const tools::ToolContext&)> run_;
};

/// A gate whose every decision waits for the test (an approval).
class ManualGate final : public tools::ToolGate {
 public:
  /// A decision the test makes (also after cancel(), to show a late one is ignored). Its callback, which
  /// holds the turn, is released once used, as the real gate releases it: this gate keeps its requests
  /// and the runner keeps the gate, so keeping it would tie them in a cycle.
  struct Pending final : tools::PendingDecision {
    void cancel() override { cancelled = true; }
    void decide(tools::GateDecision d) {
      auto f = std::move(onDecision);
      onDecision = nullptr;
      if (f) f(std::move(d));
    }
    tools::ToolRequest request;
    std::function<void(tools::GateDecision)> onDecision;
    bool cancelled = false;
  };
  tools::PendingDecisionPtr check(const tools::ToolRequest& request,
                                  std::function<void(tools::GateDecision)> decide) override {
    auto p = std::make_shared<Pending>();
    p->request = request;
    p->onDecision = std::move(decide);
    pending.push_back(p);
    return p;
  }
  std::vector<std::shared_ptr<Pending>> pending;
};

struct Event {
  std::string name;
  std::string runId;
  json::object payload;
};

// ---- the fixture --------------------------------------------------------------------------------------

class AgentRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "workspace");
    store::SqliteStoreOptions storeOptions;
    storeOptions.path = dir_ / "state.sqlite";
    auto store = store::openSqliteStore(storeOptions);
    ASSERT_TRUE(store) << store.error().toString();
    store_ = std::move(*store);
    bus_.subscribe(
        [this](const GatewayEvent& e) {
          auto v = parseJson(*e.payloadJson);
          std::lock_guard lock(eventsMu_);
          events_.push_back(Event{e.name, e.runId, v && v->is_object() ? v->get_object() : json::object{}});
        },
        EventBus::Interest::kEverySession);
    registry_ = std::make_shared<tools::ToolRegistry>();
    ASSERT_TRUE(registry_->add(std::make_unique<TestTool>(
        "echo", [](const json::object& args, const tools::ToolContext&) -> Result<std::string> {
          return std::string(getString(args, "text").value_or(""));
        })));
    ASSERT_TRUE(registry_->add(
        std::make_unique<TestTool>("broken", [](const json::object&, const tools::ToolContext&) -> Result<std::string> {
          return fail(tools::toolError(ErrorCode::kIo, "The disk is full."));
        })));
    ASSERT_TRUE(registry_->add(std::make_unique<TestTool>(
        "watch", [this](const json::object&, const tools::ToolContext& ctx) -> Result<std::string> {
          sawCancelled_ = ctx.isCancelled();
          return std::string("watched");
        })));
  }

  void TearDown() override {
    runner_.reset();
    if (store_) store_->close();
  }

  void makeRunner(AgentRunnerOptions options = {}, tools::ToolGatePtr gate = nullptr,
                  std::vector<std::string> fallbacks = {}) {
    std::map<std::string, ModelProviderPtr> providers{{"fake", provider_}, {"backup", backup_}};
    AgentProfile profile;
    profile.id = "main";
    profile.name = "Main";
    profile.workspace = dir_ / "workspace";
    profile.model = "fake/model-1";
    profile.fallbacks = std::move(fallbacks);
    profile.dailySpendLimitUsd = dailyLimit_;
    profile.monthlySpendLimitUsd = monthlyLimit_;
    profile.compaction = compaction_;
    profile.contextWindows = contextWindows_;
    profile.routing = routing_;
    if (!options.onCompaction) {
      options.onCompaction = [this](const CompactionReport& r) {
        std::lock_guard lock(eventsMu_);
        compactions_.push_back(r);
      };
    }
    auto r = AgentRunner::create(options, {profile}, providers, registry_, *store_, bus_, ex_.executors(), clock_,
                                 std::move(gate));
    ASSERT_TRUE(r) << r.error().toString();
    runner_ = std::move(*r);
  }

  Status submit(const std::string& runId, const std::string& sessionKey = "agent:main:main",
                std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    TurnRequest t;
    t.runId = runId;
    t.agentId = "main";
    t.sessionKey = sessionKey;
    t.message = "hello from " + runId;
    t.timeout = timeout;
    t.onDone = [this](const TurnOutcome& o) {
      std::lock_guard lock(eventsMu_);
      outcomes_[o.runId] = o;
    };
    return runner_->submit(std::move(t));
  }

  bool done(const std::string& runId) {
    std::lock_guard lock(eventsMu_);
    return outcomes_.count(runId) != 0;
  }
  TurnOutcome outcome(const std::string& runId) {
    std::lock_guard lock(eventsMu_);
    return outcomes_.at(runId);
  }
  /// Runs tasks until the turn has ended (its commit comes back from the store's writer thread).
  void settle(const std::string& runId) {
    ASSERT_TRUE(ex_.runUntil([&] { return done(runId); })) << runId;
  }
  void waitCalls(std::size_t n) {
    ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() >= n; }));
  }

  std::vector<Event> events(const std::string& name, const std::string& runId) {
    std::lock_guard lock(eventsMu_);
    std::vector<Event> out;
    for (const auto& e : events_) {
      if (e.name == name && e.runId == runId) out.push_back(e);
    }
    return out;
  }
  /// The "turn" states published for a run, in order.
  std::vector<std::string> states(const std::string& runId) {
    std::vector<std::string> out;
    for (const auto& e : events("agent", runId)) {
      if (getString(e.payload, "stream") != "turn") continue;
      out.emplace_back(getString(e.payload.at("data").get_object(), "state").value_or(""));
    }
    return out;
  }
  std::vector<json::object> agentData(const std::string& runId, std::string_view stream) {
    std::vector<json::object> out;
    for (const auto& e : events("agent", runId)) {
      if (getString(e.payload, "stream") == stream) out.push_back(e.payload.at("data").get_object());
    }
    return out;
  }
  std::vector<json::object> chat(const std::string& runId, std::string_view state) {
    std::vector<json::object> out;
    for (const auto& e : events("chat", runId)) {
      if (getString(e.payload, "state") == state) out.push_back(e.payload);
    }
    return out;
  }
  std::vector<store::TranscriptEntry> transcript(const std::string& sessionKey = "agent:main:main") {
    auto t = store_->transcripts().tail(sessionKey, 0);
    EXPECT_TRUE(t);
    return t ? *t : std::vector<store::TranscriptEntry>{};
  }
  std::string runStatus(const std::string& runId) {
    auto r = store_->runs().get(runId);
    return r && *r ? std::string(store::runStatusName((*r)->status)) : std::string("<none>");
  }

  talon::testing::TempDir dir_{"talon-runner"};
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  talon::testing::ManualExecutors ex_{clock_};
  store::StorePtr store_;
  EventBus bus_;
  std::shared_ptr<FakeModelProvider> provider_ = std::make_shared<FakeModelProvider>();
  std::shared_ptr<FakeModelProvider> backup_ = std::make_shared<FakeModelProvider>("backup");
  std::shared_ptr<tools::ToolRegistry> registry_;
  std::unique_ptr<AgentRunner> runner_;
  std::mutex eventsMu_;
  std::vector<Event> events_;
  std::map<std::string, TurnOutcome> outcomes_;
  std::atomic<bool> sawCancelled_{false};
  std::optional<double> dailyLimit_;
  std::optional<double> monthlyLimit_;
  CompactionSettings compaction_;
  std::map<std::string, int64_t> contextWindows_;
  RoutingPolicy routing_;                      // AgentProfile::routing
  std::vector<CompactionReport> compactions_;  // AgentRunnerOptions::onCompaction
};

ToolCall toolCall(std::string id, std::string name, std::string args) {
  return ToolCall{std::move(id), std::move(name), std::move(args)};
}

// ---- states and events --------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, ATurnWalksItsStatesAndCommitsBeforeTheFinalEvent) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  EXPECT_EQ(runner_->state("r1"), TurnState::kModel);
  EXPECT_EQ(runStatus("r1"), "running");  // intake committed the run record before the model call
  provider_->call(0)->delta("Hel");
  provider_->call(0)->delta("lo");
  provider_->call(0)->answer("Hello");
  settle("r1");
  EXPECT_EQ(states("r1"), (std::vector<std::string>{"intake", "context", "model", "commit", "deliver", "done"}));
  auto o = outcome("r1");
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.text, "Hello");
  EXPECT_EQ(runStatus("r1"), "ok");
  auto t = transcript();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(store::transcriptRoleName(t[0].role), "user");
  EXPECT_EQ(t[1].content, "Hello");
  ASSERT_EQ(chat("r1", "final").size(), 1u);
  auto lifecycle = agentData("r1", "lifecycle");
  ASSERT_EQ(lifecycle.size(), 2u);
  EXPECT_EQ(getString(lifecycle[0], "phase"), "start");
  EXPECT_EQ(getString(lifecycle[1], "phase"), "end");
  EXPECT_FALSE(runner_->state("r1"));  // ended turns are forgotten
}

// ---- lanes and the global cap -------------------------------------------------------------------------

TEST_F(AgentRunnerTest, OneTurnAtATimePerSessionOtherSessionsConcurrently) {
  makeRunner();
  ASSERT_TRUE(submit("a1", "agent:main:a"));
  ASSERT_TRUE(submit("a2", "agent:main:a"));
  ASSERT_TRUE(submit("b1", "agent:main:b"));
  waitCalls(2);
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 2u);  // a1 and b1; a2 waits for its lane
  EXPECT_EQ(runner_->state("a2"), TurnState::kQueued);
  EXPECT_EQ(runner_->stats().running, 2);
  EXPECT_EQ(runner_->stats().queued, 1);
  EXPECT_EQ(states("a2"), std::vector<std::string>{"queued"});
  provider_->call(0)->answer("a1 done");
  settle("a1");
  waitCalls(3);
  EXPECT_EQ(runner_->state("a2"), TurnState::kModel);
  // a2's context holds a1's exchange: the lane serialised them.
  const auto& messages = provider_->call(2)->request.messages;
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages[messages.size() - 2].content, "a1 done");
}

TEST_F(AgentRunnerTest, TheSessionCacheKeepsWithinItsBytesAndReloadsWhatItDropped) {
  AgentRunnerOptions options;
  options.sessionCacheBytes = 1;  // every session is over the bound: only the most recent one stays
  makeRunner(options);
  ASSERT_TRUE(submit("a1", "agent:main:a"));
  waitCalls(1);
  provider_->call(0)->answer("a1 done");
  settle("a1");
  EXPECT_EQ(runner_->stats().cachedSessions, 1);
  EXPECT_GT(runner_->stats().cachedSessionBytes, 1);  // the one kept whatever its size
  ASSERT_TRUE(submit("b1", "agent:main:b"));
  waitCalls(2);
  provider_->call(1)->answer("b1 done");
  settle("b1");
  EXPECT_EQ(runner_->stats().cachedSessions, 1);  // a was dropped when b was loaded
  // a reloads from the store with its history intact.
  ASSERT_TRUE(submit("a2", "agent:main:a"));
  waitCalls(3);
  const auto& messages = provider_->call(2)->request.messages;
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages[messages.size() - 3].content, "hello from a1");
  EXPECT_EQ(messages[messages.size() - 2].content, "a1 done");
  EXPECT_EQ(messages.back().content, "hello from a2");
  provider_->call(2)->answer("a2 done");
  settle("a2");
  EXPECT_EQ(runner_->stats().cachedSessions, 1);
}

TEST_F(AgentRunnerTest, TheSessionCacheCountsTheBytesOfItsHistories) {
  makeRunner();  // default bounds: both sessions stay
  ASSERT_TRUE(submit("a1", "agent:main:a"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(10'000, 'x'));
  settle("a1");
  const int64_t afterA = runner_->stats().cachedSessionBytes;
  EXPECT_GT(afterA, 10'000);  // the answer is in a's history
  ASSERT_TRUE(submit("b1", "agent:main:b"));
  waitCalls(2);
  provider_->call(1)->answer("short");
  settle("b1");
  EXPECT_EQ(runner_->stats().cachedSessions, 2);
  EXPECT_GT(runner_->stats().cachedSessionBytes, afterA);
  EXPECT_LT(runner_->stats().cachedSessionBytes, afterA + 10'000);
}

TEST_F(AgentRunnerTest, TheGlobalCapQueuesTurnsOfOtherSessions) {
  AgentRunnerOptions options;
  options.maxConcurrent = 1;
  makeRunner(options);
  ASSERT_TRUE(submit("a1", "agent:main:a"));
  ASSERT_TRUE(submit("b1", "agent:main:b"));
  waitCalls(1);
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 1u);
  EXPECT_EQ(runner_->state("b1"), TurnState::kQueued);
  EXPECT_EQ(runner_->stats().queued, 1);
  provider_->call(0)->answer("ok");
  settle("a1");
  waitCalls(2);
  EXPECT_EQ(runner_->stats().running, 1);
  EXPECT_EQ(runner_->stats().queued, 0);
}

// ---- limits -------------------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, TheStepLimitEndsTheRunAsFailed) {
  AgentRunnerOptions options;
  options.maxSteps = 2;
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  for (std::size_t i = 0; i < 2; ++i) {
    waitCalls(i + 1);
    provider_->call(i)->callTools({toolCall("c" + std::to_string(i), "echo", R"({"text":"x"})")});
  }
  settle("r1");
  auto o = outcome("r1");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(o.stopReason, "max_steps");
  EXPECT_EQ(provider_->count(), 2u);
  EXPECT_EQ(runStatus("r1"), "error");
  ASSERT_EQ(chat("r1", "error").size(), 1u);
  EXPECT_EQ(states("r1").back(), "failed");
}

TEST_F(AgentRunnerTest, TheTurnTimeoutCutsAHungModelCallAtTheDeadline) {
  AgentRunnerOptions options;
  options.defaultTimeout = std::chrono::milliseconds(1000);
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  ex_.advance(999);
  EXPECT_EQ(runner_->state("r1"), TurnState::kModel);
  EXPECT_FALSE(provider_->call(0)->cancelled);
  ex_.advance(1);
  EXPECT_TRUE(provider_->call(0)->cancelled);
  settle("r1");
  auto o = outcome("r1");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(o.stopReason, "timeout");
  auto errors = chat("r1", "error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(getString(errors[0], "errorKind"), "timeout");
  EXPECT_EQ(runStatus("r1"), "error");
}

TEST_F(AgentRunnerTest, ARequestTimeoutOverridesTheDefault) {
  makeRunner();
  ASSERT_TRUE(submit("r1", "agent:main:main", std::chrono::milliseconds(50)));
  waitCalls(1);
  EXPECT_EQ(provider_->call(0)->request.timeout.count(), 50);
  ex_.advance(50);
  settle("r1");
  EXPECT_EQ(outcome("r1").stopReason, "timeout");
}

// ---- abort --------------------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, AbortCancelsTheModelCallAndKeepsThePartialAnswer) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->delta("Half an ans");
  auto r = runner_->abort("r1", "agent:main:main");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->aborted);
  EXPECT_EQ(r->runIds, std::vector<std::string>{"r1"});
  EXPECT_TRUE(provider_->call(0)->cancelled);  // its late kCancelled completion is ignored
  settle("r1");
  auto o = outcome("r1");
  EXPECT_TRUE(o.aborted);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kCancelled);
  EXPECT_EQ(o.stopReason, "rpc");
  auto aborted = chat("r1", "aborted");
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(getString(aborted[0], "stopReason"), "rpc");
  EXPECT_EQ(json::serialize(aborted[0].at("message").at("content")), R"([{"type":"text","text":"Half an ans"}])");
  EXPECT_TRUE(chat("r1", "error").empty());
  auto lifecycle = agentData("r1", "lifecycle");
  ASSERT_EQ(lifecycle.size(), 2u);
  EXPECT_EQ(getString(lifecycle[1], "status"), "cancelled");
  EXPECT_EQ(lifecycle[1].at("aborted"), json::value(true));
  EXPECT_EQ(runStatus("r1"), "aborted");
  auto t = transcript();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].content, "Half an ans");
  EXPECT_EQ(states("r1").back(), "aborted");
  // Aborting again finds nothing to abort.
  auto again = runner_->abort("r1");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->aborted);
}

TEST_F(AgentRunnerTest, AnAbortedQueuedTurnNeverRuns) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  ASSERT_TRUE(submit("r2"));
  waitCalls(1);
  auto r = runner_->abort("r2");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->aborted);
  ASSERT_TRUE(done("r2"));  // ended at once, with its events
  EXPECT_TRUE(outcome("r2").aborted);
  EXPECT_EQ(chat("r2", "aborted").size(), 1u);
  provider_->call(0)->answer("first");
  settle("r1");
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 1u);  // r2 never reached the model
  EXPECT_EQ(runStatus("r2"), "<none>");
  EXPECT_EQ(transcript().size(), 2u);
  EXPECT_EQ(runner_->stats().queued, 0);
  EXPECT_EQ(runner_->stats().running, 0);
}

TEST_F(AgentRunnerTest, AbortingAHeadWaitingForASlotFreesItsLane) {
  AgentRunnerOptions options;
  options.maxConcurrent = 1;
  makeRunner(options);
  ASSERT_TRUE(submit("a1", "agent:main:a"));
  ASSERT_TRUE(submit("b1", "agent:main:b"));  // waits for the global slot, holding lane b
  ASSERT_TRUE(submit("b2", "agent:main:b"));  // waits for lane b
  waitCalls(1);
  ASSERT_TRUE(runner_->abort("b1"));
  EXPECT_EQ(runner_->state("b2"), TurnState::kQueued);
  provider_->call(0)->answer("a");
  settle("a1");
  waitCalls(2);  // b2 got the slot
  EXPECT_EQ(runner_->state("b2"), TurnState::kModel);
}

TEST_F(AgentRunnerTest, AbortSessionAbortsQueuedTurnsFirstThenTheRunningOne) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  ASSERT_TRUE(submit("r2"));
  ASSERT_TRUE(submit("other", "agent:main:other"));
  waitCalls(2);
  auto r = runner_->abortSession("agent:main:main");
  EXPECT_TRUE(r.aborted);
  EXPECT_EQ(r.runIds, (std::vector<std::string>{"r2", "r1"}));
  settle("r1");
  EXPECT_TRUE(outcome("r1").aborted);
  EXPECT_EQ(runner_->state("other"), TurnState::kModel);
}

TEST_F(AgentRunnerTest, AbortOfARunOfAnotherSessionIsRefused) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  auto r = runner_->abort("r1", "agent:main:elsewhere");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(runner_->state("r1"), TurnState::kModel);
  auto unknown = runner_->abort("nope");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->aborted);
}

// ---- drain --------------------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, DrainLetsRunningTurnsFinishWithinTheGrace) {
  AgentRunnerOptions options;
  options.drainGrace = std::chrono::milliseconds(5000);
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  bool drained = false;
  runner_->drain([&] { drained = true; });
  EXPECT_EQ(submit("late").error().code, ErrorCode::kUnavailable);
  ex_.advance(4000);
  EXPECT_FALSE(drained);
  provider_->call(0)->answer("finished in time");
  ASSERT_TRUE(ex_.runUntil([&] { return drained; }));
  EXPECT_FALSE(outcome("r1").error);
  EXPECT_EQ(runStatus("r1"), "ok");
  EXPECT_EQ(ex_.armedTimers(), 0u);  // the grace timer was cancelled
}

TEST_F(AgentRunnerTest, DrainAbortsWhatIsLeftAfterTheGrace) {
  AgentRunnerOptions options;
  options.drainGrace = std::chrono::milliseconds(5000);
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  ASSERT_TRUE(submit("r2"));
  waitCalls(1);
  bool drained = false;
  runner_->drain([&] { drained = true; });
  ex_.advance(4999);
  EXPECT_FALSE(drained);
  EXPECT_FALSE(provider_->call(0)->cancelled);
  ex_.advance(1);
  EXPECT_TRUE(provider_->call(0)->cancelled);
  ASSERT_TRUE(ex_.runUntil([&] { return drained; }));
  EXPECT_TRUE(outcome("r1").aborted);
  EXPECT_EQ(outcome("r1").stopReason, "shutdown");
  EXPECT_TRUE(outcome("r2").aborted);
  EXPECT_EQ(provider_->count(), 1u);
  EXPECT_EQ(runStatus("r1"), "aborted");
}

TEST_F(AgentRunnerTest, DrainWithNothingRunningReportsAtOnce) {
  makeRunner();
  bool drained = false;
  runner_->drain([&] { drained = true; });
  EXPECT_TRUE(drained);
}

// ---- the ToolGate and tool outcomes -------------------------------------------------------------------

TEST_F(AgentRunnerTest, TheGatePausesTheTurnUntilAnApprovalArrives) {
  auto gate = std::make_shared<ManualGate>();
  makeRunner({}, gate);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "echo", R"({"text":"approved output"})")});
  ex_.runReady();
  ASSERT_EQ(gate->pending.size(), 1u);
  EXPECT_EQ(gate->pending[0]->request.toolName, "echo");
  EXPECT_EQ(gate->pending[0]->request.toolCallId, "c1");
  EXPECT_EQ(runner_->state("r1"), TurnState::kTools);
  // Paused: no task queued, no thread held, the tool not run, however long the wait.
  ex_.advance(60'000);
  EXPECT_EQ(ex_.pendingIo() + ex_.pendingBlocking() + ex_.pendingTools(), 0u);
  EXPECT_EQ(ex_.toolTasksPosted(), 0u);
  EXPECT_EQ(provider_->count(), 1u);
  auto waiting = agentData("r1", "turn").back();
  EXPECT_EQ(getString(waiting, "waiting"), "approval");
  // The approval arrives (from any thread); the turn resumes.
  gate->pending[0]->decide(tools::GateDecision::allowed());
  waitCalls(2);
  EXPECT_EQ(ex_.toolTasksPosted(), 1u);
  EXPECT_EQ(provider_->call(1)->request.messages.back().content, "approved output");
  provider_->call(1)->answer("done");
  settle("r1");
  EXPECT_FALSE(outcome("r1").error);
  auto t = transcript();
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(store::transcriptRoleName(t[2].role), "tool");
  EXPECT_FALSE(tools::decodeTranscriptMeta(t[2].toolCallsJson, t[2].content).isError);
}

TEST_F(AgentRunnerTest, ADeniedCallNeverRunsAndIsRecordedAsDenied) {
  auto gate = std::make_shared<ManualGate>();
  makeRunner({}, gate);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "watch", "{}")});
  ex_.runReady();
  ASSERT_EQ(gate->pending.size(), 1u);
  gate->pending[0]->decide(tools::GateDecision::denied("Not allowed here."));
  waitCalls(2);
  EXPECT_EQ(ex_.toolTasksPosted(), 0u);
  EXPECT_EQ(provider_->call(1)->request.messages.back().content, "error: Not allowed here.");
  auto results = agentData("r1", "tool");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].at("isError"), json::value(true));
  EXPECT_EQ(getString(results[1], "errorKind"), "denied");
  provider_->call(1)->answer("ok");
  settle("r1");
  auto t = transcript();
  ASSERT_EQ(t.size(), 4u);
  auto meta = tools::decodeTranscriptMeta(t[2].toolCallsJson, t[2].content);
  EXPECT_TRUE(meta.isError);
  EXPECT_EQ(meta.errorKind, tools::ToolErrorKind::kDenied);
}

TEST_F(AgentRunnerTest, AbortWhileAwaitingApprovalWithdrawsTheRequest) {
  auto gate = std::make_shared<ManualGate>();
  makeRunner({}, gate);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "echo", "{}"), toolCall("c2", "echo", "{}")});
  ex_.runReady();
  ASSERT_EQ(gate->pending.size(), 1u);
  ASSERT_TRUE(runner_->abort("r1")->aborted);
  EXPECT_TRUE(gate->pending[0]->cancelled);
  gate->pending[0]->decide(tools::GateDecision::allowed());  // too late: ignored
  settle("r1");
  EXPECT_TRUE(outcome("r1").aborted);
  EXPECT_EQ(ex_.toolTasksPosted(), 0u);
  auto t = transcript();
  ASSERT_EQ(t.size(), 4u);  // user, assistant with two calls, two cancelled results
  for (std::size_t i = 2; i < 4; ++i) {
    auto meta = tools::decodeTranscriptMeta(t[i].toolCallsJson, t[i].content);
    EXPECT_TRUE(meta.isError);
    EXPECT_EQ(meta.errorKind, tools::ToolErrorKind::kCancelled);
  }
}

TEST_F(AgentRunnerTest, AbortDuringAToolCallSetsItsCancelledFlag) {
  makeRunner();
  ex_.holdTools(true);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "watch", "{}")});
  ex_.runReady();
  ASSERT_EQ(ex_.pendingTools(), 1u);  // the tool is "running"
  ASSERT_TRUE(runner_->abort("r1")->aborted);
  settle("r1");  // the turn does not wait for the tool
  EXPECT_TRUE(outcome("r1").aborted);
  EXPECT_EQ(ex_.runTools(), 1u);
  EXPECT_TRUE(sawCancelled_);
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 1u);  // the late result is ignored
}

// The fault matrix's "tool timeout" (issue 9): a tool that never returns is cut at the turn's deadline —
// the run ends as a timeout error, the tool's call is told it is cancelled, and its late result is ignored.
TEST_F(AgentRunnerTest, AHungToolIsCutAtTheTurnDeadline) {
  AgentRunnerOptions options;
  options.defaultTimeout = std::chrono::milliseconds(1000);
  makeRunner(options);
  ex_.holdTools(true);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "watch", "{}")});
  ex_.runReady();
  ASSERT_EQ(ex_.pendingTools(), 1u);  // the tool is "running", and never finishes by itself
  ex_.advance(999);
  EXPECT_EQ(runner_->state("r1"), TurnState::kTools);
  ex_.advance(1);
  settle("r1");
  auto o = outcome("r1");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(o.stopReason, "timeout");
  EXPECT_EQ(runStatus("r1"), "error");
  auto errors = chat("r1", "error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(getString(errors[0], "errorKind"), "timeout");
  EXPECT_EQ(ex_.runTools(), 1u);
  EXPECT_TRUE(sawCancelled_);
  ex_.runReady();
  EXPECT_EQ(provider_->count(), 1u);  // the late result is ignored
}

TEST_F(AgentRunnerTest, ToolOutcomesAreValuesWithTheirKind) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "nosuch", "{}"), toolCall("c2", "echo", "[1,2]"),
                                 toolCall("c3", "broken", "{}"), toolCall("c4", "echo", R"({"text":"fine"})")});
  waitCalls(2);
  provider_->call(1)->answer("ok");
  settle("r1");
  auto t = transcript();
  ASSERT_EQ(t.size(), 7u);
  auto kind = [&](std::size_t i) { return tools::decodeTranscriptMeta(t[i].toolCallsJson, t[i].content).errorKind; };
  EXPECT_EQ(kind(2), tools::ToolErrorKind::kNotFound);
  EXPECT_EQ(kind(3), tools::ToolErrorKind::kInvalidArguments);
  EXPECT_EQ(kind(4), tools::ToolErrorKind::kFailed);
  EXPECT_EQ(t[4].content, "error: The disk is full.");
  EXPECT_FALSE(tools::decodeTranscriptMeta(t[5].toolCallsJson, t[5].content).isError);
  EXPECT_EQ(t[5].content, "fine");
  EXPECT_EQ(t[2].toolCallId, "c1");
}

TEST_F(AgentRunnerTest, ToolCallsAreCountedPerRegisteredToolAndOutcome) {
  health::MetricsRegistry metrics;
  health::HealthRegistry records(clock_);
  auto observer = RunObserver::create(metrics, records, registry_->names());
  ASSERT_TRUE(observer) << observer.error().toString();
  AgentRunnerOptions options;
  options.onToolCall = [&](std::string_view tool, const tools::ToolOutcome& outcome) {
    (*observer)->observeTool(tool, outcome);
  };
  options.onRunEnded = [&](const TurnOutcome& outcome) { (*observer)->observe(outcome); };
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "nosuch", "{}"), toolCall("c2", "echo", "[1,2]"),
                                 toolCall("c3", "broken", "{}"), toolCall("c4", "echo", R"({"text":"fine"})")});
  waitCalls(2);
  provider_->call(1)->answer("ok");
  settle("r1");
  const std::string text = metrics.render();
  for (const char* line : {
           "talon_tool_calls_total{tool=\"echo\",outcome=\"ok\"} 1\n",
           "talon_tool_calls_total{tool=\"echo\",outcome=\"invalid_arguments\"} 1\n",
           "talon_tool_calls_total{tool=\"broken\",outcome=\"failed\"} 1\n",
           "talon_tool_calls_total{tool=\"unknown\",outcome=\"not_found\"} 1\n",  // the model's name is not a label
           "talon_tool_calls_total{tool=\"watch\",outcome=\"ok\"} 0\n",
           "talon_runs_total{outcome=\"ok\"} 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_EQ(text.find("nosuch"), std::string::npos);
}

// ---- traces -------------------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, TheRequestsTraceReachesEveryModelCallAndTheRunRecord) {
  makeRunner();
  TurnRequest t;
  t.runId = "traced";
  t.agentId = "main";
  t.sessionKey = "agent:main:main";
  t.message = "save a note";
  t.trace = protocol::parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t.trace);
  t.onDone = [this](const TurnOutcome& o) {
    std::lock_guard lock(eventsMu_);
    outcomes_[o.runId] = o;
  };
  ASSERT_TRUE(runner_->submit(std::move(t)));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("c1", "echo", R"({"text":"x"})")});
  waitCalls(2);
  provider_->call(1)->answer("done");
  settle("traced");
  // Each call is a child span of the caller's: same trace id and flags, a new non-zero span id.
  std::vector<std::string> spans;
  for (std::size_t i = 0; i < 2; ++i) {
    auto sent = protocol::parseTraceparent(provider_->call(i)->request.traceparent);
    ASSERT_TRUE(sent) << provider_->call(i)->request.traceparent;
    EXPECT_EQ(sent->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(sent->flags, "01");
    EXPECT_NE(sent->parentId, "00f067aa0ba902b7");
    spans.push_back(sent->parentId);
  }
  EXPECT_NE(spans[0], spans[1]);
  auto run = store_->runs().get("traced");
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  auto attempts = parseJson((*run)->attemptsJson);
  ASSERT_TRUE(attempts && attempts->is_array());
  ASSERT_EQ(attempts->as_array().size(), 2u);
  EXPECT_EQ(getString(attempts->as_array()[0].as_object(), "spanId"), spans[0]);
  EXPECT_EQ(getString(attempts->as_array()[1].as_object(), "spanId"), spans[1]);

  // Without a trace: no header, no trace id.
  ASSERT_TRUE(submit("plain"));
  waitCalls(3);
  EXPECT_EQ(provider_->call(2)->request.traceparent, "");
  provider_->call(2)->answer("ok");
  settle("plain");
  auto plain = store_->runs().get("plain");
  ASSERT_TRUE(plain && *plain);
  EXPECT_EQ((*plain)->traceId, "");
}

// ---- streamed text ------------------------------------------------------------------------------------

TEST_F(AgentRunnerTest, DeltasAreCoalescedAndFlushedBeforeTheFinal) {
  AgentRunnerOptions options;
  options.deltaPacing = std::chrono::milliseconds(75);
  options.deltaBytesPerSecond = 0;
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  auto call = provider_->call(0);
  call->delta("a");  // the first piece goes out at once
  EXPECT_EQ(chat("r1", "delta").size(), 1u);
  for (int i = 0; i < 99; ++i) call->delta("b");  // within the pacing window: held
  EXPECT_EQ(chat("r1", "delta").size(), 1u);
  ex_.advance(75);  // the paced flush
  auto deltas = chat("r1", "delta");
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(getString(deltas[1], "deltaText"), std::string(99, 'b'));
  EXPECT_FALSE(deltas[1].contains("replace"));
  call->delta("c");  // held: less than 75 ms since the last flush
  ex_.advance(10);
  EXPECT_EQ(chat("r1", "delta").size(), 2u);
  call->answer("a" + std::string(99, 'b') + "c");
  settle("r1");
  deltas = chat("r1", "delta");
  ASSERT_EQ(deltas.size(), 3u);  // flushed before the final
  EXPECT_EQ(getString(deltas[2], "deltaText"), "c");
  std::string joined;
  for (const auto& d : deltas) joined += getString(d, "deltaText").value_or("");
  EXPECT_EQ(joined, "a" + std::string(99, 'b') + "c");
  auto assistant = agentData("r1", "assistant");
  ASSERT_EQ(assistant.size(), 3u);
  EXPECT_EQ(getString(assistant[1], "delta"), std::string(99, 'b'));
  // The final comes after the last delta.
  auto all = events("chat", "r1");
  EXPECT_EQ(getString(all.back().payload, "state"), "final");
}

TEST_F(AgentRunnerTest, StreamedBytesStayNearLinearInTheAnswer) {
  AgentRunnerOptions options;  // defaults: 75 ms pacing, 256 KiB/s budget
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  auto call = provider_->call(0);
  // A 100 KB answer in 1,000 pieces of 100 bytes, one every 5 ms (5 s of streaming).
  std::string piece(100, 'x');
  for (int i = 0; i < 1000; ++i) {
    call->delta(piece);
    ex_.advance(5);
  }
  call->answer(std::string(100'000, 'x'));
  settle("r1");
  std::size_t bytes = 0;
  auto deltas = chat("r1", "delta");
  for (const auto& d : deltas) bytes += json::serialize(d).size();
  // Unpaced, each of the 1,000 deltas would carry the text so far: ~100 MB in deltaText and message.
  // Paced, the deltas number ~5 s / max(75 ms, size / budget) and the bytes a small multiple of it.
  EXPECT_LT(deltas.size(), 70u);
  EXPECT_LT(bytes, 4'000'000u);
  std::string joined;
  for (const auto& d : deltas) joined += getString(d, "deltaText").value_or("");
  EXPECT_EQ(joined.size(), 100'000u);
}

TEST_F(AgentRunnerTest, ANewModelStepReplacesTheStreamedText) {
  AgentRunnerOptions options;
  options.deltaPacing = std::chrono::milliseconds(0);
  options.deltaBytesPerSecond = 0;
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->delta("Let me look.");
  provider_->call(0)->callTools({toolCall("c1", "echo", "{}")});
  waitCalls(2);
  provider_->call(1)->delta("Found it.");
  provider_->call(1)->answer("Found it.");
  settle("r1");
  auto deltas = chat("r1", "delta");
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[1].at("replace"), json::value(true));
  EXPECT_EQ(getString(deltas[1], "deltaText"), "Found it.");
}

TEST_F(AgentRunnerTest, SubmitRefusesADuplicateRunIdAndAnUnknownAgent) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  EXPECT_EQ(submit("r1").error().code, ErrorCode::kAlreadyExists);
  TurnRequest t;
  t.runId = "x";
  t.agentId = "ghost";
  t.sessionKey = "agent:ghost:main";
  EXPECT_EQ(runner_->submit(std::move(t)).error().code, ErrorCode::kNotFound);
}

// ---- recovery: same-model retries, then the fallback chain (model_failover.h) ----------------------------

/// A provider's HTTP error as the OpenAI-compatible provider reports it (openai_chat_wire.cpp).
Error httpError(int status, std::string vendorCode, std::string message, int64_t retryAfterMs = 0) {
  ErrorCode code = status == 429   ? ErrorCode::kResourceExhausted
                   : status >= 500 ? ErrorCode::kUnavailable
                                   : ErrorCode::kInvalidArgument;
  Error e(code, "provider fake: HTTP " + std::to_string(status) + ": " + message, "the model provider answered");
  e.details["httpStatus"] = status;
  if (!vendorCode.empty()) e.details["vendorCode"] = vendorCode;
  e.retryAfterMs = retryAfterMs;
  return e;
}

AgentRunnerOptions recoveryOptions() {
  AgentRunnerOptions options;
  options.retryJitter = [] { return 0.5; };  // backoff factor 1: waits are exactly 1 s, 2 s, 4 s, ...
  options.providerIdentities["fake"] = ProviderIdentity{"openai-completions", "https://fake.example", {}};
  config::ModelCost price;
  price.input = 2.0;
  price.output = 10.0;
  options.providerIdentities["backup"] =
      ProviderIdentity{"openai-completions", "http://127.0.0.1:9", {{"model-2", price}}};
  return options;
}

json::array attemptsOf(store::StorePtr& store, const std::string& runId) {
  auto r = store->runs().get(runId);
  EXPECT_TRUE(r && *r);
  if (!r || !*r) return {};
  auto v = parseJson((*r)->attemptsJson);
  EXPECT_TRUE(v && v->is_array()) << (*r)->attemptsJson;
  return v && v->is_array() ? v->get_array() : json::array{};
}

TEST_F(AgentRunnerTest, APrimaryWithoutTheModelFallsBackToTheNextModelAndTheRunSaysWhichAnswered) {
  makeRunner(recoveryOptions(), nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(404, "model_not_found", "The model `model-1` does not exist")));
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() == 1; }));
  EXPECT_EQ(backup_->call(0)->request.model, "model-2");
  EXPECT_EQ(backup_->call(0)->request.messages.back().content, "hello from r1");  // same conversation
  backup_->call(0)->answer("from the backup");
  settle("r1");
  auto o = outcome("r1");
  ASSERT_FALSE(o.error) << o.error->toString();
  EXPECT_EQ(o.text, "from the backup");
  EXPECT_EQ(o.providerId, "backup");
  EXPECT_EQ(o.model, "model-2");
  EXPECT_EQ(o.modelAttempts, 2);
  EXPECT_EQ(o.modelFailures, 1);

  auto run = store_->runs().get("r1");
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->model, "fake/model-1");  // the selection; the fallback is turn-local
  EXPECT_EQ((*run)->providerId, "backup");
  EXPECT_EQ((*run)->providerApi, "openai-completions");
  EXPECT_EQ((*run)->baseUrlOrigin, "http://127.0.0.1:9");
  EXPECT_EQ((*run)->answeredModel, "model-2");
  ASSERT_TRUE((*run)->costUsd.has_value());
  EXPECT_DOUBLE_EQ(*(*run)->costUsd, (10 * 2.0 + 5 * 10.0) / 1e6);  // FakeCall::answer: 10 in, 5 out
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(getString(attempts[0].get_object(), "provider"), "fake");
  EXPECT_EQ(getString(attempts[0].get_object(), "reason"), "model_not_found");
  EXPECT_EQ(getString(attempts[0].get_object(), "action"), "fallback");
  EXPECT_EQ(attempts[0].get_object().at("httpStatus"), json::value(404));
  EXPECT_EQ(getString(attempts[1].get_object(), "provider"), "backup");
  EXPECT_EQ(getString(attempts[1].get_object(), "outcome"), "ok");
  // The next turn starts from the selected primary again.
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  EXPECT_EQ(provider_->call(1)->request.model, "model-1");
}

TEST_F(AgentRunnerTest, ARateLimitIsRetriedOnTheSameModelAfterItsRetryAfter) {
  makeRunner(recoveryOptions(), nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(429, "rate_limit_exceeded", "slow down", 5000)));
  ex_.runReady();
  ex_.advance(4999);
  EXPECT_EQ(provider_->count(), 1u);  // still waiting out Retry-After
  EXPECT_EQ(runner_->state("r1"), TurnState::kModel);
  ex_.advance(1);
  waitCalls(2);
  EXPECT_EQ(backup_->count(), 0u);
  provider_->call(1)->answer("after the wait");
  settle("r1");
  auto o = outcome("r1");
  ASSERT_FALSE(o.error) << o.error->toString();
  EXPECT_EQ(o.providerId, "fake");
  EXPECT_EQ(o.steps, 1);  // a retry repeats the step
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(getString(attempts[0].get_object(), "reason"), "rate_limit");
  EXPECT_EQ(getString(attempts[0].get_object(), "action"), "retry");
  EXPECT_EQ(attempts[0].get_object().at("retryInMs"), json::value(5000));
  auto run = store_->runs().get("r1");
  EXPECT_FALSE((*run)->costUsd.has_value());  // model-1 has no price table
}

TEST_F(AgentRunnerTest, ServerErrorsBackOffExponentiallyThenTheChainMovesOn) {
  auto options = recoveryOptions();
  options.retry.maxTransientRetries = 2;
  makeRunner(options, nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(500, "", "internal error")));
  ex_.runReady();
  ex_.advance(999);
  EXPECT_EQ(provider_->count(), 1u);
  ex_.advance(1);  // first retry after 1 s
  waitCalls(2);
  provider_->call(1)->complete(fail(httpError(503, "", "unavailable")));
  ex_.runReady();
  ex_.advance(1999);
  EXPECT_EQ(provider_->count(), 2u);
  ex_.advance(1);  // second retry after 2 s
  waitCalls(3);
  provider_->call(2)->complete(fail(httpError(500, "", "internal error")));  // budget spent: fall back
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() == 1; }));
  backup_->call(0)->answer("ok");
  settle("r1");
  ASSERT_FALSE(outcome("r1").error);
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 4u);
  EXPECT_EQ(getString(attempts[0].get_object(), "action"), "retry");
  EXPECT_EQ(attempts[0].get_object().at("retryInMs"), json::value(1000));
  EXPECT_EQ(attempts[1].get_object().at("retryInMs"), json::value(2000));
  EXPECT_EQ(getString(attempts[2].get_object(), "reason"), "server_error");
  EXPECT_EQ(getString(attempts[2].get_object(), "action"), "fallback");
}

TEST_F(AgentRunnerTest, AStrictSelectionFailsTheTurnOnModelNotFound) {
  makeRunner(recoveryOptions());
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(404, "", "The model `model-1` does not exist")));
  settle("r1");
  auto o = outcome("r1");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(backup_->count(), 0u);
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(getString(attempts[0].get_object(), "action"), "fail");
  EXPECT_EQ(runStatus("r1"), "error");
}

TEST_F(AgentRunnerTest, WhenEveryModelFailsTheErrorSummarisesTheChain) {
  makeRunner(recoveryOptions(), nullptr, {"backup/model-2", "nowhere/model-3"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(401, "invalid_api_key", "bad key")));
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() == 1; }));
  backup_->call(0)->complete(fail(httpError(400, "", "bad request")));
  settle("r1");
  auto o = outcome("r1");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->publicMessage(),
            "All models failed (3): fake/model-1: auth | backup/model-2: format | nowhere/model-3: "
            "provider_not_configured");
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(getString(attempts[2].get_object(), "provider"), "nowhere");
  EXPECT_EQ(getString(attempts[2].get_object(), "reason"), "provider_not_configured");
}

// ---- auth-profile rotation (auth_profiles.h): between same-model retries and the fallback chain --------

struct Profiles {
  std::shared_ptr<FakeModelProvider> b = std::make_shared<FakeModelProvider>();
  std::shared_ptr<FakeModelProvider> c = std::make_shared<FakeModelProvider>();
  AuthProfilePoolPtr pool;
};

/// Profiles fake:a (the fixture's provider_), fake:b and fake:c of provider "fake", in that order.
Profiles fakeProfiles(const std::shared_ptr<FakeModelProvider>& a, ClockPtr clock) {
  Profiles p;
  auto pool = AuthProfilePool::create({{"fake:a", "fake", a}, {"fake:b", "fake", p.b}, {"fake:c", "fake", p.c}},
                                      std::move(clock));
  EXPECT_TRUE(pool);
  p.pool = *pool;
  return p;
}

std::vector<std::string> attemptField(const json::array& attempts, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& a : attempts) out.emplace_back(getString(a.get_object(), key).value_or("-"));
  return out;
}

TEST_F(AgentRunnerTest, AnAuthFailureRotatesToTheNextProfileAtOnceAndTheProfileCoolsDownThirtySeconds) {
  auto profiles = fakeProfiles(provider_, clock_);
  auto options = recoveryOptions();
  options.authProfiles = profiles.pool;
  makeRunner(options, nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(401, "", "Unauthorized")));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 1; }));  // no retry, no backoff for a 401
  EXPECT_EQ(profiles.b->call(0)->request.model, "model-1");             // same model, next credential
  profiles.b->call(0)->answer("from b");
  settle("r1");
  auto o = outcome("r1");
  ASSERT_FALSE(o.error) << o.error->toString();
  EXPECT_EQ(o.text, "from b");
  EXPECT_EQ(backup_->count(), 0u);
  auto attempts = attemptsOf(store_, "r1");
  EXPECT_EQ(attemptField(attempts, "authProfile"), (std::vector<std::string>{"fake:a", "fake:b"}));
  EXPECT_EQ(attemptField(attempts, "reason"), (std::vector<std::string>{"auth", "-"}));
  EXPECT_EQ(attemptField(attempts, "action"), (std::vector<std::string>{"rotate_profile", "-"}));
  EXPECT_EQ(attempts[0].get_object().at("profileUnusableUntilMs"), json::value(clock_->nowMs() + 30'000));

  // While fake:a cools down, the next turn starts on fake:b; after 30 s fake:a is first again.
  ASSERT_TRUE(submit("r2"));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 2; }));
  profiles.b->call(1)->answer("b again");
  settle("r2");
  EXPECT_EQ(provider_->count(), 1u);
  ex_.advance(30'000);
  ASSERT_TRUE(submit("r3"));
  waitCalls(2);
  provider_->call(1)->answer("a again");
  settle("r3");
  EXPECT_EQ(outcome("r3").text, "a again");
  EXPECT_EQ(profiles.pool->status("fake:a")->errorCount, 0);  // a success clears the ladder
}

TEST_F(AgentRunnerTest, RateLimitsRetryTheSameProfileThenRotateOnceThenFallBack) {
  auto profiles = fakeProfiles(provider_, clock_);
  auto options = recoveryOptions();
  options.retry.maxRateLimitRetries = 1;
  options.authProfiles = profiles.pool;
  makeRunner(options, nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(429, "rate_limit_exceeded", "slow down", 2000)));
  ex_.runReady();
  ex_.advance(2000);  // 1. the same model and profile after Retry-After
  waitCalls(2);
  provider_->call(1)->complete(fail(httpError(429, "rate_limit_exceeded", "slow down")));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 1; }));  // 2. the next profile
  profiles.b->call(0)->complete(fail(httpError(429, "rate_limit_exceeded", "slow down")));
  ex_.runReady();
  ex_.advance(1000);
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 2; }));
  profiles.b->call(1)->complete(fail(httpError(429, "rate_limit_exceeded", "slow down")));
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() == 1; }));  // 3. one rotation only: the fallback
  EXPECT_EQ(profiles.c->count(), 0u);
  backup_->call(0)->answer("from the backup");
  settle("r1");
  ASSERT_FALSE(outcome("r1").error);
  auto attempts = attemptsOf(store_, "r1");
  EXPECT_EQ(attemptField(attempts, "action"),
            (std::vector<std::string>{"retry", "rotate_profile", "retry", "fallback", "-"}));
  EXPECT_EQ(attemptField(attempts, "authProfile"),
            (std::vector<std::string>{"fake:a", "fake:a", "fake:b", "fake:b", "-"}));
  EXPECT_GT(profiles.pool->status("fake:a")->unusableUntilMs, 0);
  EXPECT_GT(profiles.pool->status("fake:b")->unusableUntilMs, 0);
  EXPECT_EQ(profiles.pool->status("fake:c")->unusableUntilMs, 0);
}

TEST_F(AgentRunnerTest, BillingDisablesAProfileAndAProviderWithEveryProfileOutIsNotCalled) {
  auto profiles = fakeProfiles(provider_, clock_);
  auto options = recoveryOptions();
  options.authProfiles = profiles.pool;
  makeRunner(options);  // strict: no fallback model
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(402, "", "Your credit balance is too low")));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 1; }));
  profiles.b->call(0)->complete(fail(httpError(403, "", "Forbidden")));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.c->count() == 1; }));
  profiles.c->call(0)->complete(fail(httpError(401, "", "Unauthorized")));
  settle("r1");
  ASSERT_TRUE(outcome("r1").error);
  EXPECT_EQ(attemptField(attemptsOf(store_, "r1"), "action"),
            (std::vector<std::string>{"rotate_profile", "rotate_profile", "fail"}));
  auto a = profiles.pool->status("fake:a");
  EXPECT_TRUE(a->disabled);
  EXPECT_EQ(a->unusableUntilMs, clock_->nowMs() + 600'000);

  // Every profile is out: the turn fails at once, saying until when, and no call is made.
  ASSERT_TRUE(submit("r2"));
  settle("r2");
  auto o = outcome("r2");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(o.error->publicMessage().find("every auth profile of provider \"fake\" is in cooldown"), std::string::npos)
      << o.error->publicMessage();
  EXPECT_EQ(provider_->count() + profiles.b->count() + profiles.c->count(), 3u);
  auto attempts = attemptsOf(store_, "r2");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(getString(attempts[0].get_object(), "reason"), "auth_profile_cooldown");
  EXPECT_EQ(getString(attempts[0].get_object(), "authProfile"), "fake:b");  // soonest usable (30 s)

  // After fake:b's 30 s it is called again; fake:a stays disabled.
  ex_.advance(30'000);
  ASSERT_TRUE(submit("r3"));
  ASSERT_TRUE(ex_.runUntil([&] { return profiles.b->count() == 2; }));
  profiles.b->call(1)->answer("recovered");
  settle("r3");
  EXPECT_FALSE(outcome("r3").error);
}

TEST_F(AgentRunnerTest, AbortingDuringARetryWaitEndsTheTurnAndNoCallFollows) {
  makeRunner(recoveryOptions(), nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(httpError(429, "", "slow down", 10'000)));
  ex_.runReady();
  auto r = runner_->abort("r1");
  ASSERT_TRUE(r && r->aborted);
  settle("r1");
  ex_.advance(20'000);
  EXPECT_EQ(provider_->count(), 1u);
  EXPECT_EQ(backup_->count(), 0u);
  EXPECT_TRUE(outcome("r1").aborted);
}

// ---- routing (Talon-only agents.*.routing; model_routing.h) -----------------------------------------------

TEST_F(AgentRunnerTest, ALatencyPolicyCallsTheFallbackFirstWhenThePrimaryIsOverTheSloAndTheRunSaysWhy) {
  AgentRunnerOptions options = recoveryOptions();
  std::vector<std::pair<std::string, RoutingDecision>> decisions;
  options.healthSnapshot = [] {
    health::ProviderModelHealth slow;
    slow.providerId = "fake";
    slow.model = "model-1";
    slow.calls = 8;
    slow.p95Ms = 4200;
    health::ProviderModelHealth quick;
    quick.providerId = "backup";
    quick.model = "model-2";
    quick.calls = 6;
    quick.p95Ms = 900;
    return std::vector<health::ProviderModelHealth>{slow, quick};
  };
  options.onRoutingDecision = [&decisions](const std::string& agentId, const RoutingDecision& d) {
    decisions.emplace_back(agentId, d);
  };
  routing_.strategy = RoutingStrategy::kLatency;
  routing_.latencySloMs = 2000;
  makeRunner(options, nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() == 1; }));
  EXPECT_EQ(provider_->count(), 0u);  // the primary is not called
  backup_->call(0)->answer("routed to the backup");
  settle("r1");
  auto o = outcome("r1");
  ASSERT_FALSE(o.error) << o.error->toString();
  EXPECT_EQ(o.providerId, "backup");
  EXPECT_EQ(o.modelAttempts, 1);

  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 2u);
  const auto& routed = attempts[0].get_object();
  EXPECT_EQ(getString(routed, "outcome"), "routed");
  EXPECT_EQ(getString(routed, "provider"), "backup");
  EXPECT_EQ(getString(routed, "reason"),
            "p95 900 ms (6 calls) within the 2000 ms SLO; primary fake/model-1: p95 4200 ms (8 calls) over the 2000 ms "
            "SLO");
  const auto& routing = routed.at("routing").get_object();
  EXPECT_EQ(getString(routing, "strategy"), "latency");
  EXPECT_EQ(getString(routing, "chosen"), "backup/model-2");
  EXPECT_EQ(routing.at("applied"), json::value(true));
  ASSERT_EQ(routing.at("candidates").get_array().size(), 2u);
  EXPECT_EQ(getString(attempts[1].get_object(), "outcome"), "ok");
  EXPECT_EQ(getString(attempts[1].get_object(), "provider"), "backup");
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].first, "main");
  EXPECT_EQ(decisions[0].second.candidates.front().chainIndex, 1u);
}

TEST_F(AgentRunnerTest, AStrictModelIsNotRoutedAndTheRunSaysSo) {
  AgentRunnerOptions options = recoveryOptions();
  bool snapshotRead = false;
  options.healthSnapshot = [&snapshotRead] {
    snapshotRead = true;
    return std::vector<health::ProviderModelHealth>{};
  };
  routing_.strategy = RoutingStrategy::kCost;
  makeRunner(options);  // no fallbacks: a strict selection
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer("strict");
  settle("r1");
  EXPECT_FALSE(snapshotRead);
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 2u);
  const auto& routing = attempts[0].get_object().at("routing").get_object();
  EXPECT_EQ(routing.at("applied"), json::value(false));
  EXPECT_EQ(getString(routing, "bypass"), "strict_model");
  EXPECT_EQ(getString(attempts[0].get_object(), "reason"),
            "strict model selection (no fallbacks to choose from): routing does not apply");
}

TEST_F(AgentRunnerTest, TheOrderedStrategyRecordsNoRouting) {
  makeRunner(recoveryOptions(), nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer("as configured");
  settle("r1");
  auto attempts = attemptsOf(store_, "r1");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(getString(attempts[0].get_object(), "outcome"), "ok");
}

// ---- spending limits (Talon-only agents.*.spendLimit) ------------------------------------------------------

/// Options where every answer of fake/model-1 costs (10 in × 2 + 5 out × 10) / 1e6 = 0.00007 USD, and
/// refusals are collected.
AgentRunnerOptions pricedOptions(std::vector<SpendLimitRefusal>& refusals) {
  AgentRunnerOptions options;
  config::ModelCost price;
  price.input = 2.0;
  price.output = 10.0;
  options.providerIdentities["fake"] =
      ProviderIdentity{"openai-completions", "https://fake.example", {{"model-1", price}}};
  options.onSpendLimitRefused = [&refusals](const SpendLimitRefusal& r) { refusals.push_back(r); };
  return options;
}

TEST_F(AgentRunnerTest, ADailySpendingLimitRefusesTheTurnFromTheRecordedCostAndSurvivesARestart) {
  std::vector<SpendLimitRefusal> refusals;
  dailyLimit_ = 0.0001;
  makeRunner(pricedOptions(refusals));
  for (int i = 0; i < 2; ++i) {  // 0 then 0.00007 spent: both start
    std::string id = "r" + std::to_string(i + 1);
    ASSERT_TRUE(submit(id));
    waitCalls(static_cast<std::size_t>(i) + 1);
    provider_->call(static_cast<std::size_t>(i))->answer("paid");
    settle(id);
    ASSERT_FALSE(outcome(id).error) << outcome(id).error->toString();
  }
  ASSERT_TRUE(submit("r3"));  // 0.00014 spent >= 0.0001
  settle("r3");
  auto o = outcome("r3");
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(o.stopReason, "spend_limit");
  EXPECT_EQ(o.error->publicMessage(),
            "agent main reached its daily spending limit (0.00014 USD spent of 0.0001 USD); no new turn starts "
            "until the day ends (UTC)");
  EXPECT_EQ(provider_->count(), 2u);  // no model call
  EXPECT_EQ(runStatus("r3"), "error");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].period, "daily");
  EXPECT_EQ(refusals[0].runId, "r3");
  EXPECT_DOUBLE_EQ(refusals[0].spentUsd, 0.00014);
  EXPECT_EQ(refusals[0].sinceMs, 1'699'920'000'000);  // 2023-11-14T00:00:00Z (the clock starts 22:13:20Z)

  // A new runner on the same store (a restart) still refuses: the spend comes from the run records.
  runner_.reset();
  makeRunner(pricedOptions(refusals));
  ASSERT_TRUE(submit("r4"));
  settle("r4");
  EXPECT_TRUE(outcome("r4").error);
  EXPECT_EQ(provider_->count(), 2u);

  // The next UTC day starts from zero.
  ex_.advance(2 * 3'600'000);
  ASSERT_TRUE(submit("r5"));
  waitCalls(3);
  provider_->call(2)->answer("a new day");
  settle("r5");
  EXPECT_FALSE(outcome("r5").error);
}

TEST_F(AgentRunnerTest, AMonthlySpendingLimitHoldsUntilTheMonthEnds) {
  std::vector<SpendLimitRefusal> refusals;
  monthlyLimit_ = 0.00007;
  dailyLimit_ = 1.0;
  makeRunner(pricedOptions(refusals));
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer("paid");
  settle("r1");
  ex_.advance(24 * 3'600'000);  // 2023-11-15: a new day, the same month
  ASSERT_TRUE(submit("r2"));
  settle("r2");
  ASSERT_TRUE(outcome("r2").error);
  EXPECT_NE(outcome("r2").error->publicMessage().find("monthly spending limit"), std::string::npos);
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].sinceMs, 1'698'796'800'000);  // 2023-11-01T00:00:00Z
  ex_.advance(16 * 24 * 3'600'000);                   // 2023-12-01
  ASSERT_TRUE(submit("r3"));
  waitCalls(2);
  provider_->call(1)->answer("December");
  settle("r3");
  EXPECT_FALSE(outcome("r3").error);
}

// ---- history compaction (session_compaction.h) --------------------------------------------------------

Error contextOverflowError() {
  Error e(ErrorCode::kUpstream, "This model's maximum context length is 8192 tokens",
          "This model's maximum context length is 8192 tokens");
  e.details["httpStatus"] = 400;
  return e;
}

bool hasText(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_F(AgentRunnerTest, AHistoryOverTheBudgetIsCompactedAndLaterRequestsSendTheSummaryAndTheTail) {
  // Budget 200 tokens (window 400, half of it reserved); the 700-character answer makes the second
  // request about 224.
  contextWindows_["fake/model-1"] = 400;
  compaction_.recentTurnsPreserve = 1;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  EXPECT_TRUE(compactions_.empty());

  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  // The summary call: the fixed prompt, then the old entries as text.
  const auto& summary = provider_->call(1)->request;
  EXPECT_EQ(summary.model, "model-1");
  ASSERT_EQ(summary.messages.size(), 2u);
  EXPECT_EQ(summary.messages[0].role, "system");
  EXPECT_TRUE(hasText(summary.messages[1].content, "[user]: hello from r1"));
  EXPECT_TRUE(hasText(summary.messages[1].content, std::string(700, 'a')));
  EXPECT_FALSE(hasText(summary.messages[1].content, "hello from r2"));
  EXPECT_TRUE(summary.tools.empty());
  provider_->call(1)->answer("SUMMARY-1");
  waitCalls(3);
  // The turn's request: the summary, then the kept tail (the current message).
  const auto& request = provider_->call(2)->request;
  ASSERT_EQ(request.messages.size(), 2u);
  EXPECT_EQ(request.messages[0].role, "user");
  EXPECT_TRUE(hasText(request.messages[0].content, "<summary>\nSUMMARY-1\n</summary>"));
  EXPECT_EQ(request.messages[1].content, "hello from r2");
  provider_->call(2)->answer("short");
  settle("r2");
  EXPECT_FALSE(outcome("r2").error);

  auto stored = store::CompactionRepository(*store_).latest("agent:main:main");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->id, 1);
  EXPECT_EQ((*stored)->firstKeptSeq, 3);  // r2's user message
  EXPECT_EQ((*stored)->summary, "SUMMARY-1");
  EXPECT_EQ((*stored)->reason, "threshold");
  EXPECT_EQ((*stored)->runId, "r2");
  EXPECT_EQ((*stored)->model, "fake/model-1");
  EXPECT_EQ(transcript().size(), 4u);  // the full history stays on disk
  auto phases = agentData("r2", "compaction");
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(getString(phases[0], "phase"), "start");
  EXPECT_EQ(getString(phases[1], "phase"), "end");
  EXPECT_EQ(phases[1].at("completed"), json::value(true));
  ASSERT_EQ(compactions_.size(), 1u);
  EXPECT_EQ(compactions_[0].reason, "threshold");
  EXPECT_EQ(compactions_[0].outcome, "ok");
  EXPECT_EQ(compactions_[0].compactionCount, 1);
  EXPECT_GT(compactions_[0].tokensBefore, 200);
  EXPECT_LT(compactions_[0].tokensAfter, 200);

  // After a restart (a new runner reads the session from the store) the summary is still in force.
  runner_.reset();
  makeRunner();
  ASSERT_TRUE(submit("r3"));
  waitCalls(4);
  const auto& next = provider_->call(3)->request;
  ASSERT_EQ(next.messages.size(), 4u);
  EXPECT_TRUE(hasText(next.messages[0].content, "SUMMARY-1"));
  EXPECT_EQ(next.messages[1].content, "hello from r2");
  EXPECT_EQ(next.messages[2].content, "short");
  EXPECT_EQ(next.messages[3].content, "hello from r3");
  provider_->call(3)->answer("ok");
  settle("r3");
  EXPECT_EQ(compactions_.size(), 1u);
}

TEST_F(AgentRunnerTest, NotifyUserTellsTheChatWhenCompactionStartsAndEnds) {
  contextWindows_["fake/model-1"] = 400;
  compaction_.recentTurnsPreserve = 1;
  compaction_.notifyUser = true;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  provider_->call(1)->answer("SUMMARY");
  waitCalls(3);
  provider_->call(2)->answer("ok");
  settle("r2");
  std::vector<std::string> phases;
  for (const auto& e : chat("r2", "status")) phases.emplace_back(getString(e, "phase").value_or(""));
  EXPECT_EQ(phases, (std::vector<std::string>{"preparing_context", "compacting", "compacted", "starting_model"}));
  EXPECT_EQ(chat("r1", "status").size(), 2u);  // no compaction: preparing_context, starting_model
}

TEST_F(AgentRunnerTest, AFailedThresholdCompactionLetsTheModelTryTheWholeHistory) {
  contextWindows_["fake/model-1"] = 400;
  compaction_.recentTurnsPreserve = 1;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  provider_->call(1)->complete(fail(ErrorCode::kUnavailable, "summary model down", "summary model down"));
  waitCalls(3);
  EXPECT_EQ(provider_->call(2)->request.messages.size(), 3u);
  provider_->call(2)->answer("fine");
  settle("r2");
  EXPECT_FALSE(outcome("r2").error);
  ASSERT_EQ(compactions_.size(), 1u);
  EXPECT_EQ(compactions_[0].outcome, "failed");
  ASSERT_TRUE(compactions_[0].error);
  EXPECT_TRUE(hasText(compactions_[0].error->message, "summary model down"));
  auto stored = store::CompactionRepository(*store_).latest("agent:main:main");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
}

TEST_F(AgentRunnerTest, DisabledCompactionLeavesAHistoryOverTheBudgetAlone) {
  contextWindows_["fake/model-1"] = 400;
  compaction_.recentTurnsPreserve = 1;
  compaction_.enabled = false;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  EXPECT_EQ(provider_->call(1)->request.messages.size(), 3u);  // the turn's call, not a summary
  provider_->call(1)->answer("fine");
  settle("r2");
  EXPECT_TRUE(compactions_.empty());
}

TEST_F(AgentRunnerTest, ADiscoveredContextWindowBudgetsTheHistoryWhenTheConfigHasNone) {
  // As AHistoryOverTheBudgetIsCompacted…, the window coming from model discovery (AgentRunnerOptions::modelTraits).
  compaction_.recentTurnsPreserve = 1;
  AgentRunnerOptions options;
  std::vector<std::string> asked;
  options.modelTraits = [&asked](const std::string& provider, const std::string& model) -> std::optional<ModelTraits> {
    asked.push_back(provider + "/" + model);
    return ModelTraits{400, true};
  };
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  EXPECT_FALSE(provider_->call(0)->request.tools.empty());
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  ASSERT_EQ(provider_->call(1)->request.messages.size(), 2u);  // the summary call
  EXPECT_TRUE(hasText(provider_->call(1)->request.messages[1].content, std::string(700, 'a')));
  provider_->call(1)->answer("SUMMARY");
  waitCalls(3);
  provider_->call(2)->answer("ok");
  settle("r2");
  ASSERT_EQ(compactions_.size(), 1u);
  EXPECT_EQ(compactions_[0].outcome, "ok");
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked[0], "fake/model-1");
}

TEST_F(AgentRunnerTest, TheConfiguredContextWindowWinsOverADiscoveredOne) {
  contextWindows_["fake/model-1"] = 100'000;
  compaction_.recentTurnsPreserve = 1;
  AgentRunnerOptions options;
  options.modelTraits = [](const std::string&, const std::string&) -> std::optional<ModelTraits> {
    return ModelTraits{400, true};
  };
  makeRunner(options);
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  EXPECT_EQ(provider_->call(1)->request.messages.size(), 3u);  // the turn's call, not a summary
  provider_->call(1)->answer("fine");
  settle("r2");
  EXPECT_TRUE(compactions_.empty());
}

TEST_F(AgentRunnerTest, AModelWithoutToolSupportIsSentNoToolsAndToldSo) {
  // OpenClaw: compat.supportsTools === false → no tools, and the "Tool availability" prompt section.
  std::filesystem::create_directories(dir_ / "workspace");
  std::ofstream(dir_ / "workspace" / "AGENTS.md") << "Be terse.";
  AgentRunnerOptions options = recoveryOptions();
  options.modelTraits = [](const std::string& provider, const std::string&) -> std::optional<ModelTraits> {
    if (provider != "fake") return std::nullopt;
    return ModelTraits{std::nullopt, false};
  };
  makeRunner(options, nullptr, {"backup/model-2"});
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  const auto& request = provider_->call(0)->request;
  EXPECT_TRUE(request.tools.empty());
  ASSERT_FALSE(request.messages.empty());
  EXPECT_EQ(request.messages[0].role, "system");
  EXPECT_TRUE(hasText(request.messages[0].content, "Be terse."));
  EXPECT_TRUE(hasText(request.messages[0].content, std::string(kModelToolsUnavailablePrompt)));
  // The fallback takes tools: when the chain moves on, its call offers them again.
  provider_->call(0)->complete(fail(httpError(404, "model_not_found", "The model `model-1` does not exist")));
  ASSERT_TRUE(ex_.runUntil([&] { return backup_->count() >= 1; }));
  const auto& fallback = backup_->call(0)->request;
  EXPECT_FALSE(fallback.tools.empty());
  for (const auto& m : fallback.messages) EXPECT_FALSE(hasText(m.content, "Tool availability"));
  backup_->call(0)->answer("ok");
  settle("r1");
  EXPECT_FALSE(outcome("r1").error);
}

TEST_F(AgentRunnerTest, AContextOverflowCompactsAndRetriesOnceEvenWithCompactionDisabled) {
  compaction_.enabled = false;
  compaction_.recentTurnsPreserve = 1;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer("first answer");
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  provider_->call(1)->complete(fail(contextOverflowError()));
  waitCalls(3);
  EXPECT_TRUE(hasText(provider_->call(2)->request.messages[1].content, "first answer"));  // the summary call
  provider_->call(2)->answer("S-OVERFLOW");
  waitCalls(4);
  const auto& retry = provider_->call(3)->request;
  ASSERT_EQ(retry.messages.size(), 2u);
  EXPECT_TRUE(hasText(retry.messages[0].content, "S-OVERFLOW"));
  EXPECT_EQ(retry.messages[1].content, "hello from r2");
  provider_->call(3)->answer("fits now");
  settle("r2");
  ASSERT_FALSE(outcome("r2").error);
  EXPECT_EQ(outcome("r2").text, "fits now");
  ASSERT_EQ(compactions_.size(), 1u);
  EXPECT_EQ(compactions_[0].reason, "overflow");
  EXPECT_EQ(compactions_[0].outcome, "ok");
  auto run = store_->runs().get("r2");
  ASSERT_TRUE(run && *run);
  auto attempts = parseJson((*run)->attemptsJson);
  ASSERT_TRUE(attempts && attempts->is_array());
  ASSERT_EQ(attempts->get_array().size(), 2u);
  EXPECT_EQ(getString(attempts->get_array()[0].get_object(), "action"), "compact");
  EXPECT_EQ(getString(attempts->get_array()[0].get_object(), "reason"), "context_overflow");
  EXPECT_EQ(getString(attempts->get_array()[1].get_object(), "outcome"), "ok");
  EXPECT_EQ((*run)->steps, 1);
}

TEST_F(AgentRunnerTest, ASecondContextOverflowFailsTheTurnWithAClearError) {
  compaction_.recentTurnsPreserve = 1;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer("first answer");
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  provider_->call(1)->complete(fail(contextOverflowError()));
  waitCalls(3);
  provider_->call(2)->answer("S-OVERFLOW");
  waitCalls(4);
  provider_->call(3)->complete(fail(contextOverflowError()));
  settle("r2");
  ASSERT_TRUE(outcome("r2").error);
  EXPECT_TRUE(hasText(outcome("r2").error->publicMessage(), "maximum context length"));
  EXPECT_TRUE(hasText(outcome("r2").error->publicMessage(), "again after compacting"));
  EXPECT_EQ(runStatus("r2"), "error");
  EXPECT_EQ(provider_->count(), 4u);   // no third attempt
  ASSERT_EQ(compactions_.size(), 1u);  // the compaction itself succeeded and stays in force
}

TEST_F(AgentRunnerTest, AnOverflowWithNothingToCompactFailsSayingSo) {
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->complete(fail(contextOverflowError()));
  settle("r1");
  ASSERT_TRUE(outcome("r1").error);
  EXPECT_TRUE(hasText(outcome("r1").error->publicMessage(), "no history old enough to compact"));
  EXPECT_EQ(outcome("r1").stopReason, "context_overflow");
  ASSERT_EQ(compactions_.size(), 1u);
  EXPECT_EQ(compactions_[0].outcome, "noop");
  EXPECT_EQ(provider_->count(), 1u);
}

TEST_F(AgentRunnerTest, AbortingATurnWhileItCompactsCancelsTheSummaryCall) {
  contextWindows_["fake/model-1"] = 400;
  compaction_.recentTurnsPreserve = 1;
  makeRunner();
  ASSERT_TRUE(submit("r1"));
  waitCalls(1);
  provider_->call(0)->answer(std::string(700, 'a'));
  settle("r1");
  ASSERT_TRUE(submit("r2"));
  waitCalls(2);
  auto aborted = runner_->abort("r2");
  ASSERT_TRUE(aborted);
  EXPECT_TRUE(aborted->aborted);
  settle("r2");
  EXPECT_TRUE(outcome("r2").aborted);
  EXPECT_TRUE(provider_->call(1)->cancelled);
  EXPECT_EQ(provider_->count(), 2u);
}

// ---- client tools (ClientTools: the OpenAI-compatible API's function tools) -----------------------------

/// A get_weather client tool, as the OpenAI-compatible API passes it.
ClientTools weatherClientTools(std::vector<ClientToolResult> results = {}) {
  ClientTools ct;
  ct.tools.emplace_back("get_weather", "Weather of a city",
                        json::object{{"type", "object"}, {"properties", json::object{{"city", {{"type", "string"}}}}}});
  ct.results = std::move(results);
  ct.callIdPrefix = "call_t_";
  return ct;
}

class ClientToolsRunnerTest : public AgentRunnerTest {
 protected:
  Status submitWith(const std::string& runId, std::optional<ClientTools> clientTools,
                    std::optional<std::vector<ChatMessage>> context = std::nullopt,
                    const std::string& sessionKey = "agent:main:ct") {
    TurnRequest t;
    t.runId = runId;
    t.agentId = "main";
    t.sessionKey = sessionKey;
    t.message = "weather in Paris?";
    t.clientTools = std::move(clientTools);
    t.contextOverride = std::move(context);
    t.onDone = [this](const TurnOutcome& o) {
      std::lock_guard lock(eventsMu_);
      outcomes_[o.runId] = o;
    };
    return runner_->submit(std::move(t));
  }
  /// Runs r1: the model says "Checking" and calls get_weather (and `alsoServer` with it); r1 ends pending.
  void runToPending(std::vector<ToolCall> alsoServer = {}) {
    ASSERT_TRUE(submitWith("r1", weatherClientTools()));
    waitCalls(1);
    provider_->call(0)->delta("Checking");
    std::vector<ToolCall> calls = std::move(alsoServer);
    calls.push_back(toolCall("model-id-1", "get_weather", R"({"city":"Paris"})"));
    provider_->call(0)->callTools(calls);
    settle("r1");
  }
};

TEST_F(ClientToolsRunnerTest, AClientToolCallEndsTheTurnPendingAndTheFollowUpContinuesTheLoop) {
  makeRunner();
  runToPending();
  // Offered after the agent's own tools.
  const auto& offered = provider_->call(0)->request.tools;
  ASSERT_FALSE(offered.empty());
  EXPECT_EQ(offered.back().name, "get_weather");
  EXPECT_EQ(offered.size(), registry_->specs().size() + 1);

  auto o = outcome("r1");
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.stopReason, "tool_calls");
  EXPECT_EQ(o.text, "Checking");
  ASSERT_EQ(o.pendingToolCalls.size(), 1u);
  EXPECT_EQ(o.pendingToolCalls[0].id, "call_t_2_0");  // the answer is the session's second entry
  EXPECT_EQ(o.pendingToolCalls[0].name, "get_weather");
  EXPECT_EQ(o.pendingToolCalls[0].argumentsJson, R"({"city":"Paris"})");
  EXPECT_EQ(provider_->count(), 1u);  // not run here
  EXPECT_TRUE(agentData("r1", "tool").empty());
  EXPECT_EQ(runStatus("r1"), "ok");
  auto run = store_->runs().get("r1");
  ASSERT_TRUE(run && *run);
  EXPECT_NE((*run)->attemptsJson.find(R"("pendingClientToolCalls":["call_t_2_0"])"), std::string::npos)
      << (*run)->attemptsJson;
  auto finals = chat("r1", "final");
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(getString(finals[0], "stopReason"), "tool_calls");
  auto t = transcript("agent:main:ct");
  ASSERT_EQ(t.size(), 2u);  // the user's message and the answer with its call; no result yet
  EXPECT_EQ(toolCallsFromJson(t[1].toolCallsJson).at(0).id, "call_t_2_0");

  ASSERT_TRUE(submitWith("r2", weatherClientTools({{"call_t_2_0", "", "18 C and sunny"}})));
  waitCalls(2);
  const auto& messages = provider_->call(1)->request.messages;
  ASSERT_GE(messages.size(), 3u);
  EXPECT_EQ(messages[messages.size() - 2].role, "assistant");
  ASSERT_EQ(messages[messages.size() - 2].toolCalls.size(), 1u);
  EXPECT_EQ(messages[messages.size() - 2].toolCalls[0].id, "call_t_2_0");
  EXPECT_EQ(messages.back().role, "tool");
  EXPECT_EQ(messages.back().toolCallId, "call_t_2_0");
  EXPECT_EQ(messages.back().content, "18 C and sunny");
  provider_->call(1)->answer("It is 18 C and sunny in Paris.");
  settle("r2");
  auto o2 = outcome("r2");
  EXPECT_FALSE(o2.error);
  EXPECT_EQ(o2.stopReason, "stop");
  EXPECT_TRUE(o2.pendingToolCalls.empty());
  t = transcript("agent:main:ct");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(store::transcriptRoleName(t[2].role), "tool");
  EXPECT_EQ(t[2].toolCallId, "call_t_2_0");
  EXPECT_EQ(t[2].runId, "r2");
  EXPECT_EQ(t[3].content, "It is 18 C and sunny in Paris.");
}

TEST_F(ClientToolsRunnerTest, ResultsThatMatchNoPendingCallAreRefused) {
  makeRunner();
  // No pending call at all.
  ASSERT_TRUE(submitWith("r0", weatherClientTools({{"call_t_9_0", "", "x"}})));
  settle("r0");
  ASSERT_TRUE(outcome("r0").error);
  EXPECT_EQ(outcome("r0").error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(provider_->count(), 0u);

  runToPending();
  ASSERT_TRUE(submitWith("r2", weatherClientTools({{"call_nope", "", "x"}})));
  settle("r2");
  ASSERT_TRUE(outcome("r2").error);
  EXPECT_EQ(outcome("r2").error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(outcome("r2").error->publicMessage(), "tool_call_id `call_nope` matches no pending tool call");
  ASSERT_TRUE(submitWith("r3", weatherClientTools({{"call_t_2_0", "", "a"}, {"call_t_2_0", "", "b"}})));
  settle("r3");
  ASSERT_TRUE(outcome("r3").error);
  EXPECT_EQ(outcome("r3").error->publicMessage(), "tool_call_id `call_t_2_0` has more than one result");
  EXPECT_EQ(provider_->count(), 1u);  // the model was not called for any of them
  EXPECT_EQ(transcript("agent:main:ct").size(), 2u);

  // A legacy function result (name only) answers the pending call of that name.
  ASSERT_TRUE(submitWith("r4", weatherClientTools({{"", "get_weather", "18 C"}})));
  waitCalls(2);
  EXPECT_EQ(provider_->call(1)->request.messages.back().toolCallId, "call_t_2_0");
  provider_->call(1)->answer("done");
  settle("r4");
  EXPECT_FALSE(outcome("r4").error);
}

TEST_F(ClientToolsRunnerTest, AStepMixingAgentAndClientToolsRunsTheAgentsFirst) {
  makeRunner();
  runToPending({toolCall("s1", "echo", R"({"text":"server side"})")});
  auto o = outcome("r1");
  EXPECT_EQ(o.stopReason, "tool_calls");
  ASSERT_EQ(o.pendingToolCalls.size(), 1u);
  EXPECT_EQ(o.pendingToolCalls[0].name, "get_weather");
  auto tools = agentData("r1", "tool");
  ASSERT_EQ(tools.size(), 2u);  // echo's start and result; the client tool emits none
  EXPECT_EQ(getString(tools[0], "name"), "echo");
  auto t = transcript("agent:main:ct");
  ASSERT_EQ(t.size(), 3u);  // user, the answer with both calls, echo's result
  EXPECT_EQ(t[2].content, "server side");

  // The follow-up sends the stored answer with both calls and both results, whatever the client's
  // conversation says.
  std::vector<ChatMessage> clientContext{{"user", "weather in Paris?", {}, {}}};
  ASSERT_TRUE(submitWith("r2", weatherClientTools({{"call_t_2_0", "", "18 C"}}), clientContext));
  waitCalls(2);
  const auto& m = provider_->call(1)->request.messages;
  ASSERT_GE(m.size(), 4u);
  EXPECT_EQ(m[m.size() - 4].content, "weather in Paris?");
  EXPECT_EQ(m[m.size() - 3].toolCalls.size(), 2u);
  EXPECT_EQ(m[m.size() - 2].toolCallId, "s1");
  EXPECT_EQ(m[m.size() - 1].toolCallId, "call_t_2_0");
  provider_->call(1)->answer("ok");
  settle("r2");
  EXPECT_FALSE(outcome("r2").error);
}

TEST_F(ClientToolsRunnerTest, ANewUserMessageClosesThePendingCalls) {
  makeRunner();
  runToPending();
  ASSERT_TRUE(submitWith("r2", weatherClientTools()));
  waitCalls(2);
  const auto& m = provider_->call(1)->request.messages;
  ASSERT_GE(m.size(), 3u);
  EXPECT_EQ(m[m.size() - 2].role, "tool");  // the conversation stays valid: the call has a result
  EXPECT_EQ(m[m.size() - 2].toolCallId, "call_t_2_0");
  EXPECT_EQ(m.back().role, "user");
  provider_->call(1)->answer("ok");
  settle("r2");
  auto t = transcript("agent:main:ct");
  ASSERT_EQ(t.size(), 5u);
  auto meta = tools::decodeTranscriptMeta(t[2].toolCallsJson, t[2].content);
  EXPECT_TRUE(meta.isError);
  // Results for the closed call are refused now.
  ASSERT_TRUE(submitWith("r3", weatherClientTools({{"call_t_2_0", "", "late"}})));
  settle("r3");
  ASSERT_TRUE(outcome("r3").error);
  EXPECT_EQ(outcome("r3").error->code, ErrorCode::kInvalidArgument);
}

TEST_F(ClientToolsRunnerTest, ClientToolNamesMayNotShadowAgentTools) {
  makeRunner();
  ClientTools ct;
  ct.tools.emplace_back("echo", "mine");
  auto s = submitWith("r1", ct);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().publicMessage(), "invalid tool configuration");
  EXPECT_NE(s.error().message.find("client tool name conflict: echo"), std::string::npos);
  ClientTools twice = weatherClientTools();
  twice.tools.push_back(twice.tools.front());
  EXPECT_FALSE(submitWith("r2", twice));
  EXPECT_EQ(provider_->count(), 0u);
}

TEST_F(ClientToolsRunnerTest, AClientCallWithBadArgumentsIsAnsweredAndTheLoopGoesOn) {
  makeRunner();
  ASSERT_TRUE(submitWith("r1", weatherClientTools()));
  waitCalls(1);
  provider_->call(0)->callTools({toolCall("m1", "get_weather", "{not json")});
  waitCalls(2);
  EXPECT_EQ(provider_->call(1)->request.messages.back().role, "tool");
  EXPECT_EQ(provider_->call(1)->request.messages.back().toolCallId, "m1");
  provider_->call(1)->answer("sorry");
  settle("r1");
  EXPECT_EQ(outcome("r1").stopReason, "stop");
  EXPECT_TRUE(outcome("r1").pendingToolCalls.empty());
}

TEST_F(ClientToolsRunnerTest, AnAbortedMixedStepClosesItsClientCalls) {
  auto gate = std::make_shared<ManualGate>();
  makeRunner({}, gate);
  ASSERT_TRUE(submitWith("r1", weatherClientTools()));
  waitCalls(1);
  provider_->call(0)->callTools(
      {toolCall("s1", "echo", R"({"text":"x"})"), toolCall("m1", "get_weather", R"({"city":"Oslo"})")});
  ASSERT_TRUE(ex_.runUntil([&] { return gate->pending.size() == 1; }));
  ASSERT_TRUE(runner_->abort("r1"));
  settle("r1");
  EXPECT_TRUE(outcome("r1").aborted);
  EXPECT_TRUE(outcome("r1").pendingToolCalls.empty());
  auto t = transcript("agent:main:ct");
  ASSERT_EQ(t.size(), 4u);  // user, answer, both calls closed as cancelled
  EXPECT_EQ(t[3].toolCallId, "call_t_2_0");
  EXPECT_TRUE(tools::decodeTranscriptMeta(t[3].toolCallsJson, t[3].content).isError);
}

}  // namespace
}  // namespace talon::gateway
