#include "gateway/agent/run_replay.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>

#include "base/ids.h"
#include "base/json.h"
#include "gateway/agent/transcript_tool_calls.h"
#include "gateway/tools/tool_outcome.h"
#include "store/run_repository.h"

namespace talon::gateway {
namespace {

/// Recorded answers complete at once; there is nothing to cancel.
class ReplayCall final : public ModelCall {
 public:
  void cancel() override {}
};

/// A gateway tool without side effects, run for real; counts its calls.
class LiveTool final : public tools::Tool {
 public:
  LiveTool(const tools::Tool& inner, std::shared_ptr<std::atomic<int64_t>> calls)
      : inner_(inner), calls_(std::move(calls)) {}
  std::string_view name() const override { return inner_.name(); }
  std::string_view description() const override { return inner_.description(); }
  const json::object& parameters() const override { return inner_.parameters(); }
  bool sideEffects() const override { return false; }
  Result<std::string> invoke(const json::object& args, const tools::ToolContext& ctx) const override {
    calls_->fetch_add(1);
    return inner_.invoke(args, ctx);
  }

 private:
  const tools::Tool& inner_;
  std::shared_ptr<std::atomic<int64_t>> calls_;
};

/// One call of a tool with side effects as the original run recorded it.
struct RecordedCall {
  json::object args;
  std::string content;  // what the tool entry holds (an error's text starts with "error: ")
  tools::ToolResultMeta meta;
  bool used = false;
};

/// The error code whose ToolOutcome::fromResult gives back `kind`.
ErrorCode codeOf(std::optional<tools::ToolErrorKind> kind) {
  if (!kind) return ErrorCode::kUpstream;
  switch (*kind) {
    case tools::ToolErrorKind::kInvalidArguments:
      return ErrorCode::kInvalidArgument;
    case tools::ToolErrorKind::kCancelled:
      return ErrorCode::kCancelled;
    case tools::ToolErrorKind::kTimeout:
      return ErrorCode::kDeadlineExceeded;
    case tools::ToolErrorKind::kDenied:
      return ErrorCode::kPermissionDenied;
    case tools::ToolErrorKind::kNotFound:
    case tools::ToolErrorKind::kFailed:
      return ErrorCode::kUpstream;
  }
  return ErrorCode::kUpstream;
}

/// A gateway tool with side effects: never run; each call is answered with the recorded result of the
/// first unused recorded call of the same tool with the same arguments.
class RecordedTool final : public tools::Tool {
 public:
  RecordedTool(const tools::Tool& inner, std::vector<RecordedCall> calls, std::shared_ptr<std::atomic<int64_t>> served)
      : inner_(inner), calls_(std::move(calls)), served_(std::move(served)) {}
  std::string_view name() const override { return inner_.name(); }
  std::string_view description() const override { return inner_.description(); }
  const json::object& parameters() const override { return inner_.parameters(); }
  Result<std::string> invoke(const json::object& args, const tools::ToolContext&) const override {
    std::lock_guard lock(mu_);
    for (auto& c : calls_) {
      if (c.used || c.args != args) continue;
      c.used = true;
      served_->fetch_add(1);
      if (!c.meta.isError) return c.content;
      constexpr std::string_view kPrefix = "error: ";
      std::string text = c.content.starts_with(kPrefix) ? c.content.substr(kPrefix.size()) : c.content;
      return fail(tools::toolError(codeOf(c.meta.errorKind), std::move(text)));
    }
    return fail(tools::toolError(ErrorCode::kFailedPrecondition,
                                 std::string(inner_.name()) +
                                     " has side effects and is not run during a replay; the recorded run made no "
                                     "such call with these arguments"));
  }

 private:
  const tools::Tool& inner_;
  mutable std::mutex mu_;
  mutable std::vector<RecordedCall> calls_;
  std::shared_ptr<std::atomic<int64_t>> served_;
};

/// The recorded calls of each tool, in order: the assistant entries' calls joined with their results.
std::map<std::string, std::vector<RecordedCall>> recordedCalls(const std::vector<store::TranscriptEntry>& entries) {
  std::map<std::string, const store::TranscriptEntry*> results;  // by tool call id
  for (const auto& e : entries) {
    if (e.role == store::TranscriptRole::kTool) results[e.toolCallId] = &e;
  }
  std::map<std::string, std::vector<RecordedCall>> byTool;
  for (const auto& e : entries) {
    if (e.role != store::TranscriptRole::kAssistant) continue;
    for (const auto& call : toolCallsFromJson(e.toolCallsJson)) {
      auto result = results.find(call.id);
      auto args = tools::ToolRegistry::parseArguments(call.name, call.argumentsJson);
      if (result == results.end() || !args) continue;  // never answered, or the call itself was invalid
      const auto& r = *result->second;
      byTool[call.name].push_back(
          RecordedCall{std::move(*args), r.content, tools::decodeTranscriptMeta(r.toolCallsJson, r.content)});
    }
  }
  return byTool;
}

/// (provider, model) of a "provider/model" reference; no '/' names a model of "openai" (as the runner).
std::pair<std::string, std::string> splitRef(const std::string& ref) {
  auto slash = ref.find('/');
  if (slash == std::string::npos) return {"openai", ref};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

ReplayModelProvider::ReplayModelProvider(std::string id, std::vector<ModelResponse> responses,
                                         std::function<void(Task)> post)
    : id_(std::move(id)), responses_(std::move(responses)), post_(std::move(post)) {}

ModelCallPtr ReplayModelProvider::stream(ModelRequest, ModelStreamHandlers handlers) {
  Result<ModelResponse> answer = fail(Error(ErrorCode::kUpstream, ""));
  {
    std::lock_guard lock(mu_);
    const std::size_t i = next_++;
    if (i < responses_.size()) {
      answer = responses_[i];
    } else {
      const std::string why = "replay: the recorded run has only " + std::to_string(responses_.size()) +
                              " model answer(s); the replay asked for answer " + std::to_string(i + 1);
      answer = fail(Error(ErrorCode::kUpstream, why, why));
    }
  }
  post_([handlers = std::move(handlers), answer = std::move(answer)]() mutable {
    if (answer && !answer->text.empty() && handlers.onTextDelta) handlers.onTextDelta(answer->text);
    handlers.onComplete(std::move(answer));
  });
  return std::make_shared<ReplayCall>();
}

int64_t ReplayModelProvider::calls() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(next_);
}

std::vector<ModelResponse> recordedResponses(const std::vector<store::TranscriptEntry>& entries) {
  std::vector<ModelResponse> out;
  for (const auto& e : entries) {
    if (e.role != store::TranscriptRole::kAssistant) continue;
    ModelResponse r;
    r.text = e.content;
    r.toolCalls = toolCallsFromJson(e.toolCallsJson);
    r.finishReason = r.toolCalls.empty() ? "stop" : "tool_calls";
    out.push_back(std::move(r));
  }
  return out;
}

struct RunReplayer::Replay {
  std::unique_ptr<AgentRunner> runner;
  std::shared_ptr<ReplayModelProvider> provider;
  std::string sessionKey;
  std::shared_ptr<std::atomic<int64_t>> toolsRun = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<std::atomic<int64_t>> toolsFromRecord = std::make_shared<std::atomic<int64_t>>(0);
  std::atomic<bool> finished{false};
};

RunReplayer::RunReplayer(RunReplayerDeps deps) : deps_(std::move(deps)) {}

RunReplayer::~RunReplayer() { stop(); }

void RunReplayer::stop() {
  std::vector<std::shared_ptr<Replay>> running;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [id, r] : active_) {
      if (!r->finished) running.push_back(r);
    }
  }
  for (auto& r : running) r->runner->abortSession(r->sessionKey, "shutdown");
}

void RunReplayer::replay(const std::string& runId, std::function<void(Result<ReplayResult>)> done) {
  auto refuse = [&](ErrorCode code, const std::string& why) { done(fail(Error(code, why, why))); };
  {
    std::lock_guard lock(mu_);
    if (stopped_) return refuse(ErrorCode::kUnavailable, "the gateway is stopping; no replay started");
    std::erase_if(active_, [](const auto& kv) { return kv.second->finished.load(); });
  }
  auto run = store::RunRepository(deps_.store).get(runId);
  if (!run) return done(fail(run.error()));
  if (!*run) return refuse(ErrorCode::kNotFound, "no run " + runId);
  const auto& original = **run;
  if (original.status == store::RunStatus::kRunning) {
    return refuse(ErrorCode::kFailedPrecondition, "run " + runId + " is still running; replay it when it has ended");
  }
  auto entries = store::TranscriptRepository(deps_.store).forRun(original.sessionKey, runId);
  if (!entries) return done(fail(entries.error()));
  const store::TranscriptEntry* input = nullptr;
  for (const auto& e : *entries) {
    if (e.role == store::TranscriptRole::kUser) {
      input = &e;
      break;
    }
  }
  if (input == nullptr) return refuse(ErrorCode::kFailedPrecondition, "run " + runId + " has no recorded user message");
  const AgentProfile* agent = nullptr;
  for (const auto& a : deps_.agents) {
    if (a.id == original.agentId) agent = &a;
  }
  if (agent == nullptr) {
    return refuse(ErrorCode::kFailedPrecondition,
                  "the agent of run " + runId + " (" + original.agentId + ") is not configured any more");
  }
  auto [providerId, model] = splitRef(original.model);
  if (!original.providerId.empty() && !original.answeredModel.empty()) {
    providerId = original.providerId;
    model = original.answeredModel;
  }

  auto replay = std::make_shared<Replay>();
  auto responses = recordedResponses(*entries);
  const auto answers = static_cast<int64_t>(responses.size());
  replay->provider = std::make_shared<ReplayModelProvider>(providerId, std::move(responses), deps_.executors.io);
  auto registry = std::make_shared<tools::ToolRegistry>();
  if (deps_.tools) {
    auto recorded = recordedCalls(*entries);
    for (const auto& name : deps_.tools->names()) {
      const tools::Tool* tool = deps_.tools->find(name);
      tools::ToolPtr wrapper;
      if (tool->sideEffects()) {
        wrapper = std::make_unique<RecordedTool>(*tool, std::move(recorded[name]), replay->toolsFromRecord);
      } else {
        wrapper = std::make_unique<LiveTool>(*tool, replay->toolsRun);
      }
      if (auto s = registry->add(std::move(wrapper)); !s) return done(fail(s.error()));
    }
  }
  AgentRunnerOptions options = deps_.options;
  options.maxConcurrent = 1;
  options.onModelCall = nullptr;
  options.onToolCall = nullptr;
  options.onRunEnded = nullptr;
  options.inCooldown = nullptr;
  options.providerIdentities = {{providerId, ProviderIdentity{"replay", "", {}}}};
  auto runner = AgentRunner::create(options, {*agent}, {{providerId, replay->provider}}, registry, deps_.store, bus_,
                                    deps_.executors, deps_.clock);
  if (!runner) return done(fail(runner.error()));
  replay->runner = std::move(*runner);

  TurnRequest req;
  req.runId = newUuid();
  req.agentId = agent->id;
  req.sessionKey = "agent:" + agent->id + ":replay:" + req.runId;
  req.message = input->content;
  req.channel = "replay";
  req.modelOverride = providerId + "/" + model;
  if (auto p = agent->params.find(*req.modelOverride); p != agent->params.end()) req.modelOverrideParams = p->second;
  replay->sessionKey = req.sessionKey;
  ReplayResult base;
  base.runId = runId;
  base.replayRunId = req.runId;
  base.sessionKey = req.sessionKey;
  base.agentId = agent->id;
  base.modelAnswers = answers;
  std::weak_ptr<Replay> weak = replay;
  req.onDone = [weak, base, done](const TurnOutcome& outcome) {
    auto r = weak.lock();
    ReplayResult result = base;
    result.status = outcome.error ? "error" : outcome.aborted ? "aborted" : "ok";
    if (outcome.error) result.error = outcome.error->externalMessage;
    if (r) {
      result.modelSteps = r->provider->calls();
      result.toolsRun = r->toolsRun->load();
      result.toolsFromRecord = r->toolsFromRecord->load();
      r->finished = true;
    }
    spdlog::info("replay of run {}: run {} ended {} ({} model step(s), {} tool call(s) run, {} from the record)",
                 result.runId, result.replayRunId, result.status, result.modelSteps, result.toolsRun,
                 result.toolsFromRecord);
    done(std::move(result));
  };
  {
    std::lock_guard lock(mu_);
    if (stopped_) return refuse(ErrorCode::kUnavailable, "the gateway is stopping; no replay started");
    active_[req.runId] = replay;
  }
  if (auto s = replay->runner->submit(std::move(req)); !s) {
    std::lock_guard lock(mu_);
    active_.erase(base.replayRunId);
    return done(fail(s.error()));
  }
}

}  // namespace talon::gateway
