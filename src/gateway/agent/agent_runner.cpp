#include "gateway/agent/agent_runner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <random>
#include <unordered_map>

#include "base/file_io.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/text.h"
#include "gateway/agent/client_tool_calls.h"
#include "gateway/agent/run_events.h"
#include "gateway/agent/transcript_tool_calls.h"
#include "gateway/tools/tool_outcome.h"
#include "gateway/tools/tool_registry.h"
#include "store/compaction_repository.h"

namespace talon::gateway {
namespace {

/// Conversation state of one session, owned by the turn holding its lane.
struct SessionState {
  store::SessionRecord record;
  bool persisted = false;
  std::vector<store::TranscriptEntry> history;  // the last historyLimit entries, oldest first
  int64_t nextSeq = 1;
  /// The compaction in force (the newest): requests send its summary instead of the entries before
  /// its firstKeptSeq.
  std::optional<store::CompactionRecord> compaction;
  /// What history and compaction hold on the heap, approximately (sessionStateBytes), as last counted
  /// by the turn holding the session's lane; the session cache bounds the sum over its sessions.
  std::atomic<std::size_t> bytes{0};
};
using SessionStatePtr = std::shared_ptr<SessionState>;

/// The heap bytes of one transcript entry, approximately: its record and its texts.
std::size_t transcriptEntryBytes(const store::TranscriptEntry& e) {
  return sizeof e + e.sessionKey.size() + e.runId.size() + e.content.size() + e.toolCallsJson.size() +
         e.toolCallId.size() + e.toolName.size();
}

/// Counts a session's history and compaction summary into state.bytes. Called by the turn holding the
/// session's lane (or before the state is shared).
void countSessionBytes(SessionState& state) {
  std::size_t bytes = sizeof state + state.history.capacity() * sizeof(store::TranscriptEntry);
  for (const auto& e : state.history) bytes += transcriptEntryBytes(e) - sizeof e;
  if (state.compaction) bytes += state.compaction->summary.size();
  state.bytes.store(bytes, std::memory_order_relaxed);
}

/// The estimated tokens of the tool specs every request offers (name, description, parameters).
int64_t estimateToolSpecTokens(const tools::ToolRegistry* tools) {
  int64_t tokens = 0;
  if (tools == nullptr) return tokens;
  for (const auto& spec : tools->specs()) {
    tokens += estimateTextTokens(spec.name) + estimateTextTokens(spec.description) +
              estimateTextTokens(spec.parametersJson());
  }
  return tokens;
}

/// The bootstrap files read into the system prompt, in this order (OpenClaw docs: AGENTS.md, SOUL.md,
/// USER.md are injected when present).
constexpr const char* kBootstrapFiles[] = {"AGENTS.md", "SOUL.md", "USER.md"};

/// "provider/model" → (provider, model). A reference without '/' names a model of provider "openai"
/// (OpenClaw's default provider).
std::pair<std::string, std::string> splitModelRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"openai", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

std::string_view turnStateName(TurnState state) {
  switch (state) {
    case TurnState::kQueued:
      return "queued";
    case TurnState::kIntake:
      return "intake";
    case TurnState::kContext:
      return "context";
    case TurnState::kModel:
      return "model";
    case TurnState::kTools:
      return "tools";
    case TurnState::kCommit:
      return "commit";
    case TurnState::kDeliver:
      return "deliver";
    case TurnState::kDone:
      return "done";
    case TurnState::kFailed:
      return "failed";
    case TurnState::kAborted:
      return "aborted";
  }
  return "failed";
}

namespace {
/// How a turn ends: its terminal state, the error (failed) and the stop reason.
struct Ending {
  TurnState terminal = TurnState::kDone;
  std::optional<Error> error;
  std::string stopReason;
};

Ending failedEnding(Error error, std::string stopReason) {
  return Ending{TurnState::kFailed, std::move(error), std::move(stopReason)};
}

/// The start (Unix ms) of the UTC calendar day and month that hold `nowMs`.
int64_t utcDayStartMs(int64_t nowMs) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(floor<days>(sys_time<milliseconds>(milliseconds(nowMs))).time_since_epoch())
      .count();
}
int64_t utcMonthStartMs(int64_t nowMs) {
  using namespace std::chrono;
  year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(nowMs)))};
  return duration_cast<milliseconds>(sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch()).count();
}

Ending abortedEnding(std::string_view stopReason) {
  return Ending{TurnState::kAborted, std::nullopt, std::string(stopReason)};
}

Error abortedError() { return Error(ErrorCode::kCancelled, "run aborted", "run aborted"); }
}  // namespace

class AgentRunner::Impl : public std::enable_shared_from_this<AgentRunner::Impl> {
 public:
  class Turn;
  using TurnPtr = std::shared_ptr<Turn>;

  Impl(AgentRunnerOptions options, std::vector<AgentProfile> agents, std::map<std::string, ModelProviderPtr> providers,
       std::shared_ptr<tools::ToolRegistry> tools, store::Store& store, EventBus& bus, Executors executors,
       ClockPtr clock, tools::ToolGatePtr gate)
      : options_(std::move(options)),
        agents_(std::move(agents)),
        providers_(std::move(providers)),
        tools_(std::move(tools)),
        gate_(std::move(gate)),
        store_(store),
        bus_(bus),
        ex_(std::move(executors)),
        clock_(std::move(clock)),
        toolSpecTokens_(estimateToolSpecTokens(tools_.get())) {}

  Status submit(TurnRequest request);
  Result<AbortResult> abort(const std::string& runId, const std::string& sessionKey, std::string_view stopReason);
  AbortResult abortSession(const std::string& sessionKey, std::string_view stopReason);
  std::optional<TurnState> state(const std::string& runId) const;
  void drain(std::function<void()> onDrained);
  void compact(const std::string& agentId, const std::string& sessionKey, std::string instructions,
               std::function<void(Result<CompactResult>)> onDone, CompactWhenBusy whenBusy);
  /// The provider instance that serves summary calls for `providerId` (its first auth profile's when
  /// it has profiles); null when not configured.
  ModelProviderPtr compactionProvider(const std::string& providerId) const {
    const auto& pool = options_.authProfiles;
    if (pool && pool->has(providerId)) return pool->order(providerId).front().provider;
    auto it = providers_.find(providerId);
    return it != providers_.end() ? it->second : nullptr;
  }
  const AgentProfile* agent(const std::string& id) const {
    for (const auto& a : agents_) {
      if (a.id == id) return &a;
    }
    return nullptr;
  }
  RunnerStats stats() const {
    RunnerStats stats;
    {
      std::lock_guard lock(mu_);
      stats = RunnerStats{running_,        static_cast<int64_t>(queuedCount_), completed_.load(), failed_.load(),
                          aborted_.load(), static_cast<int64_t>(lanes_.size())};
    }
    std::lock_guard lock(cacheMu_);
    stats.cachedSessions = static_cast<int64_t>(sessions_.size());
    stats.cachedSessionBytes = static_cast<int64_t>(cacheBytes_);
    return stats;
  }

  // Lane bookkeeping (the Locked ones under mu_).
  void startOrQueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart);
  /// The lane of `sessionKey` is free again: its next turn (if any) starts or waits for a slot.
  void releaseLaneLocked(const std::string& sessionKey, std::vector<TurnPtr>& toStart);
  /// Takes queued lane heads into free global slots.
  void fillSlotsLocked(std::vector<TurnPtr>& toStart);
  /// Removes a turn that has not started from its queue; false when it has started.
  bool unqueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart);
  /// The drain callbacks to run now: draining and nothing left.
  std::vector<std::function<void()>> drainedLocked();
  /// A running turn has ended (after deliver).
  void turnEnded(const TurnPtr& turn);
  void dispatch(std::vector<TurnPtr>& toStart);
  /// drain()'s grace has passed: abort whatever is left.
  void abortAll(std::string_view stopReason);
  /// ~AgentRunner: detaches every queued or running turn (Turn::detach) and drops the drain waiters
  /// uncalled, so that nothing the runner holds keeps a turn alive, nor a turn the runner.
  void detachAll();

  /// The session's state, from the cache or the store. Blocking (SQLite): call on the blocking pool.
  Result<SessionStatePtr> loadSession(const std::string& sessionKey, const std::string& agentId);
  /// The agent's system prompt from its workspace bootstrap files. Blocking (disk).
  std::string systemPrompt(const AgentProfile& agent);

  AgentRunnerOptions options_;
  std::vector<AgentProfile> agents_;
  std::map<std::string, ModelProviderPtr> providers_;
  std::shared_ptr<tools::ToolRegistry> tools_;
  tools::ToolGatePtr gate_;
  store::Store& store_;
  EventBus& bus_;
  Executors ex_;
  ClockPtr clock_;
  /// The estimated tokens of the tools_ specs (fixed for the runner's life): part of every request.
  const int64_t toolSpecTokens_;

  mutable std::mutex mu_;  // taken before a Turn's mutex, never while holding one
  struct Lane {
    std::deque<TurnPtr> pending;
    bool busy = false;  // a turn of this session is running or waiting in ready_
    /// Compactions waiting for the lane to be free (CompactWhenBusy::kAbortRunning), posted to the I/O
    /// executor when its last turn has ended.
    std::vector<std::function<void()>> whenFree;
  };
  std::unordered_map<std::string, Lane> lanes_;
  std::deque<TurnPtr> ready_;                       // lane heads waiting for a global slot
  std::unordered_map<std::string, TurnPtr> turns_;  // by runId: queued or running, not ended
  int64_t running_ = 0;
  std::size_t queuedCount_ = 0;
  bool draining_ = false;
  std::vector<std::function<void()>> drainWaiters_;
  TimerHandlePtr drainTimer_;
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> aborted_{0};

  /// Loaded sessions, least recently used dropped first: at most options_.sessionCacheSize of them and
  /// options_.sessionCacheBytes of their SessionState::bytes (one session is kept whatever its size).
  struct CachedSession {
    SessionStatePtr state;
    std::list<std::string>::iterator lruIt;
    std::size_t countedBytes = 0;  // its bytes as counted in cacheBytes_
  };
  /// Takes the session's current bytes into cacheBytes_ and drops sessions over the bounds. Takes cacheMu_.
  void recountCachedSession(const std::string& sessionKey);
  /// recountCachedSession's work on `it`, then the trimming. Holds cacheMu_.
  void recountLocked(std::unordered_map<std::string, CachedSession>::iterator it);
  mutable std::mutex cacheMu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, CachedSession> sessions_;
  std::size_t cacheBytes_ = 0;

  struct PromptCacheEntry {
    std::vector<int64_t> mtimes;
    std::string text;
  };
  std::mutex promptMu_;
  std::unordered_map<std::string, PromptCacheEntry> prompts_;
};

/// One turn: owns its session's state while its lane is held. Every callback (model stream, gate
/// decision, tool result, timers, stop requests) takes mu_ and checks that it still concerns the
/// current step (a generation counter), so a late answer of a cancelled call is ignored. Blocking work
/// (store, disk, tools, the provider's stream() call and the gate's check()) runs with mu_ released.
class AgentRunner::Impl::Turn : public std::enable_shared_from_this<Turn> {
 public:
  using Lock = std::unique_lock<std::mutex>;
  enum class Where { kPending, kReady, kRunning };

  Turn(std::shared_ptr<Impl> impl, TurnRequest request, const AgentProfile& agent)
      : impl_(std::move(impl)), req_(std::move(request)), agent_(agent), events_(req_.runId, req_.sessionKey) {}

  const std::string& sessionKey() const { return req_.sessionKey; }
  const std::string& runId() const { return req_.runId; }
  TurnState state() const {
    std::lock_guard lock(mu_);
    return state_;
  }

  /// Where the turn is in the runner's queues; guarded by Impl::mu_.
  Where where = Where::kPending;

  /// Publishes the "queued" state (the turn waits for its lane or a global slot).
  void announceQueued();
  /// Runs the turn: intake and context, then the model. Called on the blocking pool.
  void begin();
  /// Ends a running turn early (abort, deadline). Returns false when it is already committing or has
  /// ended, or another stop came first.
  bool requestStop(Ending ending);
  /// Ends a turn that never started (aborted while queued): events and onDone, nothing stored.
  void endQueued(std::string_view stopReason);
  /// Lets go of the turn silently (the runner is being destroyed): no further event, store write or
  /// onDone; its model call, approval and timers are cancelled and released, and every later callback
  /// (a late model answer, a gate decision, a tool result) is ignored.
  void detach();

 private:
  void publish(std::string name, std::string payload) {
    if (detached_) return;
    impl_->bus_.publish(GatewayEvent{std::move(name), req_.sessionKey, req_.runId,
                                     std::make_shared<const std::string>(std::move(payload))});
  }
  void setStateLocked(TurnState state, json::object extra = {}) {
    state_ = state;
    publish("agent", events_.turnState(turnStateName(state), impl_->clock_->nowMs(), std::move(extra)));
  }
  store::TranscriptEntry entry(store::TranscriptRole role, std::string content) {
    store::TranscriptEntry e;
    e.sessionKey = req_.sessionKey;
    e.seq = session_->nextSeq++;
    e.runId = req_.runId;
    e.role = role;
    e.content = std::move(content);
    e.ts = impl_->clock_->nowMs();
    return e;
  }

  /// Intake: the session and the user's message. Returns the error that ends the turn, if any.
  std::optional<Error> intake();
  /// The agent's spending limits against its runs' recorded cost (blocking: a store read). Returns the
  /// error that refuses the turn (kResourceExhausted), if any; a failed read refuses it too (fail closed).
  std::optional<Error> checkSpendLimits();
  /// Context: the system prompt and the conversation sent to the model. Blocking (disk).
  void buildContext();
  /// After context (and a threshold compaction): picks the first usable model and calls it.
  void startModel(Lock& lk);  // may release lk
  /// The index in session_->history of the first entry requests send: within historyLimit, at or after
  /// the compaction's firstKeptSeq, never a tool result.
  std::size_t historyStartLocked() const;
  /// context_ rebuilt from the session: system prompt, the compaction's summary, the history from
  /// historyStartLocked(), and this turn's entries not yet committed.
  void rebuildContextLocked();
  /// The estimated tokens of a request holding context_ and the tools' specs.
  int64_t requestTokensLocked() const;
  /// AgentRunnerOptions::modelTraits of the current candidate (nullopt: none known).
  std::optional<ModelTraits> traitsLocked() const;
  /// The token budget of the current candidate model (session_compaction.h contextBudgetTokens).
  int64_t budgetLocked() const;
  /// Compacts the session's history by one summary call (reason "threshold" | "overflow"), then goes
  /// on: threshold → startModel (also when compaction fails or there is nothing to compact); overflow →
  /// callModel again, or the turn fails with `overflow` when compaction is impossible or fails.
  void startCompaction(Lock& lk, std::string reason, std::optional<Error> overflow = std::nullopt);
  void onCompactionDone(uint64_t gen, Result<ModelResponse> result);
  void onCompactionStored(Status stored, store::CompactionRecord record);
  /// A compaction attempt ended: event, log line and AgentRunnerOptions::onCompaction.
  void reportCompactionLocked(std::string_view outcome, const std::optional<Error>& error, int64_t tokensAfter);
  /// Goes on after a compaction attempt (see startCompaction); `error` when it failed.
  void afterCompaction(Lock& lk, std::optional<Error> error);  // may release lk
  void callModel(Lock& lk);                                    // may release lk
  /// Points provider_ at the current candidate, skipping (and recording) candidates whose provider is
  /// not configured. False when none is left.
  bool selectCandidateLocked();
  /// A model call failed: retry the same model, move to the next candidate, or end the turn.
  void onModelFailed(Lock& lk, Error error);  // may release lk
  void onRetryTimer(uint64_t gen);
  /// The attempt record of the call that just ended (its latency is added to modelMs_).
  json::object attemptLocked(std::string_view outcome);
  /// Reports a call that ended to options_.onModelCall.
  void observeCallLocked(bool ok, std::string_view reason, const json::object& attempt);
  void onModelDelta(uint64_t gen, std::string_view piece);
  void onModelDone(uint64_t gen, Result<ModelResponse> result);
  void nextTool(Lock& lk);  // may release lk
  /// True when `name` is one of the request's client tools.
  bool isClientTool(std::string_view name) const;
  /// The step's server-side calls are done and client calls remain: the turn ends waiting for them.
  void awaitClientCalls(Lock& lk);  // releases lk
  void onGateDecision(uint64_t gen, tools::GateDecision decision);
  void onToolDone(uint64_t gen, tools::ToolOutcome outcome, int64_t durationMs);
  /// `durationMs`: how long the tool ran (0 when it did not run: refused, unknown, cancelled first).
  void recordToolLocked(const ToolCall& call, const tools::ToolOutcome& outcome, int64_t durationMs = 0);
  void onFlushTimer();
  void flushLiveTextLocked();
  std::chrono::milliseconds paceIntervalLocked() const;
  void commit(Lock& lk, Ending ending);  // releases lk
  void deliver(Status committed);
  TurnOutcome outcomeLocked() const;

  std::shared_ptr<Impl> impl_;
  TurnRequest req_;
  const AgentProfile& agent_;

  mutable std::mutex mu_;
  TurnState state_ = TurnState::kQueued;
  std::optional<Ending> stop_;          // a stop requested while a blocking step (intake, context) was in flight
  bool stopped_ = false;                // requestStop() succeeded: the turn ends early
  Ending ending_;                       // set by commit()
  std::atomic<bool> cancelled_{false};  // ToolContext::cancelled of this turn's tool calls
  std::atomic<bool> detached_{false};   // detach(): the runner is gone, the turn does nothing more
  TimerHandlePtr deadlineTimer_;
  RunEventEncoder events_;
  SessionStatePtr session_;
  ModelProviderPtr provider_;
  std::string providerId_;  // of the candidate being called
  std::string model_;
  // recovery (model_failover.h): the candidate chain, same-model retries and every attempt made
  std::vector<std::pair<std::string, std::string>> candidates_;  // (providerId, model): primary, fallbacks
  std::size_t candidate_ = 0;
  // auth-profile rotation (auth_profiles.h) within the current candidate's provider: its profiles in
  // order, the one being called ("" when the provider has none) and the rotations a rate limit or an
  // overload made (OpenClaw allows one before the next fallback model)
  std::vector<AuthProfile> profiles_;
  std::size_t profile_ = 0;
  std::string profileId_;
  int loadRotations_ = 0;
  std::string unavailableProfiles_;  // why the last skipped candidate had no usable profile
  int retries_ = 0;                  // same-model retries of the current candidate
  bool rateLimitSeen_ = false;
  std::optional<std::chrono::steady_clock::time_point> firstFailure_;
  TimerHandlePtr retryTimer_;
  std::chrono::steady_clock::time_point callStarted_;
  std::string callSpanId_;  // the span id of the current model call's traceparent; "" without a trace
  json::array attempts_;
  /// The routing decision (RoutingDecision::toJson()), recorded first in the run's attempts as
  /// {outcome: "routed", provider, model, reason, routing}; nullopt with strategy "ordered".
  std::optional<json::object> routing_;
  int failures_ = 0;
  int64_t modelMs_ = 0;
  std::optional<double> costUsd_ = 0.0;  // nullopt once a call's model has no price table
  std::vector<ChatMessage> context_;     // messages sent to the model, growing through the turn
  std::string systemPrompt_;             // context_'s system prompt ("" when none)
  // compaction (session_compaction.h)
  bool needsCompaction_ = false;        // buildContext found the request over the budget
  bool compacting_ = false;             // a summary call (or its store write) is in flight
  bool overflowCompacted_ = false;      // the overflow recovery was used (once per turn)
  std::string compactionReason_;        // "threshold" | "overflow" of the attempt in flight
  std::string compactionModel_;         // "provider/model" writing the summary
  std::optional<Error> overflowError_;  // the overflow that started the attempt
  int64_t compactionTokensBefore_ = 0;
  int64_t compactionFirstKept_ = 0;
  std::vector<store::TranscriptEntry> new_;  // entries of this turn not yet committed
  TokenUsage usage_;
  int steps_ = 0;
  int64_t startedMs_ = 0;
  std::chrono::steady_clock::time_point deadline_;

  // model
  uint64_t callGen_ = 0;  // bumped when a call completes or is abandoned
  ModelCallPtr call_;
  std::string text_;  // answer text streamed in the current step

  // tools
  std::vector<ToolCall> calls_;  // of the current step, run here
  // client tools (ClientTools): the current step's calls of them, renamed to their pending ids; the turn
  // ends waiting for them once calls_ are done
  std::vector<ToolCall> clientCalls_;
  bool awaitingClient_ = false;  // the turn ends (ended) with clientCalls_ pending: stopReason "tool_calls"
  // a follow-up turn with contextOverride: the stored answer that made the pending calls, its results
  // and the client's, sent after the client's conversation instead of a user message
  std::vector<ChatMessage> resumed_;
  std::size_t toolIndex_ = 0;  // the call being decided or run
  uint64_t toolGen_ = 0;       // bumped for each gate check, and when one is abandoned
  bool awaitingGate_ = false;
  bool toolRunning_ = false;
  tools::PendingDecisionPtr approval_;
  const tools::Tool* pendingTool_ = nullptr;
  json::object pendingArgs_;

  // live text coalescing (OpenClaw LIVE_TEXT_PACING_MS)
  std::string sentText_;           // the text of the last published chat delta
  std::string pendingAgentDelta_;  // pieces not yet published
  std::optional<std::chrono::steady_clock::time_point> lastFlush_;
  TimerHandlePtr flushTimer_;
};

void AgentRunner::Impl::Turn::announceQueued() {
  std::lock_guard lock(mu_);
  if (state_ == TurnState::kQueued) setStateLocked(TurnState::kQueued);
}

void AgentRunner::Impl::Turn::begin() {
  if (detached_) return;
  if (req_.onStart) req_.onStart();
  Lock lk(mu_);
  startedMs_ = impl_->clock_->nowMs();
  auto timeout = req_.timeout.count() > 0 ? req_.timeout : impl_->options_.defaultTimeout;
  deadline_ = impl_->clock_->steadyNow() + timeout;
  publish("agent", events_.lifecycle("start", startedMs_));
  if (stop_) return commit(lk, *stop_);
  std::weak_ptr<Turn> weak = weak_from_this();
  deadlineTimer_ = impl_->ex_.after(timeout, [weak] {
    if (auto self = weak.lock()) {
      self->requestStop(failedEnding(Error(ErrorCode::kDeadlineExceeded, "run timed out", "run timed out"), "timeout"));
    }
  });
  setStateLocked(TurnState::kIntake);
  lk.unlock();

  auto error = intake();
  if (!error) {
    if (auto refused = checkSpendLimits()) {
      lk.lock();
      return commit(lk, failedEnding(std::move(*refused), "spend_limit"));
    }
  }
  lk.lock();
  if (error) return commit(lk, failedEnding(std::move(*error), "error"));
  if (stop_) return commit(lk, *stop_);
  setStateLocked(TurnState::kContext);
  publish("chat", events_.chatStatus("preparing_context"));
  lk.unlock();

  buildContext();
  lk.lock();
  if (stop_) return commit(lk, *stop_);
  if (needsCompaction_) return startCompaction(lk, "threshold");
  startModel(lk);
}

void AgentRunner::Impl::Turn::startModel(Lock& lk) {
  if (agent_.model.empty()) {
    return commit(lk,
                  failedEnding(Error(ErrorCode::kFailedPrecondition, "agent " + agent_.id + " has no model configured",
                                     "agent " + agent_.id + " has no model configured (set agents.defaults.model)"),
                               "error"));
  }
  if (!selectCandidateLocked()) {
    if (!unavailableProfiles_.empty()) {
      // OpenClaw: a credential in its cooldown or disable window is not called again before it ends.
      return commit(lk,
                    failedEnding(Error(ErrorCode::kUnavailable, unavailableProfiles_, unavailableProfiles_), "error"));
    }
    const std::string& first = candidates_.front().first;
    return commit(
        lk,
        failedEnding(Error(ErrorCode::kFailedPrecondition, "no model provider \"" + first + "\" for " + agent_.model,
                           "model provider \"" + first + "\" is not configured (models.providers." + first + ")"),
                     "error"));
  }
  publish("chat", events_.chatStatus("starting_model"));
  callModel(lk);
}

std::optional<Error> AgentRunner::Impl::Turn::intake() {
  auto loaded = impl_->loadSession(req_.sessionKey, req_.agentId);
  if (!loaded) return loaded.error();
  SessionStatePtr session = *loaded;
  {
    std::lock_guard lock(mu_);
    session_ = session;
  }

  // The user's message and the run record are committed before the model is called, so a crash
  // mid-turn loses neither (the run is then marked aborted at the next start).
  auto now = impl_->clock_->nowMs();
  auto& rec = session->record;
  if (!session->persisted) {
    rec.sessionKey = req_.sessionKey;
    rec.agentId = req_.agentId;
    rec.sessionId = newUuid();
    rec.channel = req_.channel;
    rec.createdAtMs = now;
  }
  const std::string& primary = req_.modelOverride ? *req_.modelOverride : agent_.model;
  std::vector<std::pair<std::string, std::string>> chain{splitModelRef(primary)};
  for (const auto& ref : req_.modelOverride ? std::vector<std::string>{} : agent_.fallbacks) {
    auto candidate = splitModelRef(ref);
    if (std::find(chain.begin(), chain.end(), candidate) == chain.end()) chain.push_back(std::move(candidate));
  }
  // Routing (Talon-only, model_routing.h) only reorders the chain; "ordered" leaves it and the record as they are.
  std::optional<json::object> routing;
  if (agent_.routing.strategy != RoutingStrategy::kOrdered && !primary.empty()) {
    const RoutingBypass bypass = req_.modelOverride ? RoutingBypass::kModelOverride
                                 : chain.size() < 2 ? RoutingBypass::kStrictModel
                                                    : RoutingBypass::kNone;
    const auto& options = impl_->options_;
    std::vector<health::ProviderModelHealth> health;
    if (bypass == RoutingBypass::kNone && options.healthSnapshot) health = options.healthSnapshot();
    RoutingDecision decision =
        routeModelChain(chain, agent_.routing, bypass, health, options.providerIdentities, impl_->clock_->nowMs());
    chain.clear();
    for (const auto& c : decision.candidates) chain.emplace_back(c.providerId, c.model);
    routing = decision.toJson();
    if (options.onRoutingDecision) options.onRoutingDecision(agent_.id, decision);
  }
  {
    std::lock_guard lock(mu_);
    providerId_ = chain.front().first;
    model_ = chain.front().second;
    candidates_ = std::move(chain);
    routing_ = std::move(routing);
  }
  rec.updatedAtMs = now;
  rec.lastRunId = req_.runId;
  rec.model = primary;
  // Client tools: a follow-up's results answer the calls the session's last run left pending; a new user
  // message instead closes them (each call gets a result, so the transcript stays a valid conversation).
  const bool followUp = req_.clientTools && !req_.clientTools->results.empty();
  const int64_t firstSeq = session->nextSeq;
  std::vector<store::TranscriptEntry> opening;
  auto pending = findPendingClientCalls(session->history);
  if (followUp) {
    // Without pending calls every result is refused, naming its id.
    auto matched = matchClientResults(pending ? pending->calls : std::vector<ToolCall>{}, req_.clientTools->results);
    if (!matched) return matched.error();
    std::vector<ChatMessage> resumed;
    for (std::size_t i = pending->answerIndex; i < session->history.size(); ++i) {
      resumed.push_back(transcriptChatMessage(session->history[i]));
    }
    for (auto& m : *matched) {
      auto e = entry(store::TranscriptRole::kTool, m.content);
      e.toolCallId = m.call.id;
      e.toolName = m.call.name;
      e.toolCallsJson = tools::encodeTranscriptMeta(tools::ToolOutcome::success(m.content));
      resumed.push_back(ChatMessage{"tool", std::move(m.content), {}, m.call.id});
      opening.push_back(std::move(e));
    }
    std::lock_guard lock(mu_);
    resumed_ = std::move(resumed);
  } else {
    if (pending) {
      for (const auto& call : pending->calls) {
        auto outcome = tools::ToolOutcome::failure(tools::ToolErrorKind::kCancelled,
                                                   "The client sent a new message instead of this tool call's result.");
        auto e = entry(store::TranscriptRole::kTool, outcome.modelContent());
        e.toolCallId = call.id;
        e.toolName = call.name;
        e.toolCallsJson = tools::encodeTranscriptMeta(outcome);
        opening.push_back(std::move(e));
      }
    }
    opening.push_back(entry(store::TranscriptRole::kUser, req_.message));
  }
  store::RunRecord run;
  run.runId = req_.runId;
  run.sessionKey = req_.sessionKey;
  run.agentId = req_.agentId;
  run.idempotencyKey = req_.idempotencyKey;
  run.status = store::RunStatus::kRunning;
  run.model = agent_.model;
  run.startedAtMs = startedMs_;
  if (req_.trace) run.traceId = req_.trace->traceId;
  store::WriteBatch batch;
  store::SessionRepository::upsert(batch, rec);
  for (const auto& e : opening) store::TranscriptRepository::append(batch, e);
  store::RunRepository::upsert(batch, run);
  auto committed = impl_->store_.write(std::move(batch));
  if (!committed) {
    session->nextSeq = firstSeq;
    return committed.error();
  }
  session->persisted = true;
  for (auto& e : opening) session->history.push_back(std::move(e));
  countSessionBytes(*session);
  return std::nullopt;
}

std::optional<Error> AgentRunner::Impl::Turn::checkSpendLimits() {
  if (!agent_.dailySpendLimitUsd && !agent_.monthlySpendLimitUsd) return std::nullopt;
  const int64_t now = impl_->clock_->nowMs();
  struct Period {
    const char* name;
    std::optional<double> limit;
    int64_t sinceMs;
  };
  const Period periods[] = {{"daily", agent_.dailySpendLimitUsd, utcDayStartMs(now)},
                            {"monthly", agent_.monthlySpendLimitUsd, utcMonthStartMs(now)}};
  for (const auto& p : periods) {
    if (!p.limit) continue;
    auto spent = impl_->store_.runs().costSince(agent_.id, p.sinceMs);
    if (!spent) {
      Error e = spent.error();
      e.message =
          "cannot check the " + std::string(p.name) + " spending limit of agent " + agent_.id + ": " + e.message;
      return e;
    }
    if (*spent < *p.limit) continue;
    SpendLimitRefusal refusal{agent_.id, req_.runId, p.name, *p.limit, *spent, p.sinceMs};
    if (impl_->options_.onSpendLimitRefused) impl_->options_.onSpendLimitRefused(refusal);
    char amounts[128];
    std::snprintf(amounts, sizeof amounts, "%.6g USD spent of %.6g USD", *spent, *p.limit);
    std::string text = "agent " + agent_.id + " reached its " + p.name + " spending limit (" + amounts +
                       "); no new turn starts until the " + (std::string_view(p.name) == "daily" ? "day" : "month") +
                       " ends (UTC)";
    Error e(ErrorCode::kResourceExhausted, text, text);
    e.details["spendLimit"] = json::object{{"period", p.name}, {"limitUsd", *p.limit}, {"spentUsd", *spent}};
    return e;
  }
  return std::nullopt;
}

void AgentRunner::Impl::Turn::buildContext() {
  // Context: system prompt, then the stored transcript (or the client's conversation).
  std::string systemPrompt = req_.lightContext ? std::string() : impl_->systemPrompt(agent_);
  std::lock_guard lock(mu_);
  systemPrompt_ = std::move(systemPrompt);
  if (req_.contextOverride) {
    context_.clear();
    if (!systemPrompt_.empty()) context_.push_back(ChatMessage{"system", systemPrompt_, {}, {}});
    for (auto& m : *req_.contextOverride) context_.push_back(std::move(m));
    if (resumed_.empty()) {
      context_.push_back(ChatMessage{"user", req_.message, {}, {}});
    } else {
      for (auto& m : resumed_) context_.push_back(std::move(m));
      resumed_.clear();
    }
    return;
  }
  rebuildContextLocked();
  // Threshold compaction (OpenClaw: before inference, when the session nears the context limit).
  const bool hasModel = req_.modelOverride || !agent_.model.empty();
  needsCompaction_ = hasModel && agent_.compaction.enabled && requestTokensLocked() > budgetLocked();
}

std::size_t AgentRunner::Impl::Turn::historyStartLocked() const {
  const auto& h = session_->history;
  auto limit = static_cast<std::size_t>(impl_->options_.historyLimit);
  std::size_t first = h.size() > limit ? h.size() - limit : 0;
  if (session_->compaction) {
    while (first < h.size() && h[first].seq < session_->compaction->firstKeptSeq) ++first;
  }
  while (first < h.size() && h[first].role == store::TranscriptRole::kTool) ++first;  // no orphaned tool result
  return first;
}

void AgentRunner::Impl::Turn::rebuildContextLocked() {
  const auto& h = session_->history;
  const std::size_t start = historyStartLocked();
  std::vector<ChatMessage> context;
  context.reserve(2 + (h.size() - start) + new_.size());
  if (!systemPrompt_.empty()) context.push_back(ChatMessage{"system", systemPrompt_, {}, {}});
  if (session_->compaction) context.push_back(summaryMessage(session_->compaction->summary));
  for (std::size_t i = start; i < h.size(); ++i) context.push_back(transcriptChatMessage(h[i]));
  for (const auto& e : new_) context.push_back(transcriptChatMessage(e));
  context_ = std::move(context);
}

std::optional<ModelTraits> AgentRunner::Impl::Turn::traitsLocked() const {
  if (!impl_->options_.modelTraits || providerId_.empty()) return std::nullopt;
  return impl_->options_.modelTraits(providerId_, model_);
}

int64_t AgentRunner::Impl::Turn::requestTokensLocked() const {
  auto traits = traitsLocked();
  const bool tools = !traits || traits->supportsTools;
  return estimateMessagesTokens(context_) + (tools ? impl_->toolSpecTokens_ : 0);
}

int64_t AgentRunner::Impl::Turn::budgetLocked() const {
  const std::string ref = providerId_ + "/" + model_;
  auto window = agent_.contextWindows.find(ref);
  int64_t maxTokens = 0;
  if (req_.modelOverride) {
    maxTokens = req_.modelOverrideParams.maxTokens.value_or(0);
  } else if (auto p = agent_.params.find(ref); p != agent_.params.end()) {
    maxTokens = p->second.maxTokens.value_or(0);
  }
  int64_t contextWindow = window != agent_.contextWindows.end() ? window->second : 0;
  if (contextWindow <= 0) {
    if (auto traits = traitsLocked(); traits && traits->contextWindow) contextWindow = *traits->contextWindow;
  }
  return contextBudgetTokens(contextWindow, maxTokens);
}

void AgentRunner::Impl::Turn::startCompaction(Lock& lk, std::string reason, std::optional<Error> overflow) {
  if (detached_) return;
  compactionReason_ = std::move(reason);
  overflowError_ = std::move(overflow);
  compactionTokensBefore_ = requestTokensLocked();
  const auto& settings = agent_.compaction;
  const auto& h = session_->history;
  const std::size_t start = historyStartLocked();
  std::vector<store::TranscriptEntry> entries(h.begin() + static_cast<std::ptrdiff_t>(start), h.end());
  auto cut = compactionCut(entries, settings.keepRecentTokens, settings.recentTurnsPreserve);
  if (!cut) {
    reportCompactionLocked("noop", std::nullopt, 0);
    return afterCompaction(lk, Error(ErrorCode::kFailedPrecondition, "nothing to compact",
                                     "the session has no history old enough to compact"));
  }
  compactionFirstKept_ = entries[*cut].seq;
  entries.resize(*cut);
  compactionModel_ = settings.model.empty() ? providerId_ + "/" + model_ : settings.model;
  auto [providerId, model] = splitModelRef(compactionModel_);
  ModelProviderPtr provider = impl_->compactionProvider(providerId);
  if (!provider) {
    std::string text = "compaction model provider \"" + providerId + "\" is not configured";
    Error error(ErrorCode::kFailedPrecondition, text, text);
    reportCompactionLocked("failed", error, 0);
    return afterCompaction(lk, std::move(error));
  }
  ModelRequest request =
      summaryRequest(model, session_->compaction ? session_->compaction->summary : std::string(), entries, {});
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - impl_->clock_->steadyNow());
  request.timeout = std::max(std::chrono::milliseconds(1), std::min(settings.timeout, remaining));
  compacting_ = true;
  publish("agent",
          events_.compaction("start", impl_->clock_->nowMs(),
                             json::object{{"reason", compactionReason_}, {"tokensBefore", compactionTokensBefore_}}));
  if (settings.notifyUser) publish("chat", events_.chatStatus("compacting"));
  spdlog::info("run {}: compacting session {} ({}; about {} tokens; {} entries summarised by {})", req_.runId,
               req_.sessionKey, compactionReason_, compactionTokensBefore_, entries.size(), compactionModel_);
  const uint64_t gen = ++callGen_;
  // The call holds the turn weakly (the runner's turns_ keeps it alive until it ends), so a provider
  // that keeps a cancelled call's handlers does not tie the turn and the runner in a cycle.
  std::weak_ptr<Turn> weak = weak_from_this();
  ModelStreamHandlers handlers;
  handlers.onTextDelta = [](std::string_view) {};
  handlers.onComplete = [weak, gen](Result<ModelResponse> result) {
    if (auto self = weak.lock()) self->onCompactionDone(gen, std::move(result));
  };
  lk.unlock();
  ModelCallPtr call = provider->stream(std::move(request), std::move(handlers));
  lk.lock();
  if (callGen_ == gen && compacting_) {
    if (stop_) {
      // Stopped while the call was being started (requestStop found no handle to cancel).
      compacting_ = false;
      ++callGen_;
      commit(lk, *stop_);
      if (call) call->cancel();
      return;
    }
    call_ = std::move(call);
  } else if (call && stopped_) {
    lk.unlock();
    call->cancel();
  }
}

void AgentRunner::Impl::Turn::onCompactionDone(uint64_t gen, Result<ModelResponse> result) {
  Lock lk(mu_);
  if (gen != callGen_ || !compacting_ || stopped_) return;  // abandoned (aborted, timed out)
  ++callGen_;
  call_.reset();
  if (result) {
    usage_.inputTokens += result->usage.inputTokens;
    usage_.outputTokens += result->usage.outputTokens;
  }
  std::string summary = result ? trimWhitespace(result->text) : std::string();
  if (!result || summary.empty()) {
    compacting_ = false;
    Error error = result ? Error(ErrorCode::kUpstream, "the summary model answered with no text",
                                 "the summary model answered with no text")
                         : std::move(result).error();
    error.message = "compaction failed: " + error.message;
    error.externalMessage = "compaction failed: " + error.publicMessage();
    reportCompactionLocked("failed", error, 0);
    return afterCompaction(lk, std::move(error));
  }
  store::CompactionRecord record;
  record.sessionKey = req_.sessionKey;
  record.id = session_->compaction ? session_->compaction->id + 1 : 1;
  record.firstKeptSeq = compactionFirstKept_;
  record.summary = std::move(summary);
  record.reason = compactionReason_;
  record.runId = req_.runId;
  record.model = compactionModel_;
  record.tokensBefore = compactionTokensBefore_;
  record.createdAtMs = impl_->clock_->nowMs();
  store::WriteBatch batch;
  store::CompactionRepository::append(batch, record);
  lk.unlock();
  auto self = shared_from_this();
  impl_->store_.submit(std::move(batch), [ex = impl_->ex_, self, record = std::move(record)](Status s) mutable {
    ex.io([self, s = std::move(s), record = std::move(record)]() mutable {
      self->onCompactionStored(std::move(s), std::move(record));
    });
  });
}

void AgentRunner::Impl::Turn::onCompactionStored(Status stored, store::CompactionRecord record) {
  Lock lk(mu_);
  if (detached_) return;
  if (stored) {
    session_->compaction = std::move(record);  // in force for later turns, even if this one ended
    countSessionBytes(*session_);
  }
  if (!compacting_) return;
  compacting_ = false;
  if (stop_) return commit(lk, *stop_);  // stopped while the summary was being stored
  if (stopped_) return;                  // requestStop() has committed the turn
  if (!stored) {
    Error error = stored.error();
    error.message = "compaction failed: cannot store the summary: " + error.message;
    error.externalMessage = "compaction failed: the summary could not be saved";
    reportCompactionLocked("failed", error, 0);
    return afterCompaction(lk, std::move(error));
  }
  rebuildContextLocked();
  reportCompactionLocked("ok", std::nullopt, requestTokensLocked());
  afterCompaction(lk, std::nullopt);
}

void AgentRunner::Impl::Turn::reportCompactionLocked(std::string_view outcome, const std::optional<Error>& error,
                                                     int64_t tokensAfter) {
  CompactionReport report;
  report.agentId = req_.agentId;
  report.sessionKey = req_.sessionKey;
  report.runId = req_.runId;
  report.reason = compactionReason_;
  report.outcome = std::string(outcome);
  report.error = error;
  report.tokensBefore = compactionTokensBefore_;
  report.tokensAfter = tokensAfter;
  report.compactionCount = session_->compaction ? session_->compaction->id : 0;
  json::object data{{"reason", report.reason},
                    {"outcome", report.outcome},
                    {"completed", outcome == "ok"},
                    {"tokensBefore", report.tokensBefore},
                    {"compactionCount", report.compactionCount}};
  if (outcome == "ok") data["tokensAfter"] = tokensAfter;
  if (error) data["error"] = error->publicMessage();
  publish("agent", events_.compaction("end", impl_->clock_->nowMs(), std::move(data)));
  if (outcome == "ok") {
    spdlog::info("run {}: compacted session {} ({}): about {} → {} tokens, compaction #{}", req_.runId, req_.sessionKey,
                 report.reason, report.tokensBefore, tokensAfter, report.compactionCount);
    if (agent_.compaction.notifyUser) publish("chat", events_.chatStatus("compacted"));
  } else {
    spdlog::warn("run {}: compaction of session {} ({}) {}: {}", req_.runId, req_.sessionKey, report.reason, outcome,
                 error ? error->message : std::string("-"));
  }
  if (impl_->options_.onCompaction) impl_->options_.onCompaction(report);
}

void AgentRunner::Impl::Turn::afterCompaction(Lock& lk, std::optional<Error> error) {
  if (stop_) return commit(lk, *stop_);
  if (compactionReason_ == "threshold") return startModel(lk);  // a failed threshold compaction lets the model try
  if (!error) return callModel(lk);
  // Overflow recovery failed: the turn fails with the provider's overflow, saying why it was not recovered.
  Error overflow = overflowError_.value_or(*error);
  std::string why = " (the request exceeds the model's context window; " + error->publicMessage() + ")";
  overflow.message += why;
  overflow.externalMessage = overflow.publicMessage() + why;
  commit(lk, failedEnding(std::move(overflow), "context_overflow"));
}

void AgentRunner::Impl::Turn::callModel(Lock& lk) {
  if (detached_) return;
  if (steps_ >= impl_->options_.maxSteps) {
    auto text = "run stopped after " + std::to_string(steps_) + " model calls (step limit)";
    return commit(lk, failedEnding(Error(ErrorCode::kResourceExhausted, text, text), "max_steps"));
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - impl_->clock_->steadyNow());
  if (remaining.count() <= 0) {
    return commit(lk, failedEnding(Error(ErrorCode::kDeadlineExceeded, "run timed out", "run timed out"), "timeout"));
  }
  ++steps_;
  text_.clear();
  setStateLocked(TurnState::kModel, json::object{{"step", steps_}});
  ModelRequest request;
  request.model = model_;
  const ModelCallParams* params = nullptr;
  if (req_.modelOverride) {
    params = &req_.modelOverrideParams;
  } else if (auto it = agent_.params.find(providerId_ + "/" + model_); it != agent_.params.end()) {
    params = &it->second;
  }
  if (params != nullptr) {
    if (params->maxTokens) {
      request.maxTokens = static_cast<int>(std::min<int64_t>(*params->maxTokens, std::numeric_limits<int>::max()));
    }
    request.temperature = params->temperature;
  }
  request.messages = context_;
  if (auto traits = traitsLocked(); traits && !traits->supportsTools) {
    // OpenClaw (dist builtin-openclaw-*.mjs, supportsModelTools): no tools for a model that declares it
    // cannot use them, and the system prompt says so.
    if (!request.messages.empty() && request.messages.front().role == "system") {
      request.messages.front().content += "\n\n";
      request.messages.front().content += kModelToolsUnavailablePrompt;
    } else {
      request.messages.insert(request.messages.begin(),
                              ChatMessage{"system", std::string(kModelToolsUnavailablePrompt), {}, {}});
    }
  } else {
    if (impl_->tools_) request.tools = impl_->tools_->specs();
    if (req_.clientTools) {
      request.tools.insert(request.tools.end(), req_.clientTools->tools.begin(), req_.clientTools->tools.end());
    }
  }
  request.timeout = remaining;
  callSpanId_.clear();
  if (req_.trace) {
    // A child span per model call (W3C Trace Context §3.2.2.4: a random, non-zero parent-id).
    do {
      callSpanId_ = randomHex(8);
    } while (callSpanId_.find_first_not_of('0') == std::string::npos);
    request.traceparent = protocol::formatTraceparent(*req_.trace, callSpanId_);
  }
  const uint64_t gen = ++callGen_;
  std::weak_ptr<Turn> weak = weak_from_this();  // weakly, as in startCompaction
  ModelStreamHandlers handlers;
  handlers.onTextDelta = [weak, gen](std::string_view piece) {
    if (auto self = weak.lock()) self->onModelDelta(gen, piece);
  };
  handlers.onComplete = [weak, gen](Result<ModelResponse> result) {
    if (auto self = weak.lock()) self->onModelDone(gen, std::move(result));
  };
  auto provider = provider_;
  callStarted_ = impl_->clock_->steadyNow();
  lk.unlock();
  ModelCallPtr call = provider->stream(std::move(request), std::move(handlers));
  lk.lock();
  if (callGen_ == gen && state_ == TurnState::kModel) {
    call_ = std::move(call);
  } else if (call && stopped_) {
    // Stopped before the handle was known: cancel it now (cancelling a finished call is harmless).
    lk.unlock();
    call->cancel();
  }
}

void AgentRunner::Impl::Turn::onModelDelta(uint64_t gen, std::string_view piece) {
  Lock lk(mu_);
  if (gen != callGen_ || state_ != TurnState::kModel) return;
  text_.append(piece);
  pendingAgentDelta_.append(piece);
  if (req_.onDelta) req_.onDelta(piece);
  auto now = impl_->clock_->steadyNow();
  auto interval = paceIntervalLocked();
  if (!lastFlush_ || now - *lastFlush_ >= interval) {
    flushLiveTextLocked();
  } else if (!flushTimer_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(interval - (now - *lastFlush_));
    std::weak_ptr<Turn> weak = weak_from_this();
    flushTimer_ = impl_->ex_.after(wait, [weak] {
      if (auto self = weak.lock()) self->onFlushTimer();
    });
  }
}

std::chrono::milliseconds AgentRunner::Impl::Turn::paceIntervalLocked() const {
  auto interval = impl_->options_.deltaPacing;
  if (impl_->options_.deltaBytesPerSecond > 0) {
    auto byBytes =
        std::chrono::milliseconds(static_cast<int64_t>(text_.size() * 1000 / impl_->options_.deltaBytesPerSecond));
    interval = std::max(interval, byBytes);
  }
  return interval;
}

void AgentRunner::Impl::Turn::onFlushTimer() {
  std::lock_guard lock(mu_);
  flushTimer_.reset();
  flushLiveTextLocked();
}

void AgentRunner::Impl::Turn::flushLiveTextLocked() {
  if (flushTimer_) {
    flushTimer_->cancel();
    flushTimer_.reset();
  }
  if (pendingAgentDelta_.empty()) return;
  // Protocol v4 deltas (OpenClaw server-chat.ts resolveBroadcastDelta): the new suffix, or the whole
  // text with replace=true when it does not continue the last published text.
  bool continues = text_.size() >= sentText_.size() && text_.compare(0, sentText_.size(), sentText_) == 0;
  std::string_view deltaText = continues ? std::string_view(text_).substr(sentText_.size()) : std::string_view(text_);
  auto ts = impl_->clock_->nowMs();
  publish("chat", events_.chatDelta(deltaText, !continues, text_, ts));
  publish("agent", events_.assistant(text_, pendingAgentDelta_, ts));
  sentText_ = text_;
  pendingAgentDelta_.clear();
  lastFlush_ = impl_->clock_->steadyNow();
}

void AgentRunner::Impl::Turn::onModelDone(uint64_t gen, Result<ModelResponse> result) {
  Lock lk(mu_);
  if (gen != callGen_ || state_ != TurnState::kModel) return;  // abandoned (aborted, timed out)
  ++callGen_;
  call_.reset();
  if (!result) return onModelFailed(lk, std::move(result).error());
  auto& response = *result;
  attempts_.push_back(attemptLocked("ok"));
  observeCallLocked(true, "", attempts_.back().get_object());
  if (!profileId_.empty()) impl_->options_.authProfiles->recordSuccess(profileId_);
  firstFailure_.reset();  // an answer restarts the transient window (the retry count is per candidate)
  usage_.inputTokens += response.usage.inputTokens;
  usage_.outputTokens += response.usage.outputTokens;
  if (costUsd_) {
    const auto& ids = impl_->options_.providerIdentities;
    auto idIt = ids.find(providerId_);
    const config::ModelCost* cost = nullptr;
    if (idIt != ids.end()) {
      auto c = idIt->second.costs.find(model_);
      if (c != idIt->second.costs.end()) cost = &c->second;
    }
    if (cost) {
      *costUsd_ += usageCostUsd(*cost, response.usage.inputTokens, response.usage.outputTokens);
    } else {
      costUsd_.reset();
    }
  }
  if (response.text.empty()) response.text = text_;
  if (response.toolCalls.empty()) {
    new_.push_back(entry(store::TranscriptRole::kAssistant, response.text));
    text_ = response.text;
    return commit(
        lk, Ending{TurnState::kDone, std::nullopt, response.finishReason.empty() ? "stop" : response.finishReason});
  }
  auto e = entry(store::TranscriptRole::kAssistant, response.text);
  // Calls of client tools are not run here: they get their pending ids and wait for the client once the
  // step's other calls are done. One whose arguments are not a JSON object is answered like any such
  // call (invalid_arguments), so the client only ever sees calls it can decode.
  std::vector<ToolCall> serverCalls;
  clientCalls_.clear();
  for (auto& call : response.toolCalls) {
    if (isClientTool(call.name) && tools::ToolRegistry::parseArguments(call.name, call.argumentsJson)) {
      call.id = clientCallId(req_.clientTools->callIdPrefix, e.seq, clientCalls_.size());
      clientCalls_.push_back(call);
    } else {
      serverCalls.push_back(call);
    }
  }
  if (!clientCalls_.empty()) text_ = response.text;
  e.toolCallsJson = toolCallsToJson(response.toolCalls);
  new_.push_back(e);
  context_.push_back(ChatMessage{"assistant", response.text, response.toolCalls, {}});
  flushLiveTextLocked();
  calls_ = std::move(serverCalls);
  toolIndex_ = 0;
  setStateLocked(TurnState::kTools, json::object{{"toolCalls", static_cast<int64_t>(calls_.size())}});
  nextTool(lk);
}

bool AgentRunner::Impl::Turn::selectCandidateLocked() {
  for (; candidate_ < candidates_.size(); ++candidate_) {
    const auto& [providerId, model] = candidates_[candidate_];
    providerId_ = providerId;
    model_ = model;
    auto it = impl_->providers_.find(providerId);
    const bool last = candidate_ + 1 >= candidates_.size();
    if (it != impl_->providers_.end() && !last && impl_->options_.inCooldown &&
        impl_->options_.inCooldown(providerId, model)) {
      attempts_.push_back(json::object{{"provider", providerId},
                                       {"model", model},
                                       {"step", steps_ + 1},
                                       {"outcome", "skipped"},
                                       {"reason", "cooldown"},
                                       {"action", "fallback"}});
      continue;
    }
    if (it != impl_->providers_.end()) {
      provider_ = it->second;
      profiles_.clear();
      profile_ = 0;
      profileId_.clear();
      loadRotations_ = 0;
      const auto& pool = impl_->options_.authProfiles;
      if (pool && pool->has(providerId)) {
        profiles_ = pool->order(providerId);
        auto first = pool->status(profiles_.front().id);
        if (first && first->unusableUntilMs > 0) {
          // Every profile is in cooldown or disabled (usable ones come first): the candidate is skipped.
          unavailableProfiles_ = "every auth profile of provider \"" + providerId + "\" is in cooldown (" +
                                 profiles_.front().id + ": " + first->reason + ") until " +
                                 std::to_string(first->unusableUntilMs) + " ms";
          attempts_.push_back(json::object{{"provider", providerId},
                                           {"model", model},
                                           {"step", steps_ + 1},
                                           {"outcome", "skipped"},
                                           {"reason", "auth_profile_cooldown"},
                                           {"authProfile", profiles_.front().id},
                                           {"unusableUntilMs", first->unusableUntilMs},
                                           {"action", "fallback"}});
          profiles_.clear();
          continue;
        }
        provider_ = profiles_.front().provider;
        profileId_ = profiles_.front().id;
      }
      return true;
    }
    attempts_.push_back(json::object{{"provider", providerId},
                                     {"model", model},
                                     {"step", steps_ + 1},
                                     {"outcome", "skipped"},
                                     {"reason", "provider_not_configured"},
                                     {"action", "fallback"}});
  }
  return false;
}

json::object AgentRunner::Impl::Turn::attemptLocked(std::string_view outcome) {
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(impl_->clock_->steadyNow() - callStarted_);
  modelMs_ += latency.count();
  json::object attempt{{"provider", providerId_},
                       {"model", model_},
                       {"step", steps_},
                       {"outcome", outcome},
                       {"latencyMs", latency.count()}};
  if (!callSpanId_.empty()) attempt["spanId"] = callSpanId_;
  if (!profileId_.empty()) attempt["authProfile"] = profileId_;
  return attempt;
}

void AgentRunner::Impl::Turn::observeCallLocked(bool ok, std::string_view reason, const json::object& attempt) {
  if (!impl_->options_.onModelCall) return;
  health::ModelCallRecord record;
  record.providerId = providerId_;
  record.model = model_;
  record.ok = ok;
  record.reason = std::string(reason);
  if (auto it = attempt.find("latencyMs"); it != attempt.end() && it->value().is_int64()) {
    record.latencyMs = it->value().get_int64();
  }
  impl_->options_.onModelCall(record);
}

void AgentRunner::Impl::Turn::onModelFailed(Lock& lk, Error error) {
  const FailoverReason reason = classifyModelError(error);
  json::object attempt = attemptLocked("error");
  attempt["reason"] = failoverReasonName(reason);
  observeCallLocked(false, failoverReasonName(reason), attempt);
  attempt["error"] = error.publicMessage();
  if (auto it = error.details.find("httpStatus"); it != error.details.end()) attempt["httpStatus"] = it->value();
  ++failures_;
  if (reason == FailoverReason::kContextOverflow && !req_.contextOverride && session_ && session_->persisted) {
    if (!overflowCompacted_) {
      // 0. OpenClaw's overflow recovery: compact the history and repeat this step once, even with
      // compaction.enabled false.
      overflowCompacted_ = true;
      attempt["action"] = "compact";
      attempts_.push_back(std::move(attempt));
      spdlog::warn("run {}: {}/{} reports a context overflow; compacting and retrying once", req_.runId, providerId_,
                   model_);
      --steps_;
      return startCompaction(lk, "overflow", std::move(error));
    }
    const std::string again = " (again after compacting the session's history)";
    error.message += again;
    error.externalMessage = error.publicMessage() + again;
  }
  const auto& options = impl_->options_;
  const auto now = impl_->clock_->steadyNow();
  if (!firstFailure_) firstFailure_ = now;
  rateLimitSeen_ = rateLimitSeen_ || reason == FailoverReason::kRateLimit;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - *firstFailure_);
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
  double jitter = options.retryJitter ? options.retryJitter() : 0.5;
  if (auto delay = transientRetryDelay(options.retry, reason, retries_, rateLimitSeen_, error.retryAfterMs, elapsed,
                                       remaining, jitter)) {
    // 1. The same model again, after the backoff (the turn waits holding no thread).
    ++retries_;
    attempt["action"] = "retry";
    attempt["retryInMs"] = delay->count();
    attempts_.push_back(std::move(attempt));
    spdlog::info("run {}: {}/{} failed ({}); retry {} in {} ms", req_.runId, providerId_, model_,
                 failoverReasonName(reason), retries_, delay->count());
    --steps_;  // the retry repeats this step
    setStateLocked(TurnState::kModel, json::object{{"step", steps_ + 1},
                                                   {"retry", retries_},
                                                   {"reason", failoverReasonName(reason)},
                                                   {"delayMs", delay->count()}});
    const uint64_t gen = callGen_;
    std::weak_ptr<Turn> weak = weak_from_this();
    retryTimer_ = impl_->ex_.after(*delay, [weak, gen] {
      if (auto self = weak.lock()) self->onRetryTimer(gen);
    });
    return;
  }
  // 2. The provider's next auth profile, after putting this one in cooldown (auth_profiles.h).
  if (!profileId_.empty()) {
    if (auto until = impl_->options_.authProfiles->recordFailure(profileId_, reason)) {
      attempt["profileUnusableUntilMs"] = *until;
      const bool load = reason == FailoverReason::kRateLimit || reason == FailoverReason::kOverloaded ||
                        reason == FailoverReason::kTimeout;
      std::size_t next = profile_ + 1;
      while (next < profiles_.size()) {
        auto st = impl_->options_.authProfiles->status(profiles_[next].id);
        if (st && st->unusableUntilMs == 0) break;
        ++next;
      }
      if (next < profiles_.size() && (!load || loadRotations_ < 1)) {
        if (load) ++loadRotations_;
        attempt["action"] = "rotate_profile";
        attempts_.push_back(std::move(attempt));
        spdlog::warn("run {}: {}/{} failed with auth profile {} ({}); rotating to {}", req_.runId, providerId_, model_,
                     profileId_, failoverReasonName(reason), profiles_[next].id);
        profile_ = next;
        profileId_ = profiles_[next].id;
        provider_ = profiles_[next].provider;
        retries_ = 0;
        rateLimitSeen_ = false;
        firstFailure_.reset();
        --steps_;
        return callModel(lk);
      }
    }
  }
  // 3. The next model of the chain.
  if (isFallbackWorthy(reason) && candidate_ + 1 < candidates_.size()) {
    attempt["action"] = "fallback";
    attempts_.push_back(std::move(attempt));
    const std::string from = providerId_ + "/" + model_;
    ++candidate_;
    retries_ = 0;
    rateLimitSeen_ = false;
    firstFailure_.reset();
    if (selectCandidateLocked()) {
      spdlog::warn("run {}: {} failed ({}); falling back to {}/{}", req_.runId, from, failoverReasonName(reason),
                   providerId_, model_);
      --steps_;
      return callModel(lk);
    }
  } else {
    attempt["action"] = "fail";
    attempts_.push_back(std::move(attempt));
  }
  if (candidates_.size() > 1) {
    // OpenClaw throwFallbackFailureSummary: "All models failed (n): a | b".
    std::string summary;
    int tried = 0;
    for (const auto& a : attempts_) {
      const auto& o = a.get_object();
      auto action = getString(o, "action").value_or("");
      if (action != "fallback" && action != "fail") continue;
      ++tried;
      if (!summary.empty()) summary += " | ";
      summary += std::string(getString(o, "provider").value_or("")) + "/" +
                 std::string(getString(o, "model").value_or("")) + ": " +
                 std::string(getString(o, "reason").value_or(""));
    }
    if (tried > 1) {
      std::string text = "All models failed (" + std::to_string(tried) + "): " + summary;
      error.message = text + " (last: " + error.message + ")";
      error.externalMessage = text;
    }
  }
  commit(lk, failedEnding(std::move(error), "error"));
}

void AgentRunner::Impl::Turn::onRetryTimer(uint64_t gen) {
  Lock lk(mu_);
  retryTimer_.reset();
  if (gen != callGen_ || state_ != TurnState::kModel || stopped_) return;  // the turn ended meanwhile
  callModel(lk);
}

void AgentRunner::Impl::Turn::nextTool(Lock& lk) {
  if (detached_) return;
  for (;;) {
    if (toolIndex_ >= calls_.size()) return clientCalls_.empty() ? callModel(lk) : awaitClientCalls(lk);
    const ToolCall& call = calls_[toolIndex_];
    publish("agent", events_.tool("start", call.name, call.id, false, impl_->clock_->nowMs()));
    auto args = tools::ToolRegistry::parseArguments(call.name, call.argumentsJson);
    if (!args) {
      recordToolLocked(
          call, tools::ToolOutcome::failure(tools::ToolErrorKind::kInvalidArguments, args.error().publicMessage()));
      ++toolIndex_;
      continue;
    }
    const tools::Tool* tool = impl_->tools_ ? impl_->tools_->find(call.name) : nullptr;
    if (tool == nullptr) {
      auto message = impl_->tools_ ? impl_->tools_->unknownToolMessage(call.name) : "No tools are available.";
      recordToolLocked(call, tools::ToolOutcome::failure(tools::ToolErrorKind::kNotFound, std::move(message)));
      ++toolIndex_;
      continue;
    }
    tools::ToolRequest request{req_.runId, req_.sessionKey, req_.agentId, call.id, call.name, *args};
    pendingTool_ = tool;
    pendingArgs_ = std::move(*args);
    const uint64_t gen = ++toolGen_;
    awaitingGate_ = true;
    std::weak_ptr<Turn> weak = weak_from_this();  // weakly, as the model call's handlers
    lk.unlock();
    auto pending = impl_->gate_->check(request, [weak, gen](tools::GateDecision decision) {
      if (auto self = weak.lock()) self->onGateDecision(gen, std::move(decision));
    });
    lk.lock();
    if (toolGen_ == gen && awaitingGate_) {
      // No answer yet: the turn pauses here, holding no thread, until the gate decides.
      approval_ = std::move(pending);
      setStateLocked(
          TurnState::kTools,
          json::object{{"waiting", "approval"}, {"toolCallId", request.toolCallId}, {"name", request.toolName}});
    } else if (pending && stopped_) {
      lk.unlock();
      pending->cancel();
    }
    return;
  }
}

bool AgentRunner::Impl::Turn::isClientTool(std::string_view name) const {
  if (!req_.clientTools) return false;
  const auto& specs = req_.clientTools->tools;
  return std::any_of(specs.begin(), specs.end(), [&](const ToolSpec& spec) { return spec.name == name; });
}

void AgentRunner::Impl::Turn::awaitClientCalls(Lock& lk) {
  awaitingClient_ = true;
  // The run ledger says what the run waits for: the model exchange that asked for the client's tools.
  if (!attempts_.empty() && attempts_.back().is_object()) {
    json::array ids;
    for (const auto& call : clientCalls_) ids.emplace_back(call.id);
    attempts_.back().as_object()["pendingClientToolCalls"] = std::move(ids);
  }
  commit(lk, Ending{TurnState::kDone, std::nullopt, "tool_calls"});
}

void AgentRunner::Impl::Turn::onGateDecision(uint64_t gen, tools::GateDecision decision) {
  Lock lk(mu_);
  if (gen != toolGen_ || !awaitingGate_ || state_ != TurnState::kTools) return;  // withdrawn
  awaitingGate_ = false;
  approval_.reset();
  if (!decision.allow) {
    std::string reason = decision.reason.empty() ? "The call to tool \"" + calls_[toolIndex_].name +
                                                       "\" was denied. Do not retry it; tell the user instead."
                                                 : std::move(decision.reason);
    recordToolLocked(calls_[toolIndex_], tools::ToolOutcome::failure(tools::ToolErrorKind::kDenied, std::move(reason)));
    ++toolIndex_;
    return nextTool(lk);
  }
  toolRunning_ = true;
  tools::ToolContext ctx;
  ctx.workspaceDir = agent_.workspace;
  ctx.agentId = agent_.id;
  ctx.sessionKey = req_.sessionKey;
  ctx.cancelled = &cancelled_;
  auto self = shared_from_this();
  const tools::Tool* tool = pendingTool_;
  auto args = std::move(pendingArgs_);
  lk.unlock();
  impl_->ex_.runTool([self, gen, tool, args = std::move(args), ctx = std::move(ctx)] {
    const auto started = self->impl_->clock_->steadyNow();
    auto outcome = tools::ToolOutcome::fromResult(tool->invoke(args, ctx));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(self->impl_->clock_->steadyNow() - started).count();
    self->onToolDone(gen, std::move(outcome), ms);
  });
}

void AgentRunner::Impl::Turn::onToolDone(uint64_t gen, tools::ToolOutcome outcome, int64_t durationMs) {
  Lock lk(mu_);
  if (gen != toolGen_ || !toolRunning_ || state_ != TurnState::kTools) return;  // abandoned
  toolRunning_ = false;
  spdlog::debug("run {} tool {} {}", req_.runId, calls_[toolIndex_].name,
                outcome.ok() ? "ok" : tools::toolErrorKindName(*outcome.error));
  recordToolLocked(calls_[toolIndex_], outcome, durationMs);
  ++toolIndex_;
  nextTool(lk);
}

void AgentRunner::Impl::Turn::recordToolLocked(const ToolCall& call, const tools::ToolOutcome& outcome,
                                               int64_t durationMs) {
  if (impl_->options_.onToolCall) impl_->options_.onToolCall(call.name, outcome);
  publish("agent", events_.tool("result", call.name, call.id, !outcome.ok(), impl_->clock_->nowMs(),
                                outcome.ok() ? std::string_view() : tools::toolErrorKindName(*outcome.error)));
  auto content = outcome.modelContent();
  auto e = entry(store::TranscriptRole::kTool, content);
  e.toolCallId = call.id;
  e.toolName = call.name;
  e.toolCallsJson = tools::encodeTranscriptMeta(outcome, durationMs);
  new_.push_back(std::move(e));
  context_.push_back(ChatMessage{"tool", std::move(content), {}, call.id});
}

bool AgentRunner::Impl::Turn::requestStop(Ending ending) {
  Lock lk(mu_);
  if (detached_ || stop_ || state_ == TurnState::kCommit || state_ == TurnState::kDeliver ||
      state_ == TurnState::kDone || state_ == TurnState::kFailed || state_ == TurnState::kAborted) {
    return false;
  }
  cancelled_.store(true);
  stopped_ = true;
  switch (state_) {
    case TurnState::kModel: {
      ModelCallPtr call = std::move(call_);
      ++callGen_;  // a late completion or delta is ignored
      commit(lk, std::move(ending));
      if (call) call->cancel();
      return true;
    }
    case TurnState::kTools: {
      tools::PendingDecisionPtr pending = std::move(approval_);
      ++toolGen_;  // a late decision or tool result is ignored
      awaitingGate_ = false;
      toolRunning_ = false;
      commit(lk, std::move(ending));
      if (pending) pending->cancel();
      return true;
    }
    default: {
      if (compacting_ && call_) {
        // A threshold compaction's summary call: cancelled like a model call.
        ModelCallPtr call = std::move(call_);
        ++callGen_;
        compacting_ = false;
        commit(lk, std::move(ending));
        call->cancel();
        return true;
      }
      // Dispatched but not begun, intake or context (or a compaction's store write): the step in
      // flight is short (store, disk) and ends the turn when it returns.
      stop_ = std::move(ending);
      return true;
    }
  }
}

void AgentRunner::Impl::Turn::commit(Lock& lk, Ending ending) {
  if (detached_) return lk.unlock();  // nothing is stored for a detached turn
  flushLiveTextLocked();              // the pending text goes out before the terminal event (OpenClaw emitChatTerminal)
  if (deadlineTimer_) deadlineTimer_->cancel();
  if (retryTimer_) {
    retryTimer_->cancel();
    retryTimer_.reset();
  }
  if (session_ && session_->persisted) {
    // Every tool call the model made gets a result, so the transcript stays a valid conversation.
    if (state_ == TurnState::kTools) {
      std::string why = ending.terminal == TurnState::kAborted ? "The run was aborted" : "The run timed out";
      for (std::size_t i = toolIndex_; i < calls_.size(); ++i) {
        recordToolLocked(calls_[i], tools::ToolOutcome::failure(tools::ToolErrorKind::kCancelled,
                                                                why + " before this tool call finished."));
      }
      if (!awaitingClient_) {
        for (const auto& call : clientCalls_) {
          recordToolLocked(call, tools::ToolOutcome::failure(tools::ToolErrorKind::kCancelled,
                                                             why + " before this tool call was sent to the client."));
        }
      }
    }
    // An aborted answer keeps what was streamed (OpenClaw persists aborted partials).
    if (state_ == TurnState::kModel && ending.terminal == TurnState::kAborted && !text_.empty()) {
      new_.push_back(entry(store::TranscriptRole::kAssistant, text_));
    }
  }
  ending_ = std::move(ending);
  setStateLocked(TurnState::kCommit);

  auto now = impl_->clock_->nowMs();
  store::WriteBatch batch;
  if (session_ && session_->persisted) {
    auto& rec = session_->record;
    rec.updatedAtMs = now;
    // messageCount and the token totals are the store's: it keeps them in step with the rows.
    store::SessionRepository::upsert(batch, rec);
    for (const auto& e : new_) store::TranscriptRepository::append(batch, e);
    store::RunRecord run;
    run.runId = req_.runId;
    run.sessionKey = req_.sessionKey;
    run.agentId = req_.agentId;
    run.idempotencyKey = req_.idempotencyKey;
    run.status = ending_.terminal == TurnState::kDone      ? store::RunStatus::kOk
                 : ending_.terminal == TurnState::kAborted ? store::RunStatus::kAborted
                                                           : store::RunStatus::kError;
    run.model = agent_.model;
    if (req_.trace) run.traceId = req_.trace->traceId;
    if (ending_.error) {
      run.errorCode = std::string(protocolErrorCode(ending_.error->code));
      run.errorMessage = ending_.error->publicMessage();
    }
    if (ending_.terminal == TurnState::kDone) run.finalText = text_;
    run.startedAtMs = startedMs_;
    run.endedAtMs = now;
    run.inputTokens = usage_.inputTokens;
    run.outputTokens = usage_.outputTokens;
    run.steps = steps_;
    run.providerId = providerId_;
    if (auto id = impl_->options_.providerIdentities.find(providerId_);
        id != impl_->options_.providerIdentities.end()) {
      run.providerApi = id->second.api;
      run.baseUrlOrigin = id->second.baseUrlOrigin;
    }
    run.answeredModel = model_;
    run.modelLatencyMs = modelMs_;
    bool answered = std::any_of(attempts_.begin(), attempts_.end(),
                                [](const json::value& a) { return getString(a.get_object(), "outcome") == "ok"; });
    if (answered) run.costUsd = costUsd_;
    if (routing_) {
      // First in the stored attempts (no schema change): {outcome "routed", the chosen model, why, the decision}.
      json::array stored;
      const auto [chosenProvider, chosenModel] =
          splitModelRef(std::string(getString(*routing_, "chosen").value_or("")));
      stored.push_back(json::object{{"provider", chosenProvider},
                                    {"model", chosenModel},
                                    {"outcome", "routed"},
                                    {"reason", getString(*routing_, "summary").value_or("")},
                                    {"routing", *routing_}});
      for (const auto& a : attempts_) stored.push_back(a);
      run.attemptsJson = json::serialize(stored);
    } else {
      run.attemptsJson = json::serialize(attempts_);
    }
    store::RunRepository::upsert(batch, run);
  }
  lk.unlock();

  auto self = shared_from_this();
  if (batch.empty()) {
    impl_->ex_.io([self] { self->deliver(Status{}); });
    return;
  }
  // The store calls back on its writer thread; events and the next turn go to the I/O threads.
  impl_->store_.submit(std::move(batch), [ex = impl_->ex_, self](Status s) mutable {
    ex.io([self, s = std::move(s)]() mutable { self->deliver(std::move(s)); });
  });
}

TurnOutcome AgentRunner::Impl::Turn::outcomeLocked() const {
  TurnOutcome outcome;
  outcome.runId = req_.runId;
  outcome.sessionKey = req_.sessionKey;
  outcome.sessionId = session_ ? session_->record.sessionId : std::string();
  outcome.agentId = req_.agentId;
  outcome.aborted = ending_.terminal == TurnState::kAborted;
  if (ending_.terminal == TurnState::kDone) {
    outcome.text = text_;
  } else {
    outcome.error = outcome.aborted ? abortedError() : ending_.error.value_or(abortedError());
  }
  outcome.stopReason = ending_.stopReason;
  if (awaitingClient_ && ending_.terminal == TurnState::kDone) outcome.pendingToolCalls = clientCalls_;
  outcome.providerId = providerId_;
  outcome.model = model_;
  outcome.usage = usage_;
  outcome.durationMs = startedMs_ > 0 ? impl_->clock_->nowMs() - startedMs_ : 0;
  outcome.steps = steps_;
  outcome.modelLatencyMs = modelMs_;
  outcome.modelFailures = failures_;
  outcome.modelAttempts = static_cast<int>(std::count_if(attempts_.begin(), attempts_.end(), [](const json::value& a) {
    return getString(a.get_object(), "outcome") != "skipped";
  }));
  return outcome;
}

void AgentRunner::Impl::Turn::deliver(Status committed) {
  Lock lk(mu_);
  if (detached_) return;
  setStateLocked(TurnState::kDeliver);
  if (!committed && ending_.terminal == TurnState::kDone) {
    // The answer exists but could not be made durable: report the run as failed, never as final.
    ending_ = failedEnding(Error(ErrorCode::kIo, "cannot commit run: " + committed.error().message,
                                 "the run's transcript could not be saved"),
                           "error");
    spdlog::error("run {}: {}", req_.runId, ending_.error->message);
  }
  if (session_ && session_->persisted) {
    if (committed) {
      auto& h = session_->history;
      h.insert(h.end(), new_.begin(), new_.end());
      auto limit = static_cast<std::size_t>(impl_->options_.historyLimit);
      if (h.size() > limit * 2) h.erase(h.begin(), h.end() - static_cast<std::ptrdiff_t>(limit));
      countSessionBytes(*session_);
    } else {
      session_->nextSeq -= static_cast<int64_t>(new_.size());
    }
  }
  TurnOutcome outcome = outcomeLocked();
  lk.unlock();
  if (session_ && session_->persisted) impl_->recountCachedSession(req_.sessionKey);
  // The outcome is recorded (idempotency cache, metrics, the caller's callback) before the terminal
  // events go out, so a client that saw `final` and re-sends its idempotencyKey finds the run done.
  if (impl_->options_.onRunEnded) impl_->options_.onRunEnded(outcome);
  if (req_.onDone) req_.onDone(outcome);
  lk.lock();
  auto now = impl_->clock_->nowMs();
  switch (ending_.terminal) {
    case TurnState::kDone:
      publish("chat", events_.chatFinal(outcome.text, outcome.usage, outcome.stopReason));
      publish("agent", events_.lifecycle("end", now));
      impl_->completed_++;
      break;
    case TurnState::kAborted:
      publish("chat", events_.chatAborted(ending_.stopReason, text_, now));
      publish("agent", events_.lifecycleAborted(ending_.stopReason, startedMs_, now));
      impl_->aborted_++;
      break;
    default:
      spdlog::warn("run {} of agent {} ({}) failed: {}", req_.runId, req_.agentId, req_.sessionKey,
                   ending_.error->toString());
      publish("chat", events_.chatError(*ending_.error, ending_.stopReason));
      publish("agent", events_.lifecycleError(*ending_.error, now));
      impl_->failed_++;
      break;
  }
  setStateLocked(ending_.terminal);
  lk.unlock();
  impl_->turnEnded(shared_from_this());
}

void AgentRunner::Impl::Turn::endQueued(std::string_view stopReason) {
  TurnOutcome outcome;
  {
    Lock lk(mu_);
    if (detached_) return;
    ending_ = abortedEnding(stopReason);
    auto now = impl_->clock_->nowMs();
    publish("chat", events_.chatAborted(stopReason, {}, now));
    publish("agent", events_.lifecycleAborted(stopReason, 0, now));
    setStateLocked(TurnState::kAborted);
    outcome = outcomeLocked();
  }
  impl_->aborted_++;
  if (impl_->options_.onRunEnded) impl_->options_.onRunEnded(outcome);
  if (req_.onDone) req_.onDone(outcome);
}

// ---- lanes, abort and drain ---------------------------------------------------------------------------

Status AgentRunner::Impl::submit(TurnRequest request) {
  const AgentProfile* profile = agent(request.agentId);
  if (!profile)
    return fail(ErrorCode::kNotFound, "unknown agent " + request.agentId, "unknown agent " + request.agentId);
  if (request.clientTools) {
    if (auto names = checkClientToolNames(request.clientTools->tools, tools_.get()); !names) return names;
  }
  auto turn = std::make_shared<Turn>(shared_from_this(), std::move(request), *profile);
  std::vector<TurnPtr> toStart;
  bool queued = false;
  {
    std::lock_guard lock(mu_);
    if (draining_) return fail(ErrorCode::kUnavailable, "gateway is shutting down", "gateway is shutting down");
    if (turns_.count(turn->runId()) != 0) {
      return fail(ErrorCode::kAlreadyExists, "run " + turn->runId() + " is already queued or running",
                  "run " + turn->runId() + " is already queued or running");
    }
    turns_.emplace(turn->runId(), turn);
    auto& lane = lanes_[turn->sessionKey()];
    if (lane.busy) {
      turn->where = Turn::Where::kPending;
      lane.pending.push_back(turn);
      ++queuedCount_;
      queued = true;
    } else {
      lane.busy = true;
      startOrQueueLocked(turn, toStart);
      queued = toStart.empty();
    }
  }
  if (queued) turn->announceQueued();
  dispatch(toStart);
  return {};
}

void AgentRunner::Impl::dispatch(std::vector<TurnPtr>& toStart) {
  for (auto& t : toStart) ex_.blocking([t] { t->begin(); });
  toStart.clear();
}

void AgentRunner::Impl::Turn::detach() {
  ModelCallPtr call;
  tools::PendingDecisionPtr approval;
  std::vector<TimerHandlePtr> timers;
  {
    std::lock_guard lock(mu_);
    detached_ = true;
    cancelled_ = true;  // a tool still running sees ToolContext::cancelled
    ++callGen_;         // a late model answer or retry timer is stale
    ++toolGen_;         // so is a late gate decision or tool result
    call = std::move(call_);
    approval = std::move(approval_);
    for (auto* timer : {&deadlineTimer_, &retryTimer_, &flushTimer_}) {
      if (*timer) timers.push_back(std::move(*timer));
    }
  }
  if (call) call->cancel();
  if (approval) approval->cancel();
  for (auto& timer : timers) timer->cancel();
}

void AgentRunner::Impl::detachAll() {
  std::vector<TurnPtr> turns;
  std::vector<std::function<void()>> waiters;  // dropped uncalled
  TimerHandlePtr drainTimer;
  {
    std::lock_guard lock(mu_);
    turns.reserve(turns_.size());
    for (auto& [runId, turn] : turns_) turns.push_back(turn);
    turns_.clear();
    lanes_.clear();
    ready_.clear();
    queuedCount_ = 0;
    waiters.swap(drainWaiters_);
    drainTimer = std::move(drainTimer_);
  }
  if (drainTimer) drainTimer->cancel();
  for (auto& turn : turns) turn->detach();
}

void AgentRunner::Impl::startOrQueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart) {
  if (running_ < options_.maxConcurrent) {
    ++running_;
    turn->where = Turn::Where::kRunning;
    toStart.push_back(turn);
  } else {
    turn->where = Turn::Where::kReady;
    ready_.push_back(turn);
    ++queuedCount_;
  }
}

void AgentRunner::Impl::releaseLaneLocked(const std::string& sessionKey, std::vector<TurnPtr>& toStart) {
  auto it = lanes_.find(sessionKey);
  if (it == lanes_.end()) return;
  auto& lane = it->second;
  if (lane.pending.empty()) {
    std::vector<std::function<void()>> waiting = std::move(lane.whenFree);
    lanes_.erase(it);
    for (auto& task : waiting) ex_.io(std::move(task));
    return;
  }
  auto next = lane.pending.front();
  lane.pending.pop_front();
  --queuedCount_;
  startOrQueueLocked(next, toStart);
}

void AgentRunner::Impl::fillSlotsLocked(std::vector<TurnPtr>& toStart) {
  while (running_ < options_.maxConcurrent && !ready_.empty()) {
    auto next = ready_.front();
    ready_.pop_front();
    --queuedCount_;
    ++running_;
    next->where = Turn::Where::kRunning;
    toStart.push_back(next);
  }
}

bool AgentRunner::Impl::unqueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart) {
  if (turn->where == Turn::Where::kRunning) return false;
  if (turn->where == Turn::Where::kPending) {
    auto& pending = lanes_[turn->sessionKey()].pending;
    pending.erase(std::remove(pending.begin(), pending.end(), turn), pending.end());
  } else {
    ready_.erase(std::remove(ready_.begin(), ready_.end(), turn), ready_.end());
    releaseLaneLocked(turn->sessionKey(), toStart);  // it held its lane while waiting for a slot
  }
  --queuedCount_;
  turns_.erase(turn->runId());
  return true;
}

std::vector<std::function<void()>> AgentRunner::Impl::drainedLocked() {
  std::vector<std::function<void()>> out;
  if (draining_ && running_ == 0 && queuedCount_ == 0) {
    out.swap(drainWaiters_);
    if (drainTimer_) {
      drainTimer_->cancel();
      drainTimer_.reset();
    }
  }
  return out;
}

void AgentRunner::Impl::turnEnded(const TurnPtr& turn) {
  std::vector<TurnPtr> toStart;
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard lock(mu_);
    turns_.erase(turn->runId());
    --running_;
    releaseLaneLocked(turn->sessionKey(), toStart);
    fillSlotsLocked(toStart);
    drained = drainedLocked();
  }
  dispatch(toStart);
  for (auto& cb : drained) cb();
}

Result<AbortResult> AgentRunner::Impl::abort(const std::string& runId, const std::string& sessionKey,
                                             std::string_view stopReason) {
  TurnPtr turn;
  bool wasQueued = false;
  std::vector<TurnPtr> toStart;
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard lock(mu_);
    auto it = turns_.find(runId);
    if (it == turns_.end()) return AbortResult{};
    turn = it->second;
    if (!sessionKey.empty() && turn->sessionKey() != sessionKey) {
      return fail(ErrorCode::kInvalidArgument, "runId does not match sessionKey", "runId does not match sessionKey");
    }
    wasQueued = unqueueLocked(turn, toStart);
    if (wasQueued) {
      fillSlotsLocked(toStart);
      drained = drainedLocked();
    }
  }
  AbortResult result;
  if (wasQueued) {
    turn->endQueued(stopReason);  // never runs
    result.aborted = true;
  } else {
    result.aborted = turn->requestStop(abortedEnding(stopReason));
  }
  if (result.aborted) result.runIds.push_back(runId);
  dispatch(toStart);
  for (auto& cb : drained) cb();
  return result;
}

AbortResult AgentRunner::Impl::abortSession(const std::string& sessionKey, std::string_view stopReason) {
  // Queued turns first, so ending the running one cannot promote the next (docs/concepts/queue.md).
  std::vector<std::string> queued;
  std::vector<std::string> running;
  {
    std::lock_guard lock(mu_);
    for (const auto& [runId, turn] : turns_) {
      if (turn->sessionKey() != sessionKey) continue;
      (turn->where == Turn::Where::kRunning ? running : queued).push_back(runId);
    }
  }
  AbortResult result;
  for (const auto* list : {&queued, &running}) {
    for (const auto& runId : *list) {
      auto r = abort(runId, sessionKey, stopReason);
      if (r && r->aborted) result.runIds.push_back(runId);
    }
  }
  result.aborted = !result.runIds.empty();
  return result;
}

std::optional<TurnState> AgentRunner::Impl::state(const std::string& runId) const {
  TurnPtr turn;
  {
    std::lock_guard lock(mu_);
    auto it = turns_.find(runId);
    if (it == turns_.end()) return std::nullopt;
    turn = it->second;
  }
  return turn->state();
}

void AgentRunner::Impl::drain(std::function<void()> onDrained) {
  std::vector<std::function<void()>> drained;
  bool abortNow = false;
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    if (onDrained) drainWaiters_.push_back(std::move(onDrained));
    drained = drainedLocked();
    if (drained.empty() && !drainTimer_) {
      if (options_.drainGrace.count() <= 0) {
        abortNow = true;
      } else {
        std::weak_ptr<Impl> weak = weak_from_this();
        drainTimer_ = ex_.after(options_.drainGrace, [weak] {
          if (auto self = weak.lock()) self->abortAll("shutdown");
        });
      }
    }
  }
  for (auto& cb : drained) cb();
  if (abortNow) abortAll("shutdown");
}

void AgentRunner::Impl::abortAll(std::string_view stopReason) {
  std::vector<std::string> sessions;
  {
    std::lock_guard lock(mu_);
    for (const auto& [runId, turn] : turns_) sessions.push_back(turn->sessionKey());
  }
  std::sort(sessions.begin(), sessions.end());
  sessions.erase(std::unique(sessions.begin(), sessions.end()), sessions.end());
  for (const auto& key : sessions) abortSession(key, stopReason);
  spdlog::info("drain: aborted the turns left after the grace period ({} sessions)", sessions.size());
}

// ---- manual compaction (sessions.compact) --------------------------------------------------------------

namespace {
/// One manual compaction in flight: holds its session's lane until finish().
struct ManualCompaction {
  std::string agentId;
  std::string sessionKey;
  std::string instructions;
  std::function<void(Result<CompactResult>)> onDone;
  SessionStatePtr session;
  store::CompactionRecord record;
  CompactResult result;
  std::mutex mu;      // guards call and completed (stream() may complete on another thread at once)
  ModelCallPtr call;  // the summary call, held until it completes
  bool completed = false;
};
}  // namespace

void AgentRunner::Impl::compact(const std::string& agentId, const std::string& sessionKey, std::string instructions,
                                std::function<void(Result<CompactResult>)> onDone, CompactWhenBusy whenBusy) {
  const AgentProfile* profile = agent(agentId);
  if (!profile) return onDone(fail(ErrorCode::kNotFound, "unknown agent " + agentId, "unknown agent " + agentId));
  bool waiting = false;              // kAbortRunning on a busy lane: queued in its whenFree
  std::vector<std::string> running;  // the session's running turns, aborted after the lock is released
  {
    std::lock_guard lock(mu_);
    if (draining_) return onDone(fail(ErrorCode::kUnavailable, "gateway is shutting down", "gateway is shutting down"));
    auto busy = lanes_.find(sessionKey);
    if (busy != lanes_.end() && whenBusy == CompactWhenBusy::kRefuse) {
      std::string text = "Session " + sessionKey + " has an active run; retry after it finishes.";
      return onDone(fail(ErrorCode::kFailedPrecondition, text, text));
    }
    if (busy != lanes_.end()) {
      // Try again once the lane is free (releaseLaneLocked posts it): the running turn is aborted below,
      // the queued ones run first. The lane may be taken again by then; the retry then waits again.
      // A weak reference: the lane (in the runner) must not keep the runner alive.
      busy->second.whenFree.push_back([weak = weak_from_this(), agentId, sessionKey,
                                       instructions = std::move(instructions), onDone = std::move(onDone)]() mutable {
        if (auto self = weak.lock()) {
          self->compact(agentId, sessionKey, std::move(instructions), std::move(onDone),
                        CompactWhenBusy::kAbortRunning);
        }
      });
      waiting = true;
      for (const auto& [runId, turn] : turns_) {
        if (turn->sessionKey() == sessionKey && turn->where == Turn::Where::kRunning) running.push_back(runId);
      }
    } else {
      lanes_[sessionKey].busy = true;  // turns submitted meanwhile queue behind the compaction
    }
  }
  if (waiting) {
    for (const auto& runId : running) {
      spdlog::info("compaction of session {} (manual): aborting its running turn {}", sessionKey, runId);
      (void)abort(runId, sessionKey, "compact");
    }
    return;
  }
  auto job = std::make_shared<ManualCompaction>();
  job->agentId = agentId;
  job->sessionKey = sessionKey;
  job->instructions = std::move(instructions);
  job->onDone = std::move(onDone);
  auto self = shared_from_this();
  // Ends the job: releases the lane (its queued turns start) and answers.
  auto finish = [self, job](Result<CompactResult> result) {
    std::vector<TurnPtr> toStart;
    {
      std::lock_guard lock(self->mu_);
      self->releaseLaneLocked(job->sessionKey, toStart);
      self->fillSlotsLocked(toStart);
    }
    self->dispatch(toStart);
    job->onDone(std::move(result));
  };
  auto report = [self, job](std::string_view outcome, const std::optional<Error>& error) {
    CompactionReport r;
    r.agentId = job->agentId;
    r.sessionKey = job->sessionKey;
    r.reason = "manual";
    r.outcome = std::string(outcome);
    r.error = error;
    r.tokensBefore = job->result.tokensBefore;
    r.tokensAfter = job->result.tokensAfter;
    r.compactionCount = job->session && job->session->compaction ? job->session->compaction->id : 0;
    if (outcome == "ok") {
      spdlog::info("compacted session {} (manual): about {} → {} tokens, compaction #{}", r.sessionKey, r.tokensBefore,
                   r.tokensAfter, r.compactionCount);
    } else {
      spdlog::warn("compaction of session {} (manual) {}: {}", r.sessionKey, outcome,
                   error ? error->message : std::string("nothing old enough to summarise"));
    }
    if (self->options_.onCompaction) self->options_.onCompaction(r);
  };
  ex_.blocking([self, job, profile, finish, report] {
    auto loaded = self->loadSession(job->sessionKey, job->agentId);
    if (!loaded) return finish(fail(loaded.error()));
    job->session = *loaded;
    const SessionState& state = *job->session;
    if (!state.persisted || state.history.empty()) {
      job->result.reason = "no transcript";
      return finish(job->result);
    }
    // The entries a request would send (as Turn::historyStartLocked picks them).
    const auto& h = state.history;
    auto limit = static_cast<std::size_t>(self->options_.historyLimit);
    std::size_t first = h.size() > limit ? h.size() - limit : 0;
    if (state.compaction) {
      while (first < h.size() && h[first].seq < state.compaction->firstKeptSeq) ++first;
    }
    while (first < h.size() && h[first].role == store::TranscriptRole::kTool) ++first;
    std::vector<store::TranscriptEntry> entries(h.begin() + static_cast<std::ptrdiff_t>(first), h.end());
    std::vector<ChatMessage> before;
    if (state.compaction) before.push_back(summaryMessage(state.compaction->summary));
    for (const auto& e : entries) before.push_back(transcriptChatMessage(e));
    job->result.tokensBefore = estimateMessagesTokens(before);
    job->result.compactionCount = state.compaction ? state.compaction->id : 0;
    const auto& settings = profile->compaction;
    auto cut = compactionCut(entries, settings.keepRecentTokens, settings.recentTurnsPreserve);
    if (!cut) {
      job->result.reason = "nothing to compact";
      report("noop", std::nullopt);
      return finish(job->result);
    }
    const std::string ref = !settings.model.empty()       ? settings.model
                            : !state.record.model.empty() ? state.record.model
                                                          : profile->model;
    auto [providerId, model] = splitModelRef(ref);
    ModelProviderPtr provider = self->compactionProvider(providerId);
    if (!provider) {
      std::string text = "compaction model provider \"" + providerId + "\" is not configured";
      Error error(ErrorCode::kFailedPrecondition, text, text);
      report("failed", error);
      return finish(fail(std::move(error)));
    }
    job->record.sessionKey = job->sessionKey;
    job->record.id = job->result.compactionCount + 1;
    job->record.firstKeptSeq = entries[*cut].seq;
    job->record.reason = "manual";
    job->record.model = ref;
    job->record.tokensBefore = job->result.tokensBefore;
    std::vector<ChatMessage> after;
    for (std::size_t i = *cut; i < entries.size(); ++i) after.push_back(transcriptChatMessage(entries[i]));
    entries.resize(*cut);
    ModelRequest request =
        summaryRequest(model, state.compaction ? state.compaction->summary : std::string(), entries, job->instructions);
    request.timeout = settings.timeout;
    ModelStreamHandlers handlers;
    handlers.onTextDelta = [](std::string_view) {};
    handlers.onComplete = [self, job, finish, report, after = std::move(after)](Result<ModelResponse> answer) mutable {
      {
        std::lock_guard lock(job->mu);
        job->completed = true;
        job->call.reset();
      }
      std::string summary = answer ? trimWhitespace(answer->text) : std::string();
      if (!answer || summary.empty()) {
        Error error = answer ? Error(ErrorCode::kUpstream, "the summary model answered with no text",
                                     "the summary model answered with no text")
                             : std::move(answer).error();
        error.message = "compaction failed: " + error.message;
        error.externalMessage = "compaction failed: " + error.publicMessage();
        report("failed", error);
        return finish(fail(std::move(error)));
      }
      after.insert(after.begin(), summaryMessage(summary));
      job->result.tokensAfter = estimateMessagesTokens(after);
      job->record.summary = std::move(summary);
      job->record.tokensAfter = job->result.tokensAfter;
      job->record.createdAtMs = self->clock_->nowMs();
      store::WriteBatch batch;
      store::CompactionRepository::append(batch, job->record);
      self->store_.submit(std::move(batch), [self, job, finish, report](Status stored) {
        self->ex_.io([self, job, finish, report, stored = std::move(stored)]() mutable {
          if (!stored) {
            Error error = stored.error();
            error.message = "compaction failed: cannot store the summary: " + error.message;
            error.externalMessage = "compaction failed: the summary could not be saved";
            report("failed", error);
            return finish(fail(std::move(error)));
          }
          job->session->compaction = job->record;  // the lane is held: no turn reads it meanwhile
          countSessionBytes(*job->session);
          self->recountCachedSession(job->sessionKey);
          job->result.compacted = true;
          job->result.compactionCount = job->record.id;
          report("ok", std::nullopt);
          finish(job->result);
        });
      });
    };
    auto call = provider->stream(std::move(request), std::move(handlers));
    std::lock_guard lock(job->mu);
    if (!job->completed) job->call = std::move(call);
  });
}

Result<SessionStatePtr> AgentRunner::Impl::loadSession(const std::string& sessionKey, const std::string& agentId) {
  {
    std::lock_guard lock(cacheMu_);
    auto it = sessions_.find(sessionKey);
    if (it != sessions_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lruIt);
      return it->second.state;
    }
  }
  auto state = std::make_shared<SessionState>();
  auto rec = store_.sessions().get(sessionKey);
  if (!rec) return fail(rec.error());
  if (*rec) {
    state->record = **rec;
    state->persisted = true;
    auto entries = store_.transcripts().tail(sessionKey, options_.historyLimit);
    if (!entries) return fail(entries.error());
    state->history = std::move(*entries);
    state->nextSeq = state->history.empty() ? state->record.messageCount + 1 : state->history.back().seq + 1;
    auto compaction = store::CompactionRepository(store_).latest(sessionKey);
    if (!compaction) return fail(compaction.error());
    state->compaction = std::move(*compaction);
  }
  countSessionBytes(*state);
  std::lock_guard lock(cacheMu_);
  auto [it, added] = sessions_.try_emplace(sessionKey);
  if (added) {
    lru_.push_front(sessionKey);
    it->second.lruIt = lru_.begin();
  } else {
    // Loaded twice at once (two callers missed together): the later load replaces the earlier.
    lru_.splice(lru_.begin(), lru_, it->second.lruIt);
  }
  it->second.state = state;
  recountLocked(it);
  return state;
}

void AgentRunner::Impl::recountCachedSession(const std::string& sessionKey) {
  std::lock_guard lock(cacheMu_);
  auto it = sessions_.find(sessionKey);
  if (it != sessions_.end()) recountLocked(it);
}

void AgentRunner::Impl::recountLocked(std::unordered_map<std::string, CachedSession>::iterator it) {
  const std::size_t now = it->second.state->bytes.load(std::memory_order_relaxed);
  cacheBytes_ = cacheBytes_ - it->second.countedBytes + now;
  it->second.countedBytes = now;
  while (sessions_.size() > options_.sessionCacheSize ||
         (cacheBytes_ > options_.sessionCacheBytes && sessions_.size() > 1)) {
    auto oldest = sessions_.find(lru_.back());
    cacheBytes_ -= oldest->second.countedBytes;
    sessions_.erase(oldest);
    lru_.pop_back();
  }
}

std::string AgentRunner::Impl::systemPrompt(const AgentProfile& agent) {
  std::vector<int64_t> mtimes;
  for (const char* name : kBootstrapFiles) {
    struct stat st {};
    auto path = agent.workspace / name;
    mtimes.push_back(::stat(path.c_str(), &st) == 0
                         ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec + st.st_size
                         : -1);
  }
  {
    std::lock_guard lock(promptMu_);
    auto it = prompts_.find(agent.id);
    if (it != prompts_.end() && it->second.mtimes == mtimes) return it->second.text;
  }
  std::string prompt;
  std::size_t total = 0;
  for (std::size_t i = 0; i < std::size(kBootstrapFiles); ++i) {
    if (mtimes[i] < 0) continue;
    auto text = readFile(agent.workspace / kBootstrapFiles[i], 4u << 20);
    if (!text) {
      spdlog::warn("agent {}: cannot read {}: {}", agent.id, kBootstrapFiles[i], text.error().message);
      continue;
    }
    std::string body = std::move(*text);
    if (body.size() > options_.bootstrapMaxChars) body.resize(options_.bootstrapMaxChars);
    if (total + body.size() > options_.bootstrapTotalMaxChars) body.resize(options_.bootstrapTotalMaxChars - total);
    total += body.size();
    if (!prompt.empty()) prompt += "\n\n";
    prompt += "# ";
    prompt += kBootstrapFiles[i];
    prompt += "\n\n";
    prompt += body;
    if (total >= options_.bootstrapTotalMaxChars) break;
  }
  std::lock_guard lock(promptMu_);
  prompts_[agent.id] = PromptCacheEntry{mtimes, prompt};
  return prompt;
}

Result<std::unique_ptr<AgentRunner>> AgentRunner::create(AgentRunnerOptions options, std::vector<AgentProfile> agents,
                                                         std::map<std::string, ModelProviderPtr> providers,
                                                         std::shared_ptr<tools::ToolRegistry> tools,
                                                         store::Store& store, EventBus& bus, Executors executors,
                                                         ClockPtr clock, tools::ToolGatePtr gate) {
  if (!executors.io || !executors.blocking || !executors.after) {
    return fail(ErrorCode::kInvalidArgument, "agent runner: the io, blocking and after executors are required");
  }
  if (options.maxConcurrent < 1 || options.maxSteps < 1) {
    return fail(ErrorCode::kInvalidArgument, "agent runner: maxConcurrent and maxSteps must be at least 1");
  }
  if (!gate) gate = std::make_shared<tools::AllowAllToolGate>();
  if (!options.retryJitter) {
    options.retryJitter = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  auto impl = std::make_shared<Impl>(std::move(options), std::move(agents), std::move(providers), std::move(tools),
                                     store, bus, std::move(executors), std::move(clock), std::move(gate));
  return std::unique_ptr<AgentRunner>(new AgentRunner(std::move(impl)));
}

AgentRunner::AgentRunner(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentRunner::~AgentRunner() { impl_->detachAll(); }
Status AgentRunner::submit(TurnRequest request) { return impl_->submit(std::move(request)); }
Result<AbortResult> AgentRunner::abort(const std::string& runId, const std::string& sessionKey,
                                       std::string_view stopReason) {
  return impl_->abort(runId, sessionKey, stopReason);
}
AbortResult AgentRunner::abortSession(const std::string& sessionKey, std::string_view stopReason) {
  return impl_->abortSession(sessionKey, stopReason);
}
std::optional<TurnState> AgentRunner::state(const std::string& runId) const { return impl_->state(runId); }
const AgentProfile* AgentRunner::agent(const std::string& id) const { return impl_->agent(id); }
const std::vector<AgentProfile>& AgentRunner::agents() const { return impl_->agents_; }
RunnerStats AgentRunner::stats() const { return impl_->stats(); }
void AgentRunner::drain(std::function<void()> onDrained) { impl_->drain(std::move(onDrained)); }
void AgentRunner::compact(const std::string& agentId, const std::string& sessionKey, std::string instructions,
                          std::function<void(Result<CompactResult>)> onDone, CompactWhenBusy whenBusy) {
  impl_->compact(agentId, sessionKey, std::move(instructions), std::move(onDone), whenBusy);
}

}  // namespace talon::gateway
