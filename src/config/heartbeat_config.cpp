#include "config/heartbeat_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "config/config_reader.h"
#include "config/model_selection.h"

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
  over(out.model, entry.model);
  over(out.lightContext, entry.lightContext);
  return out;
}

}  // namespace

std::vector<EffectiveHeartbeat> effectiveHeartbeats(const AgentsConfig& agents) {
  std::vector<EffectiveHeartbeat> out;
  for (const auto& entry : agents.entries) {
    if (!entry.heartbeat) continue;
    out.push_back(EffectiveHeartbeat{entry.id, merge(agents.defaults.heartbeat, *entry.heartbeat),
                                     "agents.entries." + entry.id + ".heartbeat", false});
  }
  if (!out.empty()) return out;
  if (!agents.defaults.heartbeat) {
    // The implicit heartbeat of the ambient owner: the sole agent (see the header).
    if (agents.entries.size() == 1) {
      out.push_back(
          EffectiveHeartbeat{agents.entries.front().id, HeartbeatConfig{}, "agents.defaults.heartbeat", true});
    }
    return out;
  }
  const HeartbeatConfig& shared = *agents.defaults.heartbeat;
  for (const auto& entry : agents.entries) {
    if (shared.agentId && *shared.agentId != entry.id) continue;
    HeartbeatConfig config = shared;
    config.agentId.reset();
    out.push_back(EffectiveHeartbeat{entry.id, std::move(config), "agents.defaults.heartbeat", false});
  }
  return out;
}

bool heartbeatOwnerUnresolved(const AgentsConfig& agents) {
  return agents.entries.size() > 1 && effectiveHeartbeats(agents).empty();
}

std::string heartbeatModelPath(const AgentsConfig& agents, const EffectiveHeartbeat& hb) {
  for (const auto& entry : agents.entries) {
    if (entry.id == hb.agentId && entry.heartbeat && entry.heartbeat->model) {
      return "agents.entries." + entry.id + ".heartbeat.model";
    }
  }
  return "agents.defaults.heartbeat.model";
}

Result<std::optional<HeartbeatModel>> resolveHeartbeatModel(const TalonConfig& config, const EffectiveHeartbeat& hb) {
  if (!hb.config.model) return std::optional<HeartbeatModel>{};
  const std::string path = heartbeatModelPath(config.agents, hb);
  auto invalid = [&](const std::string& why) {
    std::string text = fmt::format("{}: {}", path, why);
    return fail(ErrorCode::kInvalidArgument, text, text);
  };
  auto resolved = resolveModelRef(config, hb.agentId, *hb.config.model);
  if (!resolved) return invalid("expected \"provider/model\" or an alias, got an empty string");
  ModelPolicyDecision policy = checkModelPolicy(config, hb.agentId, resolved->ref);
  if (!policy.allowed) return invalid(policy.message);
  const std::string provider = resolved->ref.substr(0, resolved->ref.find('/'));
  if (std::none_of(config.providers.begin(), config.providers.end(),
                   [&](const ProviderConfig& p) { return p.id == provider; })) {
    return invalid(fmt::format("model \"{}\" needs provider \"{}\", which is not configured (models.providers.{})",
                               resolved->ref, provider, provider));
  }
  HeartbeatModel model;
  model.ref = resolved->ref;
  model.params = effectiveModelParams(config, hb.agentId, resolved->ref);
  return std::optional<HeartbeatModel>{std::move(model)};
}

void checkHeartbeatModels(ConfigReader& r, const TalonConfig& config) {
  for (const auto& hb : effectiveHeartbeats(config.agents)) {
    auto model = resolveHeartbeatModel(config, hb);
    if (model) continue;
    // The node of the key: agents.entries.<id>.heartbeat.model or agents.defaults.heartbeat.model.
    const std::string path = heartbeatModelPath(config.agents, hb);
    ConfigNode agents = r.child(r.root(), "agents");
    ConfigNode block = path.rfind("agents.entries.", 0) == 0
                           ? r.child(r.child(r.child(agents, "entries"), hb.agentId, "*"), "heartbeat")
                           : r.child(r.child(agents, "defaults"), "heartbeat");
    std::string message = model.error().message;
    if (message.rfind(path + ": ", 0) == 0) message = message.substr(path.size() + 2);
    r.error(r.child(block, "model"), DiagnosticCode::kValue, message);
  }
}

}  // namespace talon::config
