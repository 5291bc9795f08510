// Run replay in simulated time: an original run is recorded by a real AgentRunner (fake provider, the
// built-in file tools, a SQLite store in a temp dir), then replayed against its recorded answers.
#include "gateway/agent/run_replay.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "base/file_io.h"
#include "gateway/tools/tool_outcome.h"
#include "gateway/tools/tool_registry.h"
#include "store/run_repository.h"
#include "store/sqlite_store.h"
#include "store/transcript_repository.h"
#include "support/fake_model_provider.h"
#include "support/manual_executors.h"
#include "support/temp_dir.h"

namespace talon::gateway {
namespace {
namespace fs = std::filesystem;

class RunReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(workspace_);
    store::SqliteStoreOptions storeOptions;
    storeOptions.path = dir_.path() / "state.sqlite";
    auto store = store::openSqliteStore(storeOptions);
    ASSERT_TRUE(store) << store.error().toString();
    store_ = std::move(*store);
    tools_ = std::make_shared<tools::ToolRegistry>();
    ASSERT_TRUE(tools::registerBuiltinTools(*tools_));
    profile_.id = "main";
    profile_.name = "Main";
    profile_.workspace = workspace_;
    profile_.model = "fake/model-1";
    auto runner =
        AgentRunner::create({}, {profile_}, {{"fake", provider_}}, tools_, *store_, bus_, ex_.executors(), clock_);
    ASSERT_TRUE(runner) << runner.error().toString();
    runner_ = std::move(*runner);
    replayer_ = std::make_unique<RunReplayer>(
        RunReplayerDeps{*store_, tools_, {profile_}, ex_.executors(), clock_, AgentRunnerOptions{}});
  }

  void TearDown() override {
    replayer_.reset();
    runner_.reset();
    if (store_) store_->close();
  }

  /// Records run "r1": the model writes a.txt and reads b.txt, then answers "done".
  void recordOriginal() {
    ASSERT_TRUE(writeFileAtomic(workspace_ / "b.txt", "before"));
    TurnRequest t;
    t.runId = "r1";
    t.agentId = "main";
    t.sessionKey = "agent:main:main";
    t.message = "write a, read b";
    t.onDone = [this](const TurnOutcome& o) { originalDone_ = o; };
    ASSERT_TRUE(runner_->submit(std::move(t)));
    ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() == 1; }));
    provider_->call(0)->callTools(
        {{"c1", "write", R"({"path":"a.txt","content":"hello"})"}, {"c2", "read", R"({"path":"b.txt"})"}});
    ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() == 2; }));
    provider_->call(1)->answer("done");
    ASSERT_TRUE(ex_.runUntil([&] { return originalDone_.has_value(); }));
    ASSERT_FALSE(originalDone_->error);
  }

  Result<ReplayResult> replay(const std::string& runId) {
    std::optional<Result<ReplayResult>> result;
    ex_.executors().blocking([&] { replayer_->replay(runId, [&](Result<ReplayResult> r) { result = std::move(r); }); });
    EXPECT_TRUE(ex_.runUntil([&] { return result.has_value(); }));
    if (!result) return fail(Error(ErrorCode::kInternal, "no answer"));
    return std::move(*result);
  }

  std::vector<store::TranscriptEntry> transcript(const std::string& sessionKey, const std::string& runId) {
    auto entries = store::TranscriptRepository(*store_).forRun(sessionKey, runId);
    EXPECT_TRUE(entries);
    return entries ? *entries : std::vector<store::TranscriptEntry>{};
  }

  testing::TempDir dir_{"talon-replay"};
  fs::path workspace_ = dir_.path() / "workspace";
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  testing::ManualExecutors ex_{clock_};
  store::StorePtr store_;
  EventBus bus_;
  std::shared_ptr<talon::testing::FakeModelProvider> provider_ = std::make_shared<talon::testing::FakeModelProvider>();
  std::shared_ptr<tools::ToolRegistry> tools_;
  AgentProfile profile_;
  std::unique_ptr<AgentRunner> runner_;
  std::unique_ptr<RunReplayer> replayer_;
  std::optional<TurnOutcome> originalDone_;
};

TEST_F(RunReplayTest, ReplaysRecordedAnswersRunsReadOnlyToolsAndAnswersOthersFromTheRecord) {
  recordOriginal();
  // The world changed since: a.txt is gone and b.txt says something else.
  fs::remove(workspace_ / "a.txt");
  ASSERT_TRUE(writeFileAtomic(workspace_ / "b.txt", "after"));

  auto result = replay("r1");
  ASSERT_TRUE(result) << result.error().toString();
  EXPECT_EQ(result->status, "ok");
  EXPECT_EQ(result->modelAnswers, 2);
  EXPECT_EQ(result->modelSteps, 2);
  EXPECT_EQ(result->toolsRun, 1);         // read
  EXPECT_EQ(result->toolsFromRecord, 1);  // write
  EXPECT_EQ(result->sessionKey, "agent:main:replay:" + result->replayRunId);
  EXPECT_FALSE(fs::exists(workspace_ / "a.txt")) << "a tool with side effects ran during the replay";
  EXPECT_EQ(provider_->count(), 2u) << "the replay called the real provider";

  auto original = transcript("agent:main:main", "r1");
  auto replayed = transcript(result->sessionKey, result->replayRunId);
  ASSERT_EQ(original.size(), replayed.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i].role, replayed[i].role) << i;
    if (original[i].role == store::TranscriptRole::kTool && original[i].toolName == "read") {
      EXPECT_NE(original[i].content, replayed[i].content) << "the read ran again and saw the new b.txt";
      EXPECT_NE(replayed[i].content.find("after"), std::string::npos);
    } else {
      EXPECT_EQ(original[i].content, replayed[i].content) << i;
    }
  }
  auto run = store::RunRepository(*store_).get(result->replayRunId);
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->status, store::RunStatus::kOk);
  EXPECT_EQ((*run)->finalText, "done");
  EXPECT_EQ((*run)->providerApi, "replay");
}

TEST_F(RunReplayTest, AnAnswerThatWasNeverRecordedFailsTheReplay) {
  TurnRequest t;
  t.runId = "r2";
  t.agentId = "main";
  t.sessionKey = "agent:main:main";
  t.message = "read b";
  t.onDone = [this](const TurnOutcome& o) { originalDone_ = o; };
  ASSERT_TRUE(runner_->submit(std::move(t)));
  ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() == 1; }));
  provider_->call(0)->callTools({{"c1", "ls", "{}"}});
  ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() == 2; }));
  provider_->call(1)->complete(fail(Error(ErrorCode::kUnauthenticated, "401", "401")));
  ASSERT_TRUE(ex_.runUntil([&] { return originalDone_.has_value(); }));
  ASSERT_TRUE(originalDone_->error);

  auto result = replay("r2");
  ASSERT_TRUE(result) << result.error().toString();
  EXPECT_EQ(result->status, "error");
  EXPECT_EQ(result->modelAnswers, 1);
  EXPECT_EQ(result->modelSteps, 2);
  EXPECT_EQ(result->toolsRun, 1);
}

TEST_F(RunReplayTest, RecordedResponsesKeepTextToolCallsAndFinishReason) {
  recordOriginal();
  auto answers = recordedResponses(transcript("agent:main:main", "r1"));
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_EQ(answers[0].toolCalls.size(), 2u);
  EXPECT_EQ(answers[0].toolCalls[0].name, "write");
  EXPECT_EQ(answers[0].toolCalls[0].argumentsJson, R"({"path":"a.txt","content":"hello"})");
  EXPECT_EQ(answers[0].finishReason, "tool_calls");
  EXPECT_EQ(answers[1].text, "done");
  EXPECT_TRUE(answers[1].toolCalls.empty());
  EXPECT_EQ(answers[1].finishReason, "stop");
}

TEST_F(RunReplayTest, ASideEffectCallWithoutARecordedResultIsRefusedNotRun) {
  recordOriginal();
  fs::remove(workspace_ / "a.txt");
  {
    // The record loses the write's result (as a run cut off mid-call would).
    // transcript_entries are append-only (a trigger refuses DELETE): the test drops the trigger first.
    SQLite::Database db((dir_.path() / "state.sqlite").string(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER transcript_entries_no_delete");
    SQLite::Statement del(db, "DELETE FROM transcript_entries WHERE run_id = 'r1' AND tool_call_id = 'c1'");
    ASSERT_EQ(del.exec(), 1);
  }
  auto result = replay("r1");
  ASSERT_TRUE(result) << result.error().toString();
  EXPECT_EQ(result->toolsFromRecord, 0);
  EXPECT_FALSE(fs::exists(workspace_ / "a.txt"));
  auto replayed = transcript(result->sessionKey, result->replayRunId);
  bool refused = false;
  for (const auto& e : replayed) {
    if (e.role != store::TranscriptRole::kTool || e.toolName != "write") continue;
    EXPECT_TRUE(tools::decodeTranscriptMeta(e.toolCallsJson, e.content).isError);
    refused = e.content.find("has side effects and is not run during a replay") != std::string::npos;
  }
  EXPECT_TRUE(refused);
}

TEST_F(RunReplayTest, UnknownAndRunningRunsAreRefused) {
  auto missing = replay("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  TurnRequest t;
  t.runId = "r3";
  t.agentId = "main";
  t.sessionKey = "agent:main:main";
  t.message = "hang";
  ASSERT_TRUE(runner_->submit(std::move(t)));
  ASSERT_TRUE(ex_.runUntil([&] { return provider_->count() == 1; }));
  auto running = replay("r3");
  ASSERT_FALSE(running);
  EXPECT_EQ(running.error().code, ErrorCode::kFailedPrecondition);
  provider_->call(0)->answer("ok");
}

TEST_F(RunReplayTest, StopRefusesNewReplays) {
  recordOriginal();
  replayer_->stop();
  auto result = replay("r1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace talon::gateway
