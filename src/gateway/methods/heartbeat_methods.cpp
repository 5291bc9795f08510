// OpenClaw's heartbeat controls (dist server-methods/system: "last-heartbeat", "set-heartbeats"), over
// automation/heartbeat_service.h:
//   last-heartbeat {} → the last `heartbeat` event ({ts, status, reason?, preview?, channel?, to?,
//     accountId?, durationMs, indicatorType?, agentId, runId?}), or null before the first one
//   set-heartbeats {enabled: boolean} → {ok: true, enabled}; turns every agent's heartbeat on or off (on
//     also re-enables a heartbeat its escalation disabled). Audited ("heartbeat.set").
// Without heartbeats (none configured, or no service wired) last-heartbeat answers null, as OpenClaw does
// before its first heartbeat, and set-heartbeats answers {ok, enabled} with nothing to change.
#include "gateway/automation/heartbeat_service.h"
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerHeartbeatMethods(MethodRegistry& registry, const GatewayServices& services) {
  automation::HeartbeatService* heartbeat = services.heartbeat;

  if (auto s = registry.add({"last-heartbeat",
                             protocol::Scope::kRead,
                             {},
                             [heartbeat](const MethodCall& call) {
                               std::optional<json::object> last = heartbeat ? heartbeat->lastEvent() : std::nullopt;
                               call.ok(last ? json::serialize(*last) : std::string("null"));
                             }});
      !s) {
    return s;
  }
  return registry.add({"set-heartbeats",
                       protocol::Scope::kAdmin,
                       {{"enabled", ParamType::kBoolean, true}},
                       [heartbeat](const MethodCall& call) {
                         const bool enabled = call.params.at("enabled").as_bool();
                         if (heartbeat) {
                           heartbeat->setEnabled(enabled, call.caller->auditActor());
                         }
                         call.ok(json::serialize(json::object{{"ok", true}, {"enabled", enabled}}));
                       }});
}

}  // namespace talon::gateway::methods
