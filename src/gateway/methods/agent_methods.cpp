// The agents family: `agents.list` (OpenClaw 2026.9.6 shape, tests/data/wire/res.agents.list.json).
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {
namespace {

json::object agentRow(const AgentProfile& a) {
  json::object row{{"id", a.id}, {"workspace", a.workspace.string()}, {"workspaceGit", false}};
  if (!a.name.empty()) row["name"] = a.name;
  row["model"] = a.model.empty() ? json::value(nullptr) : json::value(json::object{{"primary", a.model}});
  return row;
}

std::string ownershipName(const AgentDirectory& agents) {
  return agents.roster().explicitOwnership() ? "explicit" : "sole";
}

struct AgentDeps {
  const AgentDirectory& agents;
  std::shared_ptr<const ConfigSnapshot> config;
};

}  // namespace

Status registerAgentMethods(MethodRegistry& registry, const GatewayServices& services) {
  const AgentDeps d{services.agents, services.config};
  return registry.add(
      {"agents.list", protocol::Scope::kRead, {}, [d](const MethodCall& call) {
         json::array agents;
         for (const auto& a : d.agents.profiles()) agents.push_back(agentRow(a));
         json::object payload{
             {"defaultId",
              d.agents.defaultAgentId().empty() ? json::value(nullptr) : json::value(d.agents.defaultAgentId())},
             {"ownership", ownershipName(d.agents)},
             {"selectionRequired", d.agents.defaultAgentId().empty()},
             {"mainKey", "main"},
             {"scope", d.config->config.session.dmScope == "main" ? "per-sender" : d.config->config.session.dmScope},
             {"agents", agents}};
         call.ok(json::serialize(payload));
       }});
}

}  // namespace talon::gateway::methods
