// The run family (Talon-only; docs/runs.md), over agent/run_replay.h:
//   runs.replay {runId} → {runId, replayRunId, sessionKey, agentId, status, error?, modelAnswers, modelSteps,
//     toolsRun, toolsFromRecord}, answered when the replay has ended.
// A replay runs the agent's tools without side effects for real, so it needs operator.admin; an operator
// role limited to some agents may replay only their runs. Every replay is an audit record ("run.replay").
#include <algorithm>

#include "gateway/agent/run_replay.h"
#include "gateway/methods/builtin_methods.h"
#include "security/audit_sink.h"
#include "store/run_repository.h"

namespace talon::gateway::methods {
namespace {

json::object resultJson(const ReplayResult& r) {
  json::object o{{"runId", r.runId},           {"replayRunId", r.replayRunId}, {"sessionKey", r.sessionKey},
                 {"agentId", r.agentId},       {"status", r.status},           {"modelAnswers", r.modelAnswers},
                 {"modelSteps", r.modelSteps}, {"toolsRun", r.toolsRun},       {"toolsFromRecord", r.toolsFromRecord}};
  if (!r.error.empty()) o["error"] = r.error;
  return o;
}

}  // namespace

Status registerRunMethods(MethodRegistry& registry, const GatewayServices& services) {
  RunReplayer* replayer = services.replayer;
  store::Store* store = &services.store;
  security::AuditSink* audit = &services.audit;
  Executors executors = services.executors;
  return registry.add(
      {"runs.replay",
       protocol::Scope::kAdmin,
       {{"runId", ParamType::kNonEmptyString, true}},
       [replayer, store, audit, executors](const MethodCall& call) {
         if (replayer == nullptr) {
           return call.error(Error(ErrorCode::kUnavailable, "no run replayer is wired", "run replay is unavailable"));
         }
         std::string runId(*getString(call.params, "runId"));
         executors.blocking([replayer, store, audit, call, runId] {
           if (call.caller->agents) {
             auto run = store::RunRepository(*store).get(runId);
             if (!run) return call.error(run.error());
             const auto& allowed = *call.caller->agents;
             if (*run && std::find(allowed.begin(), allowed.end(), (*run)->agentId) == allowed.end()) {
               std::string why = "the operator role may not run agent " + (*run)->agentId;
               audit->record(security::AuditEvent{"run.replay", call.caller->auditActor(), runId,
                                                  security::AuditOutcome::kDenied, json::object{{"reason", why}}});
               return call.error(Error(ErrorCode::kPermissionDenied, why, why));
             }
           }
           replayer->replay(runId, [audit, call, runId](Result<ReplayResult> r) {
             security::AuditEvent e;
             e.kind = "run.replay";
             e.actor = call.caller->auditActor();
             e.target = runId;
             if (!r) {
               e.outcome = security::AuditOutcome::kFailed;
               e.details = json::object{{"error", r.error().publicMessage()}};
               audit->record(std::move(e));
               return call.error(r.error());
             }
             e.details = json::object{{"replayRunId", r->replayRunId}, {"status", r->status}};
             audit->record(std::move(e));
             call.ok(json::serialize(resultJson(*r)));
           });
         });
       }});
}

}  // namespace talon::gateway::methods
