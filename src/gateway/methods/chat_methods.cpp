// The chat family: `chat.send` and `agent` start turns (with idempotency), answered as OpenClaw 2026.9.6
// does (reference/openclaw-protocol.md "Core methods"). A chat.send message that invokes a chat command
// (`/compact`, chat_commands/chat_command_registry.h) starts no turn: the command's answer is the final
// chat event of the request's runId.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/model_selection.h"
#include "gateway/agent/run_events.h"
#include "gateway/chat_commands/chat_command_registry.h"
#include "gateway/message_limits.h"
#include "gateway/methods/builtin_methods.h"
#include "gateway/methods/payloads.h"
#include "security/audit_sink.h"

namespace talon::gateway::methods {
namespace {

struct ChatDeps {
  const AgentDirectory& agents;
  store::Store& store;
  AgentRunner& runner;
  RunRegistry& runs;
  Executors executors;
  ClockPtr clock;
  /// gateway.limits.maxMessageBytes.
  int64_t maxMessageBytes;
  /// The config the gateway started with (aliases, modelPolicy and params for model overrides).
  const config::TalonConfig* config;
  security::AuditSink& audit;
  EventBus& bus;
  /// The chat commands chat.send answers itself; null: none.
  const chat_commands::ChatCommandRegistry* commands;
};

/// Applies `agent`'s `provider`/`model` override to `turn` as OpenClaw's agent command does: resolved
/// through the agent's aliases (config/model_selection.h), checked against its modelPolicy (OpenClaw's
/// refusal message), strict, with the ref's merged params. Errors: kInvalidArgument.
Status applyModelOverride(const config::TalonConfig& config, const json::object& params, TurnRequest& turn) {
  auto model = getString(params, "model");
  auto provider = getString(params, "provider");
  if (!model && !provider) return {};
  if (!model || model->empty())
    return fail(ErrorCode::kInvalidArgument, "Invalid model override.", "Invalid model override.");
  std::string raw =
      provider && !provider->empty() ? std::string(*provider) + "/" + std::string(*model) : std::string(*model);
  auto resolved = config::resolveModelRef(config, turn.agentId, raw);
  if (!resolved) return fail(ErrorCode::kInvalidArgument, "Invalid model override.", "Invalid model override.");
  config::ModelPolicyDecision decision = config::checkModelPolicy(config, turn.agentId, resolved->ref);
  if (!decision.allowed) return fail(ErrorCode::kInvalidArgument, decision.message, decision.message);
  config::ModelParams p = config::effectiveModelParams(config, turn.agentId, resolved->ref);
  turn.modelOverride = resolved->ref;
  turn.modelOverrideParams = ModelCallParams{p.temperature, p.maxTokens};
  return {};
}

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
    // The key's TTL may have passed (gateway.idempotency.ttlSeconds: the pruner released it), but
    // chat.send and agent use the key as the runId, which stays unique in the run ledger: the run it
    // named still answers, and no second run can take its id. Both lookups in one read.
    auto previous = d.store.idempotency().findRunOrRun(turn.idempotencyKey, turn.runId);
    if (!previous) {
      d.runs.complete(turn.idempotencyKey, failedOutcome(turn.runId, turn.sessionKey, turn.agentId, previous.error()));
      return r->respondError(requestId, previous.error());
    }
    if (*previous) {
      TrackedRun old{(*previous)->runId, (*previous)->sessionKey, (*previous)->agentId, true,
                     storedRunOutcome(**previous)};
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

/// Refuses a run of `agentId` by a caller whose operator role does not list it (gateway.roles.definitions
/// .*.agents, OpenClaw: "The allowlist also applies when a run targets an already-existing session"),
/// and audits the refusal. Errors: kPermissionDenied.
Status checkAgentAllowed(const ChatDeps& d, const MethodCaller& caller, const std::string& agentId,
                         std::string_view method) {
  if (!caller.agents) return {};
  if (std::find(caller.agents->begin(), caller.agents->end(), agentId) != caller.agents->end()) return {};
  security::AuditEvent e;
  e.kind = "access.agent";
  e.actor = "operator-token:" + caller.operatorToken;
  e.target = agentId;
  e.outcome = security::AuditOutcome::kDenied;
  e.details = {{"tokenRole", caller.operatorRole}, {"via", method}};
  d.audit.record(std::move(e));
  std::string msg = "role \"" + caller.operatorRole + "\" may not run agent \"" + agentId + "\"";
  return fail(ErrorCode::kPermissionDenied, msg, msg);
}

/// The turn of a chat.send / agent request: its session resolved, the idempotencyKey as runId; refused
/// when the caller's role may not run the agent.
Result<TurnRequest> buildTurn(const ChatDeps& d, const MethodCaller& caller, std::string_view method,
                              std::string_view sessionKey, std::optional<std::string_view> agentId,
                              const json::object& params, std::string_view channelParam,
                              std::chrono::milliseconds timeout) {
  const AgentDirectory& agents = d.agents;
  if (auto s = checkMessageSize(*getString(params, "message"), d.maxMessageBytes); !s) return fail(s.error());
  auto resolved = agents.resolveClientSession(sessionKey, agentId);
  if (!resolved) return fail(resolved.error());
  if (auto s = checkAgentAllowed(d, caller, resolved->first, method); !s) return fail(s.error());
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

/// Runs the chat command `command` that `turn`'s message invokes, for `turn`'s session: answers the request
/// {runId, status: "started"} at once, then publishes the command's reply as the run's final chat event
/// (OpenClaw's shape, stopReason "stop", usage 0) to the session's subscribers. No run is recorded.
void runChatCommand(const ChatDeps& d, const MethodCall& call, const TurnRequest& turn,
                    chat_commands::ChatCommandMatch command) {
  spdlog::info("chat.send: /{} for session {} (run {})", command.spec->name, turn.sessionKey, turn.runId);
  call.reply->respondOk(call.id, json::serialize(json::object{{"runId", turn.runId}, {"status", "started"}}));
  chat_commands::ChatCommandCall invocation{turn.agentId, turn.sessionKey, turn.channel, "", std::move(command.args)};
  command.spec->run(
      std::move(invocation), [bus = &d.bus, runId = turn.runId, sessionKey = turn.sessionKey](std::string text) {
        RunEventEncoder events(runId, sessionKey);
        bus->publish(GatewayEvent{"chat", sessionKey, runId,
                                  std::make_shared<const std::string>(events.chatFinal(text, TokenUsage{}, "stop"))});
      });
}

}  // namespace

Status registerChatMethods(MethodRegistry& registry, const GatewayServices& services) {
  const ChatDeps d{services.agents,
                   services.store,
                   services.runner,
                   services.runs,
                   services.executors,
                   services.clock,
                   services.config->config.gateway.limits.maxMessageBytes,
                   &services.config->config,
                   services.audit,
                   services.bus,
                   services.chatCommands};
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
         auto turn = buildTurn(d, *call.caller, "chat.send", *getString(call.params, "sessionKey"),
                               getString(call.params, "agentId"), call.params, "originatingChannel",
                               std::chrono::milliseconds(intParam(call.params, "timeoutMs", 0)));
         if (!turn) return call.error(turn.error());
         turn->trace = call.trace;
         call.reply->subscribeSession(turn->sessionKey);
         if (d.commands != nullptr) {
           if (auto command = d.commands->match(turn->message))
             return runChatCommand(d, call, *turn, std::move(*command));
         }
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
        {"provider", ParamType::kString},
        {"model", ParamType::kString},
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
         auto turn = buildTurn(d, *call.caller, "agent", sessionKey, getString(call.params, "agentId"), call.params,
                               "channel", std::chrono::milliseconds(intParam(call.params, "timeout", 0) * 1000));
         if (!turn) return call.error(turn.error());
         turn->trace = call.trace;
         if (auto s = applyModelOverride(*d.config, call.params, *turn); !s) return call.error(s.error());
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
