// The chat family: `chat.send` and `agent` start turns (with idempotency), answered as OpenClaw 2026.9.6
// does (reference/openclaw-protocol.md "Core methods").
#include <spdlog/spdlog.h>

#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"

namespace talon::gateway::methods {
namespace {

struct ChatDeps {
  const AgentDirectory& agents;
  store::Store& store;
  AgentRunner& runner;
  RunRegistry& runs;
  Executors executors;
  ClockPtr clock;
};

TurnOutcome failedOutcome(const std::string& runId, const std::string& sessionKey, const std::string& agentId,
                          Error e) {
  TurnOutcome o;
  o.runId = runId;
  o.sessionKey = sessionKey;
  o.agentId = agentId;
  o.error = std::move(e);
  return o;
}

/// Starts a run for chat.send / agent, or answers from the idempotency cache. `onAccepted` sends the
/// first answer; `onOutcome` (optional) runs when the run completes.
void startRun(const ChatDeps& d, const std::string& requestId, const RpcResponderPtr& r, TurnRequest turn,
              std::function<void(const TrackedRun&)> onAccepted, std::function<void(const TurnOutcome&)> onOutcome,
              std::function<void(const TrackedRun&)> onDuplicate) {
  TrackedRun tracked{turn.runId, turn.sessionKey, turn.agentId, false, {}};
  if (auto existing = d.runs.claim(turn.idempotencyKey, tracked)) {
    onDuplicate(*existing);
    return;
  }
  // Not in memory: the key may belong to a run of an earlier process.
  d.executors.blocking([d, requestId, r, turn = std::move(turn), tracked, onAccepted = std::move(onAccepted),
                        onOutcome = std::move(onOutcome), onDuplicate = std::move(onDuplicate)]() mutable {
    auto previous = d.store.idempotency().findRun(turn.idempotencyKey);
    if (!previous) {
      d.runs.complete(turn.idempotencyKey, failedOutcome(turn.runId, turn.sessionKey, turn.agentId, previous.error()));
      return r->respondError(requestId, previous.error());
    }
    if (*previous) {
      const auto& run = **previous;
      TrackedRun old{run.runId, run.sessionKey, run.agentId, run.status != store::RunStatus::kRunning, {}};
      old.outcome.runId = run.runId;
      old.outcome.sessionKey = run.sessionKey;
      old.outcome.agentId = run.agentId;
      old.outcome.text = run.finalText;
      if (run.status != store::RunStatus::kOk) {
        old.outcome.error =
            Error(ErrorCode::kUnavailable, run.errorMessage.empty() ? "run did not complete" : run.errorMessage);
      }
      d.runs.complete(turn.idempotencyKey, old.outcome);
      onDuplicate(old);
      return;
    }
    auto key = turn.idempotencyKey;
    turn.onDone = [&runs = d.runs, key, onOutcome = std::move(onOutcome)](const TurnOutcome& outcome) {
      runs.complete(key, outcome);
      if (onOutcome) onOutcome(outcome);
    };
    auto submitted = d.runner.submit(std::move(turn));
    if (!submitted) {
      d.runs.complete(key, failedOutcome(tracked.runId, tracked.sessionKey, tracked.agentId, submitted.error()));
      return r->respondError(requestId, submitted.error());
    }
    onAccepted(tracked);
  });
}

/// The turn of a chat.send / agent request: its session resolved, the idempotencyKey as runId.
Result<TurnRequest> buildTurn(const AgentDirectory& agents, std::string_view sessionKey,
                              std::optional<std::string_view> agentId, const json::object& params,
                              std::string_view channelParam, std::chrono::milliseconds timeout) {
  auto resolved = agents.resolveClientSession(sessionKey, agentId);
  if (!resolved) return fail(resolved.error());
  TurnRequest turn;
  turn.runId = std::string(*getString(params, "idempotencyKey"));
  turn.idempotencyKey = turn.runId;
  turn.agentId = resolved->first;
  turn.sessionKey = resolved->second;
  turn.message = std::string(*getString(params, "message"));
  turn.channel = std::string(getString(params, channelParam).value_or("webchat"));
  turn.timeout = timeout;
  return turn;
}

}  // namespace

Status registerChatMethods(MethodRegistry& registry, const GatewayServices& services) {
  const ChatDeps d{services.agents, services.store, services.runner, services.runs, services.executors, services.clock};
  Status s = registry.add(
      {"chat.send",
       protocol::Scope::kWrite,
       {{"sessionKey", ParamType::kNonEmptyString, true},
        {"message", ParamType::kString, true},
        {"idempotencyKey", ParamType::kNonEmptyString, true},
        {"agentId", ParamType::kNonEmptyString},
        {"sessionId", ParamType::kNonEmptyString, false, true},
        {"timeoutMs", ParamType::kInteger},
        {"deliver", ParamType::kBoolean},
        {"thinking", ParamType::kString, false, true},
        {"originatingChannel", ParamType::kString},
        {"attachments", ParamType::kArray, false, true},
        {"queueMode", ParamType::kString, false, true},
        {"mentions", ParamType::kAny, false, true},
        {"workContext", ParamType::kAny, false, true},
        {"intent", ParamType::kAny, false, true},
        {"fastMode", ParamType::kAny, false, true},
        {"toolBindings", ParamType::kAny, false, true},
        {"replyToId", ParamType::kNonEmptyString, false, true}},
       [d](const MethodCall& call) {
         if (getBool(call.params, "deliver").value_or(false))
           return call.error(notSupportedYet("chat.send deliver:true (channel delivery)"));
         auto turn =
             buildTurn(d.agents, *getString(call.params, "sessionKey"), getString(call.params, "agentId"), call.params,
                       "originatingChannel", std::chrono::milliseconds(intParam(call.params, "timeoutMs", 0)));
         if (!turn) return call.error(turn.error());
         call.reply->subscribeSession(turn->sessionKey);
         const auto& id = call.id;
         const auto& r = call.reply;
         startRun(
             d, id, r, std::move(*turn),
             [r, id](const TrackedRun& run) {
               r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "started"}}));
             },
             nullptr,
             [r, id](const TrackedRun& run) {
               if (!run.done) {
                 return r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "in_flight"}}));
               }
               if (run.outcome.error) {
                 auto payload = json::serialize(json::object{
                     {"runId", run.runId}, {"status", "error"}, {"summary", run.outcome.error->publicMessage()}});
                 return r->respondError(id, *run.outcome.error, payload);
               }
               r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "ok"}}));
             });
       }});
  if (!s) return s;
  s = registry.add(
      {"agent",
       protocol::Scope::kWrite,
       {{"message", ParamType::kNonEmptyString, true},
        {"idempotencyKey", ParamType::kNonEmptyString, true},
        {"agentId", ParamType::kNonEmptyString},
        {"sessionKey", ParamType::kString},
        {"sessionId", ParamType::kString, false, true},
        {"timeout", ParamType::kInteger},
        {"deliver", ParamType::kBoolean},
        {"thinking", ParamType::kString, false, true},
        {"label", ParamType::kString, false, true},
        {"channel", ParamType::kString},
        {"bestEffortDeliver", ParamType::kBoolean, false, true},
        {"lane", ParamType::kString, false, true},
        {"provider", ParamType::kString, false, true},
        {"model", ParamType::kString, false, true},
        {"to", ParamType::kString, false, true},
        {"replyTo", ParamType::kString, false, true},
        {"attachments", ParamType::kArray, false, true},
        {"extraSystemPrompt", ParamType::kString, false, true},
        {"cwd", ParamType::kNonEmptyString, false, true}},
       [d](const MethodCall& call) {
         if (getBool(call.params, "deliver").value_or(false))
           return call.error(notSupportedYet("agent deliver:true (channel delivery)"));
         std::string sessionKey(getString(call.params, "sessionKey").value_or(""));
         if (sessionKey.empty()) sessionKey = "main";
         // OpenClaw's `timeout` is in seconds.
         auto turn = buildTurn(d.agents, sessionKey, getString(call.params, "agentId"), call.params, "channel",
                               std::chrono::milliseconds(intParam(call.params, "timeout", 0) * 1000));
         if (!turn) return call.error(turn.error());
         call.reply->subscribeSession(turn->sessionKey);
         const auto& id = call.id;
         const auto& r = call.reply;
         auto now = d.clock->nowMs();
         auto sendFinal = [r, id](const TurnOutcome& o) {
           auto payload = outcomePayload(o);
           if (o.error) return r->respondError(id, *o.error, payload);
           r->respondOk(id, payload);
         };
         startRun(
             d, id, r, std::move(*turn),
             [r, id, now](const TrackedRun& run) {
               r->respondOk(id, json::serialize(json::object{{"runId", run.runId},
                                                             {"sessionKey", run.sessionKey},
                                                             {"agentId", run.agentId},
                                                             {"status", "accepted"},
                                                             {"acceptedAt", now}}));
             },
             sendFinal,
             [d, r, id, sendFinal](const TrackedRun& run) {
               if (run.done) return sendFinal(run.outcome);
               r->respondOk(id, json::serialize(json::object{{"runId", run.runId}, {"status", "accepted"}}));
               if (!d.runs.waitFor(run.runId, sendFinal)) {
                 r->respondError(id, Error(ErrorCode::kNotFound, "run not tracked", "run is no longer tracked"));
               }
             });
       }});
  if (!s) return s;
  // OpenClaw dist/chat-abort-handler-*.mjs: {sessionKey, runId?, agentId?} → {ok, aborted, runIds}; without a
  // runId every run of the session is aborted, queued ones first. The `chat` event with state "aborted"
  // comes from the runner.
  return registry.add({"chat.abort",
                       protocol::Scope::kWrite,
                       {{"sessionKey", ParamType::kNonEmptyString, true},
                        {"runId", ParamType::kNonEmptyString},
                        {"agentId", ParamType::kNonEmptyString}},
                       [d](const MethodCall& call) {
                         auto resolved = d.agents.resolveClientSession(*getString(call.params, "sessionKey"),
                                                                       getString(call.params, "agentId"));
                         if (!resolved) return call.error(resolved.error());
                         AbortResult result;
                         if (auto runId = getString(call.params, "runId")) {
                           auto r = d.runner.abort(std::string(*runId), resolved->second, "rpc");
                           if (!r) return call.error(r.error());
                           result = std::move(*r);
                         } else {
                           result = d.runner.abortSession(resolved->second, "rpc");
                         }
                         json::array runIds;
                         for (const auto& id : result.runIds) runIds.push_back(json::string(id));
                         call.ok(json::serialize(
                             json::object{{"ok", true}, {"aborted", result.aborted}, {"runIds", std::move(runIds)}}));
                       }});
}

}  // namespace talon::gateway::methods
