#include "gateway/agent/agent_runner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <unordered_map>

#include "base/file_io.h"
#include "base/ids.h"
#include "base/json.h"
#include "gateway/agent/run_events.h"
#include "gateway/tools/tool_registry.h"

namespace talon::gateway {
namespace {

/// Conversation state of one session, owned by the turn holding its lane.
struct SessionState {
  store::SessionRecord record;
  bool persisted = false;
  std::vector<store::TranscriptEntry> history;  // the last historyLimit entries, oldest first
  int64_t nextSeq = 1;
};
using SessionStatePtr = std::shared_ptr<SessionState>;

/// The bootstrap files read into the system prompt, in this order (OpenClaw docs: AGENTS.md, SOUL.md,
/// USER.md are injected when present).
constexpr const char* kBootstrapFiles[] = {"AGENTS.md", "SOUL.md", "USER.md"};

std::string toolCallsToJson(const std::vector<ToolCall>& calls) {
  json::array a;
  for (const auto& c : calls) {
    a.push_back(json::object{{"id", c.id}, {"name", c.name}, {"arguments", c.argumentsJson}});
  }
  return json::serialize(a);
}

std::vector<ToolCall> toolCallsFromJson(const std::string& text) {
  std::vector<ToolCall> calls;
  if (text.empty()) return calls;
  auto v = parseJson(text);
  if (!v || !v->is_array()) return calls;
  for (const auto& item : v->get_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.get_object();
    calls.push_back(ToolCall{std::string(getString(o, "id").value_or("")),
                             std::string(getString(o, "name").value_or("")),
                             std::string(getString(o, "arguments").value_or(""))});
  }
  return calls;
}

ChatMessage toChatMessage(const store::TranscriptEntry& e) {
  ChatMessage m;
  m.role = e.role;
  m.content = e.content;
  if (e.role == "assistant") m.toolCalls = toolCallsFromJson(e.toolCallsJson);
  if (e.role == "tool") m.toolCallId = e.toolCallId;
  return m;
}

/// "provider/model" → (provider, model). A reference without '/' names a model of provider "openai"
/// (OpenClaw's default provider).
std::pair<std::string, std::string> splitModelRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"openai", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

class AgentRunner::Impl : public std::enable_shared_from_this<AgentRunner::Impl> {
 public:
  class Turn;
  using TurnPtr = std::shared_ptr<Turn>;

  Impl(AgentRunnerOptions options, std::vector<AgentProfile> agents, std::map<std::string, ModelProviderPtr> providers,
       std::shared_ptr<tools::ToolRegistry> tools, store::Store& store, EventBus& bus, Executors executors,
       ClockPtr clock)
      : options_(std::move(options)),
        agents_(std::move(agents)),
        providers_(std::move(providers)),
        tools_(std::move(tools)),
        store_(store),
        bus_(bus),
        ex_(std::move(executors)),
        clock_(std::move(clock)) {}

  Status submit(TurnRequest request);
  const AgentProfile* agent(const std::string& id) const {
    for (const auto& a : agents_) {
      if (a.id == id) return &a;
    }
    return nullptr;
  }
  RunnerStats stats() const {
    std::lock_guard lock(mu_);
    return RunnerStats{running_, static_cast<int64_t>(queuedCount_), completed_.load(), failed_.load()};
  }
  void drain() {
    std::lock_guard lock(mu_);
    draining_ = true;
  }

  // Lane bookkeeping (all under mu_).
  void startOrQueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart);
  void turnEnded(const std::string& sessionKey);

  /// The session's state, from the cache or the store. Blocking (SQLite): call on the blocking pool.
  Result<SessionStatePtr> loadSession(const std::string& sessionKey, const std::string& agentId);
  /// The agent's system prompt from its workspace bootstrap files. Blocking (disk).
  std::string systemPrompt(const AgentProfile& agent);

  AgentRunnerOptions options_;
  std::vector<AgentProfile> agents_;
  std::map<std::string, ModelProviderPtr> providers_;
  std::shared_ptr<tools::ToolRegistry> tools_;
  store::Store& store_;
  EventBus& bus_;
  Executors ex_;
  ClockPtr clock_;

  mutable std::mutex mu_;
  struct Lane {
    std::deque<TurnPtr> pending;
    bool busy = false;
  };
  std::unordered_map<std::string, Lane> lanes_;
  std::deque<TurnPtr> ready_;  // lane heads waiting for a global slot
  int64_t running_ = 0;
  std::size_t queuedCount_ = 0;
  bool draining_ = false;
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};

  std::mutex cacheMu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::pair<SessionStatePtr, std::list<std::string>::iterator>> sessions_;

  struct PromptCacheEntry {
    std::vector<int64_t> mtimes;
    std::string text;
  };
  std::mutex promptMu_;
  std::unordered_map<std::string, PromptCacheEntry> prompts_;
};

/// One turn: owns its session's state while its lane is held.
class AgentRunner::Impl::Turn : public std::enable_shared_from_this<Turn> {
 public:
  Turn(std::shared_ptr<Impl> impl, TurnRequest request, const AgentProfile& agent)
      : impl_(std::move(impl)), req_(std::move(request)), agent_(agent), events_(req_.runId, req_.sessionKey) {}

  const std::string& sessionKey() const { return req_.sessionKey; }

  /// Intake and context, then the first model call. Runs on the blocking pool.
  void begin();

 private:
  void callModel();
  void onModelDone(Result<ModelResponse> result);
  void runTools(std::vector<ToolCall> calls);
  void finish(std::optional<Error> error, std::string stopReason);
  void publish(std::string name, std::string payload) {
    impl_->bus_.publish(GatewayEvent{std::move(name), req_.sessionKey, req_.runId,
                                     std::make_shared<const std::string>(std::move(payload))});
  }
  store::TranscriptEntry entry(std::string role, std::string content) {
    store::TranscriptEntry e;
    e.sessionKey = req_.sessionKey;
    e.seq = session_->nextSeq++;
    e.runId = req_.runId;
    e.role = std::move(role);
    e.content = std::move(content);
    e.ts = impl_->clock_->nowMs();
    return e;
  }

  std::shared_ptr<Impl> impl_;
  TurnRequest req_;
  const AgentProfile& agent_;
  RunEventEncoder events_;
  SessionStatePtr session_;
  ModelProviderPtr provider_;
  std::string providerId_;
  std::string model_;
  std::string systemPrompt_;
  std::vector<ChatMessage> context_;         // messages sent to the model, growing through the turn
  std::vector<store::TranscriptEntry> new_;  // entries of this turn not yet committed
  std::string text_;                         // answer text streamed in the current step
  TokenUsage usage_;
  int steps_ = 0;
  int64_t startedMs_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::mutex streamMu_;  // deltas and completion of one model call may arrive on different I/O threads
};

void AgentRunner::Impl::Turn::begin() {
  startedMs_ = impl_->clock_->nowMs();
  auto timeout = req_.timeout.count() > 0 ? req_.timeout : impl_->options_.defaultTimeout;
  deadline_ = impl_->clock_->steadyNow() + timeout;
  publish("agent", events_.lifecycle("start", startedMs_));

  auto loaded = impl_->loadSession(req_.sessionKey, req_.agentId);
  if (!loaded) {
    session_ = std::make_shared<SessionState>();  // keeps finish() simple; nothing gets written
    finish(loaded.error(), "error");
    return;
  }
  session_ = *loaded;

  // The user's message and the run record are committed before the model is called, so a crash
  // mid-turn loses neither (the run is then marked aborted at the next start).
  auto now = impl_->clock_->nowMs();
  auto& rec = session_->record;
  if (!session_->persisted) {
    rec.sessionKey = req_.sessionKey;
    rec.agentId = req_.agentId;
    rec.sessionId = newUuid();
    rec.channel = req_.channel;
    rec.createdAtMs = now;
  }
  auto [providerId, model] = splitModelRef(agent_.model);
  providerId_ = providerId;
  model_ = model;
  rec.updatedAtMs = now;
  rec.lastRunId = req_.runId;
  rec.model = agent_.model;
  auto user = entry("user", req_.message);
  rec.messageCount = user.seq;
  store::RunRecord run;
  run.runId = req_.runId;
  run.sessionKey = req_.sessionKey;
  run.agentId = req_.agentId;
  run.idempotencyKey = req_.idempotencyKey;
  run.status = "running";
  run.model = agent_.model;
  run.startedAtMs = startedMs_;
  store::WriteBatch intake;
  intake.sessions.push_back(rec);
  intake.entries.push_back(user);
  intake.runs.push_back(run);
  auto committed = impl_->store_.write(std::move(intake));
  if (!committed) {
    finish(committed.error(), "error");
    return;
  }
  session_->persisted = true;
  session_->history.push_back(user);

  // Context: system prompt, then the stored transcript (or the client's conversation).
  systemPrompt_ = impl_->systemPrompt(agent_);
  if (!systemPrompt_.empty()) context_.push_back(ChatMessage{"system", systemPrompt_, {}, {}});
  if (req_.contextOverride) {
    for (auto& m : *req_.contextOverride) context_.push_back(std::move(m));
    context_.push_back(ChatMessage{"user", req_.message, {}, {}});
  } else {
    const auto& h = session_->history;
    std::size_t first = h.size() > static_cast<std::size_t>(impl_->options_.historyLimit)
                            ? h.size() - static_cast<std::size_t>(impl_->options_.historyLimit)
                            : 0;
    while (first < h.size() && h[first].role == "tool") ++first;  // never start on an orphaned tool result
    for (std::size_t i = first; i < h.size(); ++i) context_.push_back(toChatMessage(h[i]));
  }

  if (agent_.model.empty()) {
    finish(Error(ErrorCode::kFailedPrecondition, "agent " + agent_.id + " has no model configured",
                 "agent " + agent_.id + " has no model configured (set agents.defaults.model)"),
           "error");
    return;
  }
  auto it = impl_->providers_.find(providerId_);
  if (it == impl_->providers_.end()) {
    finish(Error(ErrorCode::kFailedPrecondition, "no model provider \"" + providerId_ + "\" for " + agent_.model,
                 "model provider \"" + providerId_ + "\" is not configured (models.providers." + providerId_ + ")"),
           "error");
    return;
  }
  provider_ = it->second;
  publish("chat", events_.chatStatus("starting_model"));
  callModel();
}

void AgentRunner::Impl::Turn::callModel() {
  if (steps_ >= impl_->options_.maxSteps) {
    finish(Error(ErrorCode::kResourceExhausted,
                 "run stopped after " + std::to_string(steps_) + " model calls (step limit)",
                 "run stopped after " + std::to_string(steps_) + " model calls (step limit)"),
           "max_steps");
    return;
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - impl_->clock_->steadyNow());
  if (remaining.count() <= 0) {
    finish(Error(ErrorCode::kDeadlineExceeded, "run timed out", "run timed out"), "timeout");
    return;
  }
  ++steps_;
  text_.clear();
  ModelRequest request;
  request.model = model_;
  request.messages = context_;
  if (impl_->tools_) request.tools = impl_->tools_->specs();
  request.timeout = remaining;
  auto self = shared_from_this();
  ModelStreamHandlers handlers;
  handlers.onTextDelta = [self](std::string_view piece) {
    std::lock_guard lock(self->streamMu_);
    self->text_.append(piece);
    self->publish("chat", self->events_.chatDelta(self->text_));
    self->publish("agent", self->events_.assistant(self->text_, piece, self->impl_->clock_->nowMs()));
    if (self->req_.onDelta) self->req_.onDelta(piece);
  };
  handlers.onComplete = [self](Result<ModelResponse> result) {
    {
      std::lock_guard lock(self->streamMu_);  // orders completion after the last delta
    }
    self->onModelDone(std::move(result));
  };
  provider_->stream(std::move(request), std::move(handlers));
}

void AgentRunner::Impl::Turn::onModelDone(Result<ModelResponse> result) {
  if (!result) {
    finish(std::move(result).error(), "error");
    return;
  }
  auto& response = *result;
  usage_.inputTokens += response.usage.inputTokens;
  usage_.outputTokens += response.usage.outputTokens;
  if (response.text.empty()) response.text = text_;
  if (response.toolCalls.empty()) {
    auto e = entry("assistant", response.text);
    new_.push_back(e);
    text_ = response.text;
    finish(std::nullopt, response.finishReason.empty() ? "stop" : response.finishReason);
    return;
  }
  auto e = entry("assistant", response.text);
  e.toolCallsJson = toolCallsToJson(response.toolCalls);
  new_.push_back(e);
  context_.push_back(ChatMessage{"assistant", response.text, response.toolCalls, {}});
  auto self = shared_from_this();
  impl_->ex_.blocking([self, calls = std::move(response.toolCalls)]() mutable { self->runTools(std::move(calls)); });
}

void AgentRunner::Impl::Turn::runTools(std::vector<ToolCall> calls) {
  tools::ToolContext ctx;
  ctx.workspaceDir = agent_.workspace;
  ctx.agentId = agent_.id;
  ctx.sessionKey = req_.sessionKey;
  for (const auto& call : calls) {
    publish("agent", events_.tool("start", call.name, call.id, false, impl_->clock_->nowMs()));
    std::string output;
    bool isError = false;
    auto args = parseJson(call.argumentsJson.empty() ? "{}" : call.argumentsJson);
    if (!args || !args->is_object()) {
      output = "error: tool arguments are not a JSON object";
      isError = true;
    } else if (!impl_->tools_) {
      output = "error: no tools are available";
      isError = true;
    } else {
      auto r = impl_->tools_->invoke(call.name, args->get_object(), ctx);
      if (r) {
        output = std::move(*r);
      } else {
        output = "error: " + r.error().publicMessage();
        isError = true;
      }
    }
    spdlog::debug("run {} tool {} {}", req_.runId, call.name, isError ? "failed" : "ok");
    publish("agent", events_.tool("result", call.name, call.id, isError, impl_->clock_->nowMs()));
    auto e = entry("tool", output);
    e.toolCallId = call.id;
    e.toolName = call.name;
    new_.push_back(e);
    context_.push_back(ChatMessage{"tool", output, {}, call.id});
  }
  callModel();
}

void AgentRunner::Impl::Turn::finish(std::optional<Error> error, std::string stopReason) {
  auto now = impl_->clock_->nowMs();
  TurnOutcome outcome;
  outcome.runId = req_.runId;
  outcome.sessionKey = req_.sessionKey;
  outcome.sessionId = session_->record.sessionId;
  outcome.agentId = req_.agentId;
  outcome.text = error ? std::string() : text_;
  outcome.stopReason = stopReason;
  outcome.providerId = providerId_;
  outcome.model = model_;
  outcome.usage = usage_;
  outcome.durationMs = now - startedMs_;
  outcome.steps = steps_;
  if (error) {
    spdlog::warn("run {} of agent {} ({}) failed: {}", req_.runId, req_.agentId, req_.sessionKey, error->toString());
  }

  store::WriteBatch batch;
  if (session_->persisted) {
    auto& rec = session_->record;
    rec.updatedAtMs = now;
    rec.inputTokens += usage_.inputTokens;
    rec.outputTokens += usage_.outputTokens;
    if (!new_.empty()) rec.messageCount = new_.back().seq;
    batch.sessions.push_back(rec);
    batch.entries = new_;
    store::RunRecord run;
    run.runId = req_.runId;
    run.sessionKey = req_.sessionKey;
    run.agentId = req_.agentId;
    run.idempotencyKey = req_.idempotencyKey;
    run.status = error ? "error" : "ok";
    run.model = agent_.model;
    if (error) {
      run.errorCode = std::string(protocolErrorCode(error->code));
      run.errorMessage = error->publicMessage();
    }
    run.finalText = outcome.text;
    run.startedAtMs = startedMs_;
    run.endedAtMs = now;
    run.inputTokens = usage_.inputTokens;
    run.outputTokens = usage_.outputTokens;
    run.steps = steps_;
    batch.runs.push_back(run);
  }

  auto self = shared_from_this();
  auto deliver = [self, outcome = std::move(outcome), error = std::move(error)](Status committed) mutable {
    if (!committed && !error) {
      // The answer exists but could not be made durable: report the run as failed, never as final.
      error = Error(ErrorCode::kIo, "cannot commit run: " + committed.error().message,
                    "the run's transcript could not be saved");
      spdlog::error("run {}: {}", outcome.runId, error->message);
    }
    if (committed && self->session_->persisted) {
      auto& h = self->session_->history;
      h.insert(h.end(), self->new_.begin(), self->new_.end());
      auto limit = static_cast<std::size_t>(self->impl_->options_.historyLimit);
      if (h.size() > limit * 2) h.erase(h.begin(), h.end() - static_cast<std::ptrdiff_t>(limit));
    } else if (!committed) {
      self->session_->nextSeq -= static_cast<int64_t>(self->new_.size());
    }
    auto now = self->impl_->clock_->nowMs();
    if (error) {
      outcome.error = error;
      outcome.text.clear();
      self->publish("chat", self->events_.chatError(*error, outcome.stopReason));
      self->publish("agent", self->events_.lifecycleError(*error, now));
      self->impl_->failed_++;
    } else {
      self->publish("chat", self->events_.chatFinal(outcome.text, outcome.usage, outcome.stopReason));
      self->publish("agent", self->events_.lifecycle("end", now));
      self->impl_->completed_++;
    }
    if (self->req_.onDone) self->req_.onDone(outcome);
    self->impl_->turnEnded(self->req_.sessionKey);
  };
  if (batch.runs.empty()) {
    impl_->ex_.io([deliver = std::move(deliver)]() mutable { deliver(Status{}); });
    return;
  }
  // The store calls back on its writer thread; events and the next turn go to the I/O threads.
  impl_->store_.submit(std::move(batch), [ex = impl_->ex_, deliver = std::move(deliver)](Status s) mutable {
    ex.io([deliver = std::move(deliver), s = std::move(s)]() mutable { deliver(std::move(s)); });
  });
}

Status AgentRunner::Impl::submit(TurnRequest request) {
  const AgentProfile* profile = agent(request.agentId);
  if (!profile)
    return fail(ErrorCode::kNotFound, "unknown agent " + request.agentId, "unknown agent " + request.agentId);
  auto turn = std::make_shared<Turn>(shared_from_this(), std::move(request), *profile);
  std::vector<TurnPtr> toStart;
  {
    std::lock_guard lock(mu_);
    if (draining_) return fail(ErrorCode::kUnavailable, "gateway is shutting down", "gateway is shutting down");
    auto& lane = lanes_[turn->sessionKey()];
    if (lane.busy) {
      lane.pending.push_back(turn);
      ++queuedCount_;
    } else {
      lane.busy = true;
      startOrQueueLocked(turn, toStart);
    }
  }
  for (auto& t : toStart) ex_.blocking([t] { t->begin(); });
  return {};
}

void AgentRunner::Impl::startOrQueueLocked(const TurnPtr& turn, std::vector<TurnPtr>& toStart) {
  if (running_ < options_.maxConcurrent) {
    ++running_;
    toStart.push_back(turn);
  } else {
    ready_.push_back(turn);
    ++queuedCount_;
  }
}

void AgentRunner::Impl::turnEnded(const std::string& sessionKey) {
  std::vector<TurnPtr> toStart;
  {
    std::lock_guard lock(mu_);
    --running_;
    auto it = lanes_.find(sessionKey);
    if (it != lanes_.end()) {
      auto& lane = it->second;
      if (lane.pending.empty()) {
        lanes_.erase(it);
      } else {
        auto next = lane.pending.front();
        lane.pending.pop_front();
        --queuedCount_;
        startOrQueueLocked(next, toStart);
      }
    }
    while (running_ < options_.maxConcurrent && !ready_.empty()) {
      auto next = ready_.front();
      ready_.pop_front();
      --queuedCount_;
      ++running_;
      toStart.push_back(next);
    }
  }
  for (auto& t : toStart) ex_.blocking([t] { t->begin(); });
}

Result<SessionStatePtr> AgentRunner::Impl::loadSession(const std::string& sessionKey, const std::string& agentId) {
  {
    std::lock_guard lock(cacheMu_);
    auto it = sessions_.find(sessionKey);
    if (it != sessions_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  auto state = std::make_shared<SessionState>();
  auto rec = store_.getSession(sessionKey);
  if (!rec) return fail(rec.error());
  if (*rec) {
    state->record = **rec;
    state->persisted = true;
    auto entries = store_.transcript(sessionKey, options_.historyLimit);
    if (!entries) return fail(entries.error());
    state->history = std::move(*entries);
    state->nextSeq = state->history.empty() ? state->record.messageCount + 1 : state->history.back().seq + 1;
  }
  std::lock_guard lock(cacheMu_);
  lru_.push_front(sessionKey);
  sessions_[sessionKey] = {state, lru_.begin()};
  while (sessions_.size() > options_.sessionCacheSize) {
    sessions_.erase(lru_.back());
    lru_.pop_back();
  }
  return state;
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
                                                         ClockPtr clock) {
  auto impl = std::make_shared<Impl>(std::move(options), std::move(agents), std::move(providers), std::move(tools),
                                     store, bus, std::move(executors), std::move(clock));
  return std::unique_ptr<AgentRunner>(new AgentRunner(std::move(impl)));
}

AgentRunner::AgentRunner(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentRunner::~AgentRunner() = default;
Status AgentRunner::submit(TurnRequest request) { return impl_->submit(std::move(request)); }
const AgentProfile* AgentRunner::agent(const std::string& id) const { return impl_->agent(id); }
const std::vector<AgentProfile>& AgentRunner::agents() const { return impl_->agents_; }
RunnerStats AgentRunner::stats() const { return impl_->stats(); }
void AgentRunner::drain() { impl_->drain(); }

}  // namespace talon::gateway
