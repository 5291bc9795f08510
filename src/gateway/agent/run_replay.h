#pragma once
// Run replay (docs/runs.md, "Replay"): re-executes a recorded run against its recorded model answers and
// reports where it diverges from the original.
//
// A replay is a new turn of the same agent, with the original run's user message, in a session of its own
// (`agent:<agentId>:replay:<replayRunId>`), run by a private AgentRunner whose only provider is a
// ReplayModelProvider that hands back the original run's assistant answers (text and tool calls) in order,
// one per model step; asking for more steps than were recorded fails the call. Tools without side effects
// (Tool::sideEffects() false: read, ls) run for real, so a changed workspace shows as a different
// result. Tools with side effects are not run: each call is answered with the result the original run
// recorded for the same tool and arguments (taken in order), and a call the original did not make with
// those arguments fails with "… is not run during a replay". The replay is an ordinary run in the store
// (run record and transcript), so `talon runs show` and `talon runs diff` read it like any other.
//
// Thread rules: replay() may be called from any thread; it reads the store (call it on
// Executors::blocking) and `done` runs once, on the thread the replay turn ends on (or at once, on the
// caller's thread, when the run cannot be replayed). The dependencies outlive the replayer; stop() aborts
// the replays in flight (call it before the executors stop).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/agent/agent_runner.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/providers/model_provider.h"
#include "gateway/tools/tool_registry.h"
#include "store/store.h"
#include "store/transcript_repository.h"

namespace talon::gateway {

/// A provider that answers each call with the next of a fixed list of responses (a recorded run's
/// assistant answers), streaming the text as one delta. Thread-safe.
class ReplayModelProvider final : public ModelProvider {
 public:
  /// `id`: the provider id the recorded run used. `post` runs the completion off the caller's stack (an
  /// I/O executor, as real providers complete on I/O threads).
  ReplayModelProvider(std::string id, std::vector<ModelResponse> responses, std::function<void(Task)> post);
  const std::string& id() const override { return id_; }
  /// Answers with the next recorded response; past the last one, onComplete gets kUpstream ("the recorded
  /// run has only N model answers").
  ModelCallPtr stream(ModelRequest request, ModelStreamHandlers handlers) override;
  /// Calls answered so far (including the one past the end).
  int64_t calls() const;

 private:
  std::string id_;
  std::vector<ModelResponse> responses_;
  std::function<void(Task)> post_;
  mutable std::mutex mu_;
  std::size_t next_ = 0;
};

/// The model answers a recorded run gave, in order: one ModelResponse per assistant transcript entry
/// (its text and tool calls; finishReason "tool_calls" when it has calls, else "stop").
std::vector<ModelResponse> recordedResponses(const std::vector<store::TranscriptEntry>& entries);

/// What a replay came to.
struct ReplayResult {
  std::string runId;        // the original run
  std::string replayRunId;  // the replay's run (in the store)
  std::string sessionKey;   // the replay's session
  std::string agentId;
  std::string status;           // the replay run's status: "ok" | "error" | "aborted"
  std::string error;            // the replay's error message, when status is not "ok"
  int64_t modelAnswers = 0;     // recorded answers available
  int64_t modelSteps = 0;       // model calls the replay made
  int64_t toolsRun = 0;         // tool calls that ran for real (no side effects)
  int64_t toolsFromRecord = 0;  // tool calls with side effects answered from the record
};

/// What the replayer uses. References outlive it.
struct RunReplayerDeps {
  store::Store& store;
  /// The gateway's tools (the replay wraps those with side effects); may be null (no tools).
  std::shared_ptr<const tools::ToolRegistry> tools;
  /// The configured agents (AgentRunner::agents() of the gateway's runner).
  std::vector<AgentProfile> agents;
  /// Needs io, blocking and after (tools falls back to blocking).
  Executors executors;
  ClockPtr clock;
  /// Limits of the replay turns (maxSteps, defaultTimeout, historyLimit, bootstrap sizes); the callbacks
  /// (onModelCall, onToolCall, onRunEnded, inCooldown) are not used: a replay leaves provider health and
  /// the run metrics alone.
  AgentRunnerOptions options;
};

class RunReplayer {
 public:
  explicit RunReplayer(RunReplayerDeps deps);
  ~RunReplayer();
  RunReplayer(const RunReplayer&) = delete;
  RunReplayer& operator=(const RunReplayer&) = delete;

  /// Replays run `runId`. Errors (through `done`): kNotFound for an unknown run, kFailedPrecondition for a
  /// run that is still running, was itself a replay's input-less record, or has no user message, or whose
  /// agent is no longer configured; kUnavailable after stop(); the store's read errors. A replay that runs
  /// and diverges is not an error: its status and the ledger say how.
  void replay(const std::string& runId, std::function<void(Result<ReplayResult>)> done);
  /// Aborts the replays in flight and refuses new ones. Idempotent.
  void stop();

 private:
  struct Replay;
  RunReplayerDeps deps_;
  EventBus bus_;  // the replay turns' events stay private: no client sees them as live chat
  std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<Replay>> active_;  // by replay run id
};

}  // namespace talon::gateway
