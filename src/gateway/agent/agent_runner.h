#pragma once
// Runs agent turns: session lanes (one turn at a time per sessionKey, different sessions concurrently,
// under a global cap), and the turn state machine: intake → context (workspace files + transcript) →
// model (streamed) → tool calls → … → commit (transcript + run record) → events.
//
// Thread rules: submit() may be called from any thread. Turn steps run on the executors given at
// construction (model callbacks on I/O threads, SQLite and tools on the blocking pool); turns of one
// session never overlap. Nothing is reported final before the store has committed it.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/providers/model_provider.h"
#include "store/store.h"

namespace talon::gateway::tools {
class ToolRegistry;
}

namespace talon::gateway {

/// One configured agent as the runner needs it.
struct AgentProfile {
  std::string id;
  std::string name;
  std::filesystem::path workspace;  // absolute; created at start-up
  std::string model;                // "provider/model"; empty: none configured
};

/// What a turn produced.
struct TurnOutcome {
  std::string runId;
  std::string sessionKey;
  std::string sessionId;
  std::string agentId;
  /// Error when the run failed (the error was also published as a chat "error" event).
  std::optional<Error> error;
  std::string text;        // the final answer
  std::string stopReason;  // "stop", "length", "max_steps", ...
  std::string providerId;
  std::string model;
  TokenUsage usage;
  int64_t durationMs = 0;
  int steps = 0;
};

/// A turn to run.
struct TurnRequest {
  std::string runId;           // unique; also the idempotencyKey for chat.send
  std::string idempotencyKey;  // may be empty
  std::string agentId;         // a known agent
  std::string sessionKey;      // canonical agent-scoped key
  std::string message;         // the user's text
  std::string channel = "webchat";
  /// When set, the conversation sent by an OpenAI-compatible client replaces the stored transcript as
  /// model context (the turn is still recorded in the session's transcript).
  std::optional<std::vector<ChatMessage>> contextOverride;
  /// Budget for the whole turn (0: the runner's default).
  std::chrono::milliseconds timeout{0};
  /// Each streamed text piece (optional; runs on an I/O thread).
  std::function<void(std::string_view piece)> onDelta;
  /// Called once with the outcome, after commit (optional).
  std::function<void(const TurnOutcome&)> onDone;
};

struct AgentRunnerOptions {
  /// Most turns running at once over all sessions (OpenClaw agents.defaults.maxConcurrent).
  int maxConcurrent = 8;
  /// Most model calls in one turn; reaching it ends the run with an error.
  int maxSteps = 16;
  std::chrono::milliseconds defaultTimeout{600'000};
  /// Transcript entries loaded as model context.
  int historyLimit = 200;
  /// Bootstrap file limits (OpenClaw agents.defaults.bootstrapMaxChars / bootstrapTotalMaxChars).
  std::size_t bootstrapMaxChars = 20'000;
  std::size_t bootstrapTotalMaxChars = 60'000;
  /// Sessions kept in memory (least recently used are dropped; they reload from the store).
  std::size_t sessionCacheSize = 256;
};

/// Counters for status and health (a snapshot).
struct RunnerStats {
  int64_t running = 0;
  int64_t queued = 0;
  int64_t completed = 0;
  int64_t failed = 0;
};

class AgentRunner {
 public:
  /// `providers`: by provider id. `tools` is shared by all agents. Errors: none today (reserved).
  static Result<std::unique_ptr<AgentRunner>> create(AgentRunnerOptions options, std::vector<AgentProfile> agents,
                                                     std::map<std::string, ModelProviderPtr> providers,
                                                     std::shared_ptr<tools::ToolRegistry> tools, store::Store& store,
                                                     EventBus& bus, Executors executors, ClockPtr clock);
  ~AgentRunner();

  /// Queues a turn in its session's lane. Errors (returned at once, nothing queued): kNotFound for an
  /// unknown agent, kResourceExhausted when the gateway is draining.
  Status submit(TurnRequest request);

  /// Looks up an agent.
  const AgentProfile* agent(const std::string& id) const;
  const std::vector<AgentProfile>& agents() const;
  RunnerStats stats() const;
  /// Stops accepting turns; running turns finish. Thread-safe.
  void drain();

  class Impl;

 private:
  explicit AgentRunner(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace talon::gateway
