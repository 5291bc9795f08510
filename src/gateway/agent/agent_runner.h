#pragma once
// Runs agent turns: session lanes (one turn at a time per sessionKey, different sessions concurrently,
// under a global cap) and each turn as an explicit state machine (ARCHITECTURE.md "The path of a
// message", step 5):
//
//   queued → intake → context → model ⇄ tools → commit → deliver → done | failed | aborted
//
//   intake   load the session, route the candidate chain (model_routing.h), commit the user's message and
//            the run record ("running")
//   context  system prompt from the workspace bootstrap files, then the transcript
//   model    one streamed, cancellable model call (a "step"; at most maxSteps per turn)
//   tools    each tool call: arguments and lookup → ToolGate (may pause the turn for an approval,
//            holding no thread) → the tool on the tool pool → a ToolOutcome; then back to model
//   commit   the new transcript entries and the final run record in one store transaction
//   deliver  the terminal chat/agent events, then TurnRequest::onDone
//
// Each state change is published as an `agent` event with stream "turn" (run_events.h). A turn ends
// failed on an error, the step limit or its deadline (a timer armed with Executors::after cuts a hung
// model call), and aborted by abort()/abortSession() or by drain() after its grace period. An aborted
// or timed-out turn does not wait for a model call or a tool to return: the call is cancelled
// (ModelCall::cancel, ToolContext::cancelled), unanswered tool calls are recorded with outcome
// "cancelled", and the turn commits at once.
//
// Streamed text is coalesced (OpenClaw server-chat.ts LIVE_TEXT_PACING_MS): the first piece is
// published at once, later pieces at most once per `deltaPacing` (and per the byte budget below), and
// whatever is pending is flushed before a tool starts and before the terminal event.
//
// Thread rules: every public member may be called from any thread. Turn steps run on the executors
// given at construction: SQLite and workspace reads on `blocking`, tools on `tools`, model callbacks
// and timers on I/O threads. Events are published from those threads, in order per run. Nothing is
// reported final before the store has committed it.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "gateway/agent/auth_profiles.h"
#include "gateway/agent/model_failover.h"
#include "gateway/agent/model_routing.h"
#include "gateway/agent/session_compaction.h"
#include "gateway/event_bus.h"
#include "gateway/executors.h"
#include "gateway/health/provider_health.h"
#include "gateway/providers/model_provider.h"
#include "gateway/providers/provider_identity.h"
#include "gateway/tools/tool_gate.h"
#include "gateway/tools/tool_outcome.h"
#include "protocol/trace_context.h"
#include "store/store.h"

namespace talon::gateway::tools {
class ToolRegistry;
}

namespace talon::gateway {

/// One configured agent as the runner needs it.
/// The request parameters a model call sends (the model's `params`: OpenClaw's names).
struct ModelCallParams {
  std::optional<double> temperature;  // 0..2
  std::optional<int64_t> maxTokens;   // > 0
};

struct AgentProfile {
  std::string id;
  std::string name;
  std::filesystem::path workspace;  // absolute; created at start-up
  std::string model;                // "provider/model"; empty: none configured
  /// Refs ("provider/model") tried in order, for the current turn only, when `model` fails with a
  /// fallback-worthy error (model_failover.h); empty: the selection is strict. The selection source
  /// decides it (OpenClaw docs/concepts/model-failover.md; config/model_selection.h).
  std::vector<std::string> fallbacks;
  /// Request params by ref ("provider/model") for `model` and each fallback, merged from the config's
  /// layers (config/model_selection.h effectiveModelParams); a ref without an entry sends none.
  std::map<std::string, ModelCallParams> params;
  /// Cost ceilings (USD) over the UTC day and month (Talon-only `spendLimit`); nullopt: none. Checked
  /// against the runs' recorded cost (store::RunRepository::costSince) before the turn's first model call.
  std::optional<double> dailySpendLimitUsd;
  std::optional<double> monthlySpendLimitUsd;
  /// How the turn orders `model` and `fallbacks` before its first call (Talon-only `routing`;
  /// model_routing.h). The default, "ordered", keeps the configured order and records nothing.
  RoutingPolicy routing;
  /// History compaction (`agents.defaults.compaction`, with `model` resolved to "provider/model").
  CompactionSettings compaction;
  /// Context windows in tokens by ref ("provider/model") for `model` and each fallback
  /// (models.providers.<id>.models[].contextWindow); a ref without one gets kDefaultContextWindowTokens.
  std::map<std::string, int64_t> contextWindows;
};

/// What is known of a model beyond the config (a discovered model's capability probe,
/// providers/model_discovery.h), as AgentRunnerOptions::modelTraits answers it.
struct ModelTraits {
  std::optional<int64_t> contextWindow;  // tokens; nullopt: unknown
  /// False when the model cannot use tools (OpenClaw compat.supportsTools === false): the turn sends it
  /// no tool definitions and tells it so in the system prompt (kModelToolsUnavailablePrompt).
  bool supportsTools = true;
};

/// The system prompt section a turn adds for a model that cannot use tools (OpenClaw 2026.9.6 dist
/// model-tool-support-*.mjs MODEL_TOOLS_UNAVAILABLE_PROMPT, word for word).
inline constexpr std::string_view kModelToolsUnavailablePrompt =
    "## Tool availability\n\nThis model cannot use tools in this run. Do not claim that you ran commands, read or "
    "wrote files, browsed the web, generated media, or performed any other tool-backed action. If a request "
    "requires tools, say they are unavailable in this chat and ask the user to switch to a tool-capable model.";

/// One compaction of a session's history, as AgentRunnerOptions::onCompaction reports it.
struct CompactionReport {
  std::string agentId;
  std::string sessionKey;
  std::string runId;           // the run that compacted; "" for a manual compaction
  std::string reason;          // "threshold" | "overflow" | "manual"
  std::string outcome;         // "ok" | "failed" | "noop" (nothing old enough to summarise)
  std::optional<Error> error;  // when failed
  int64_t tokensBefore = 0;    // estimated tokens of the request before, and after (ok only)
  int64_t tokensAfter = 0;
  int64_t compactionCount = 0;  // the session's compactions after this one
};

/// A turn refused by an agent's spending limit (AgentRunnerOptions::onSpendLimitRefused).
struct SpendLimitRefusal {
  std::string agentId;
  std::string runId;
  std::string period;  // "daily" | "monthly"
  double limitUsd = 0;
  double spentUsd = 0;  // recorded cost of the period so far
  int64_t sinceMs = 0;  // start of the period (Unix ms, UTC)
};

/// The states of a turn, in order (see the top of this file). The last three are terminal.
enum class TurnState { kQueued, kIntake, kContext, kModel, kTools, kCommit, kDeliver, kDone, kFailed, kAborted };
/// The state's name in events: "queued", "intake", "context", "model", "tools", "commit", "deliver",
/// "done", "failed", "aborted".
std::string_view turnStateName(TurnState state);

/// A client's result for one of its session's pending client tool calls (OpenAI-compatible API
/// `role:"tool"` with `tool_call_id`, or legacy `role:"function"` with `name` only).
struct ClientToolResult {
  std::string toolCallId;  // the pending call it answers; empty: the first unanswered pending call named `name`
  std::string name;        // the function's name (legacy results; informational otherwise)
  std::string content;     // the result text; may be empty (an empty result still completes the call)
};

/// Client tools (OpenClaw docs/gateway/openai-http-api.md "Chat tool contract"): function tools the caller
/// declares and executes itself. They are offered to the model next to the agent's own tools; a model call
/// of one is not run by the gateway: the turn ends with it pending (TurnOutcome::pendingToolCalls,
/// stopReason "tool_calls"), the assistant's tool-call message committed to the transcript, and a later
/// turn of the same session carrying `results` continues the loop.
struct ClientTools {
  /// Offered to the model after the registry's tools. A name equal to an agent tool's or repeated is
  /// refused by submit() (kInvalidArgument; public message "invalid tool configuration", OpenClaw's).
  std::vector<ToolSpec> tools;
  /// When not empty, the turn continues the session instead of starting from a user message (`message`
  /// is ignored): every call the session's last tool-calling answer left pending must be answered exactly
  /// once, else the turn fails with kInvalidArgument naming the call; the results are committed as tool
  /// results and sent to the model with the rest of that answer's step.
  std::vector<ClientToolResult> results;
  /// Pending calls are named `<callIdPrefix><seq>_<n>` (seq: the transcript entry of the answer, n: the
  /// call's index among the answer's client calls); empty: "call_".
  std::string callIdPrefix;
};

/// What a turn produced.
struct TurnOutcome {
  std::string runId;
  std::string sessionKey;
  std::string sessionId;
  std::string agentId;
  /// Error when the run failed (the error was also published as a chat "error" event). An aborted run
  /// also carries one (kCancelled, "run aborted"), so callers that only check `error` never take it
  /// for a success.
  std::optional<Error> error;
  /// The run was aborted (chat.abort, or shutdown after the drain grace); `stopReason` says by what.
  bool aborted = false;
  std::string text;        // the final answer
  std::string stopReason;  // "stop", "length", "tool_calls" (client tools pending), "max_steps", "timeout", "rpc",
                           // "shutdown", ...
  std::string providerId;  // the provider of the model that answered (or was tried last)
  std::string model;       // the vendor's model id that answered (or was tried last)
  TokenUsage usage;
  int64_t durationMs = 0;
  int steps = 0;
  /// Time spent waiting on model calls, retries' waits excluded, in ms.
  int64_t modelLatencyMs = 0;
  /// Model calls made (retries and fallbacks included), and how many of them failed.
  int modelAttempts = 0;
  int modelFailures = 0;
  /// The client tool calls the run ended waiting for (stopReason "tool_calls"; TurnRequest::clientTools),
  /// with the ids the follow-up's results must name; `text` is the commentary before them.
  std::vector<ToolCall> pendingToolCalls;
};

/// A turn to run.
struct TurnRequest {
  std::string runId;           // unique; also the idempotencyKey for chat.send
  std::string idempotencyKey;  // may be empty
  std::string agentId;         // a known agent
  std::string sessionKey;      // canonical agent-scoped key
  std::string message;         // the user's text
  std::string channel = "webchat";
  /// A model chosen by the caller for this turn ("provider/model", already resolved and allowed by the
  /// agent's modelPolicy): used instead of the agent's model, strictly (no fallbacks), with
  /// `modelOverrideParams`. OpenClaw: a user's model choice is strict (docs/concepts/model-failover.md).
  std::optional<std::string> modelOverride;
  ModelCallParams modelOverrideParams;
  /// Leaves out the workspace bootstrap files (AGENTS.md, SOUL.md, USER.md) from the system prompt (OpenClaw
  /// bootstrapContextMode "lightweight", heartbeat.lightContext): the message is sent as is.
  bool lightContext = false;
  /// When set, the conversation sent by an OpenAI-compatible client replaces the stored transcript as
  /// model context (the turn is still recorded in the session's transcript).
  std::optional<std::vector<ChatMessage>> contextOverride;
  /// The caller's own tools and its results for earlier calls of them (OpenAI-compatible API); nullopt: none.
  std::optional<ClientTools> clientTools;
  /// Budget for the whole turn (0: the runner's default).
  std::chrono::milliseconds timeout{0};
  /// The W3C trace the request that started the turn carried (request frame `traceparent`, HTTP
  /// `traceparent` header): recorded with the run (RunRecord::traceId), and every model call sends
  /// `traceparent` with the trace id, a new span id per call and the trace's flags. nullopt: none.
  std::optional<protocol::TraceContext> trace;
  /// Each streamed text piece (optional; runs on an I/O thread).
  std::function<void(std::string_view piece)> onDelta;
  /// Called once when the turn leaves its lane's queue and starts (optional; before any model call, on the
  /// thread that starts it; must not block). A turn aborted while queued never starts: then only onDone
  /// runs.
  std::function<void()> onStart;
  /// Called once with the outcome, after commit (optional).
  std::function<void(const TurnOutcome&)> onDone;
};

struct AgentRunnerOptions {
  /// Most turns running at once over all sessions (OpenClaw agents.defaults.maxConcurrent).
  int maxConcurrent = 8;
  /// Most model calls in one turn; reaching it ends the run with an error.
  int maxSteps = 16;
  std::chrono::milliseconds defaultTimeout{600'000};
  /// drain(): how long running (and queued) turns may still take before they are aborted, in ms.
  /// Default 10 s; 0 aborts at once.
  std::chrono::milliseconds drainGrace{10'000};
  /// Streamed text: least time between two published `chat` deltas (and `agent` assistant events) of
  /// one run, in ms. OpenClaw: LIVE_TEXT_PACING_MS = 75 (dist server-chat-*.mjs). 0 publishes every
  /// piece.
  std::chrono::milliseconds deltaPacing{75};
  /// Streamed text: each delta carries the cumulative answer (`message`, protocol v4), so the gap
  /// between deltas also grows with the answer: at least answerBytes / deltaBytesPerSecond, keeping
  /// what one run sends each subscriber under about this many bytes per second (per event kind)
  /// whatever the answer's length. 0: pacing only. Talon's addition; OpenClaw paces at a fixed 75 ms.
  std::size_t deltaBytesPerSecond = 256 * 1024;
  /// Transcript entries loaded as model context.
  int historyLimit = 200;
  /// Bootstrap file limits (OpenClaw agents.defaults.bootstrapMaxChars / bootstrapTotalMaxChars).
  std::size_t bootstrapMaxChars = 20'000;
  std::size_t bootstrapTotalMaxChars = 60'000;
  /// Sessions kept in memory (least recently used are dropped; they reload from the store).
  std::size_t sessionCacheSize = 64;
  /// Bytes those sessions' histories may hold in memory, approximately (texts and records; the least
  /// recently used sessions are dropped first, the most recent one is kept whatever its size).
  std::size_t sessionCacheBytes = std::size_t{4} << 20;
  /// Same-model retries of transient model failures (OpenClaw's bounds by default).
  ModelRetryPolicy retry;
  /// Jitter of the retry backoff, a value in [0, 1) per retry (default: uniformly random). Tests fix it.
  std::function<double()> retryJitter;
  /// By provider id: what run records say about each provider (api, base URL origin, prices). A
  /// provider missing here is recorded with its id only.
  std::map<std::string, ProviderIdentity> providerIdentities;
  /// Called after every model call, ok or failed (per-provider health), on the thread that saw it end,
  /// with the turn's lock held: must not block nor call back into the runner. Optional.
  std::function<void(const health::ModelCallRecord&)> onModelCall;
  /// Called after every tool call of a turn ends, with the name the model asked for (possibly not a
  /// registered tool) and the outcome, on the thread that saw it end, with the turn's lock held: must
  /// not block nor call back into the runner. Optional.
  std::function<void(std::string_view tool, const tools::ToolOutcome& outcome)> onToolCall;
  /// True when a provider+model is in cooldown: the turn skips it (recorded as reason "cooldown") while
  /// another model of its chain remains; the last one is always tried. Optional.
  std::function<bool(const std::string& providerId, const std::string& model)> inCooldown;
  /// The per-provider+model health the routing strategies "latency" and "health" read
  /// (health::ProviderHealth::snapshot()), called once per routed turn on a blocking-pool thread. Must not
  /// block for long nor call back into the runner. Optional: without it every candidate has no calls yet.
  std::function<std::vector<health::ProviderModelHealth>()> healthSnapshot;
  /// Called once per turn whose agent has a routing strategy other than "ordered", with the decision
  /// (bypassed ones included), on a blocking-pool thread: the gateway counts decisions here. Must not
  /// block nor call back into the runner. Optional.
  std::function<void(const std::string& agentId, const RoutingDecision& decision)> onRoutingDecision;
  /// Credentials per provider (OpenClaw auth profiles, auth_profiles.h): a provider listed here is called
  /// through its profiles' instances in rotation order instead of `providers`' one; a failure that
  /// rotatesAuthProfile() puts the profile in cooldown and the turn tries the provider's next usable
  /// profile (once for rate_limit/overloaded/timeout) before the next fallback model. Every attempt
  /// records its `authProfile`. A provider whose profiles are all in cooldown is skipped (reason
  /// "auth_profile_cooldown"); when no model is left the turn fails with kUnavailable. Optional.
  AuthProfilePoolPtr authProfiles;
  /// Called when a spending limit refuses a turn (before the run fails with kResourceExhausted), on a
  /// blocking-pool thread: the gateway audits and counts it here. Must not block for long. Optional.
  std::function<void(const SpendLimitRefusal&)> onSpendLimitRefused;
  /// Called once for every run that ends (done, failed or aborted, queued ones included), before the
  /// request's own onDone, on the thread that ends it: the gateway's metrics and health records observe
  /// runs here. Must not block.
  std::function<void(const TurnOutcome&)> onRunEnded;
  /// Called for every compaction attempt (threshold, overflow, manual), on the thread that saw it end:
  /// the gateway's metric observes it here. Must not block nor call back into the runner. Optional.
  std::function<void(const CompactionReport&)> onCompaction;
  /// What is known of a provider's model beyond the config (the gateway answers from model discovery's
  /// last inventory). Asked for the turn's current candidate: its context window budgets the history
  /// when AgentProfile::contextWindows has none for the ref, and a model without tool support is sent
  /// no tools. Called with the turn's lock held: must not block nor call back into the runner. Optional.
  std::function<std::optional<ModelTraits>(const std::string& providerId, const std::string& model)> modelTraits;
};

/// Counters for status and health (a snapshot).
struct RunnerStats {
  int64_t running = 0;
  int64_t queued = 0;
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t aborted = 0;
  /// Sessions with a turn running or queued now (their lanes are busy).
  int64_t activeSessions = 0;
  /// Sessions held in memory now, and their bytes as the cache counts them
  /// (AgentRunnerOptions::sessionCacheSize, sessionCacheBytes).
  int64_t cachedSessions = 0;
  int64_t cachedSessionBytes = 0;
};

/// What abort()/abortSession() did, as OpenClaw's chat.abort answers it: {ok: true, aborted, runIds}
/// (dist chat-abort-handler-*.mjs).
struct AbortResult {
  bool aborted = false;             // at least one run was aborted
  std::vector<std::string> runIds;  // the runs aborted, queued ones first
};

/// What a manual compaction did (OpenClaw sessions.compact answers {ok, key, compacted, reason?}).
struct CompactResult {
  bool compacted = false;
  std::string reason;           // when not compacted: "no transcript" | "nothing to compact"
  int64_t compactionCount = 0;  // the session's compactions now
  int64_t tokensBefore = 0;     // estimated tokens of the history before, and after (compacted only)
  int64_t tokensAfter = 0;
};

/// What compact() does when a turn of the session is running or queued.
enum class CompactWhenBusy {
  /// Refuse with kFailedPrecondition (OpenClaw sessions.compact).
  kRefuse,
  /// Abort the running turn (stopReason "compact") and compact once the session's lane is free; turns
  /// already queued keep their place and run first (OpenClaw `/compact`, which aborts the active run).
  kAbortRunning,
};

class AgentRunner {
 public:
  /// `providers`: by provider id. `tools` is shared by all agents (may be null: no tools) and filled before: its specs
  /// are read once. `gate` decides every tool call (null: tools::AllowAllToolGate). `executors` needs io, blocking and
  /// after (tools falls back to blocking). Errors: kInvalidArgument when an executor is missing or an option is out of
  /// range (maxConcurrent, maxSteps < 1).
  static Result<std::unique_ptr<AgentRunner>> create(AgentRunnerOptions options, std::vector<AgentProfile> agents,
                                                     std::map<std::string, ModelProviderPtr> providers,
                                                     std::shared_ptr<tools::ToolRegistry> tools, store::Store& store,
                                                     EventBus& bus, Executors executors, ClockPtr clock,
                                                     tools::ToolGatePtr gate = nullptr);
  /// Lets go of every turn still queued or running, silently: no event, store write or onDone follows
  /// (drain() first for a clean stop); their model calls and approvals are cancelled. Destroy the runner
  /// after its executors have stopped running its tasks (a turn's blocking step already in progress may
  /// still read the store until it returns).
  ~AgentRunner();

  /// Queues a turn in its session's lane. Errors (returned at once, nothing queued): kNotFound for an
  /// unknown agent, kAlreadyExists for a runId already queued or running, kUnavailable when draining.
  Status submit(TurnRequest request);

  /// Aborts one run (OpenClaw chat.abort with runId): a queued run is dropped and never runs; a
  /// running one has its model call, pending approval or tool call cancelled and ends with
  /// state "aborted" (chat event) and stopReason `stopReason`. `sessionKey`, when not empty, must be the
  /// run's. Returns {aborted: false} for an unknown run or one already committing. Errors:
  /// kInvalidArgument when the run belongs to another session ("runId does not match sessionKey").
  Result<AbortResult> abort(const std::string& runId, const std::string& sessionKey = {},
                            std::string_view stopReason = "rpc");
  /// Aborts every run of a session, queued ones first (OpenClaw chat.abort without runId; docs/concepts/
  /// queue.md "Queued-turn cancellation").
  AbortResult abortSession(const std::string& sessionKey, std::string_view stopReason = "rpc");
  /// The state of a queued or running turn; nullopt once it has ended (or for an unknown run).
  std::optional<TurnState> state(const std::string& runId) const;

  /// Compacts a session's history now (reason "manual"; OpenClaw sessions.compact and `/compact`), with
  /// `instructions` as the summary's focus (may be empty). Holds the session's lane meanwhile, so turns
  /// submitted for it queue behind. A session with a turn running or queued is refused or waited for, as
  /// `whenBusy` says. `onDone` runs once, on an I/O or blocking-pool thread (not at all when the runner is
  /// destroyed while the compaction still waits for the lane). Errors (through onDone): kNotFound for an
  /// unknown agent, kFailedPrecondition under kRefuse when a turn of the session is running or queued
  /// ("Session <key> has an active run; retry after it finishes.", OpenClaw's), kUnavailable when
  /// draining, else the summary call's or the store's error (nothing is stored then).
  void compact(const std::string& agentId, const std::string& sessionKey, std::string instructions,
               std::function<void(Result<CompactResult>)> onDone, CompactWhenBusy whenBusy = CompactWhenBusy::kRefuse);

  /// Looks up an agent.
  const AgentProfile* agent(const std::string& id) const;
  const std::vector<AgentProfile>& agents() const;
  RunnerStats stats() const;
  /// Shutdown: stops accepting turns (submit fails with kUnavailable), lets queued and running turns
  /// go on for options.drainGrace, then aborts what is left (stopReason "shutdown"). `onDrained` runs
  /// once every turn has ended (at once, on the caller's thread, when none is left; otherwise on the
  /// thread that ends the last one): the gateway then stops its loop. Calling it again adds a callback.
  void drain(std::function<void()> onDrained = {});

  class Impl;

 private:
  explicit AgentRunner(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace talon::gateway
