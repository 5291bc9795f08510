#include "config/heartbeat_config.h"

namespace talon::config {

namespace {

template <typename T>
void over(std::optional<T>& base, const std::optional<T>& top) {
  if (top) base = top;
}

HeartbeatConfig merge(const std::optional<HeartbeatConfig>& defaults, const HeartbeatConfig& entry) {
  HeartbeatConfig out = defaults.value_or(HeartbeatConfig{});
  out.agentId.reset();
  over(out.everyMs, entry.everyMs);
  over(out.prompt, entry.prompt);
  over(out.target, entry.target);
  over(out.to, entry.to);
  over(out.accountId, entry.accountId);
  over(out.directPolicy, entry.directPolicy);
  over(out.activeHours, entry.activeHours);
  over(out.timeoutSeconds, entry.timeoutSeconds);
  over(out.session, entry.session);
  over(out.isolatedSession, entry.isolatedSession);
  return out;
}

}  // namespace

std::vector<EffectiveHeartbeat> effectiveHeartbeats(const AgentsConfig& agents) {
  std::vector<EffectiveHeartbeat> out;
  for (const auto& entry : agents.entries) {
    if (!entry.heartbeat) continue;
    out.push_back(EffectiveHeartbeat{entry.id, merge(agents.defaults.heartbeat, *entry.heartbeat),
                                     "agents.entries." + entry.id + ".heartbeat"});
  }
  if (!out.empty() || !agents.defaults.heartbeat) return out;
  const HeartbeatConfig& shared = *agents.defaults.heartbeat;
  for (const auto& entry : agents.entries) {
    if (shared.agentId && *shared.agentId != entry.id) continue;
    HeartbeatConfig config = shared;
    config.agentId.reset();
    out.push_back(EffectiveHeartbeat{entry.id, std::move(config), "agents.defaults.heartbeat"});
  }
  return out;
}

}  // namespace talon::config
