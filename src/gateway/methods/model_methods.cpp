// The models family: `models.list` (OpenClaw 2026.9.6 shape, tests/data/wire/res.models.list.json).
#include "gateway/methods/builtin_methods.h"

namespace talon::gateway::methods {

Status registerModelMethods(MethodRegistry& registry, const GatewayServices& services) {
  return registry.add(
      {"models.list",
       protocol::Scope::kRead,
       {{"view", ParamType::kString},
        {"includeDetails", ParamType::kBoolean},
        {"provider", ParamType::kString},
        {"agentId", ParamType::kString},
        {"sessionKey", ParamType::kString}},
       [config = services.config](const MethodCall& call) {
         auto providerFilter = getString(call.params, "provider");
         json::array models;
         for (const auto& prov : config->config.providers) {
           if (providerFilter && *providerFilter != prov.id) continue;
           for (const auto& m : prov.models) {
             json::object row{
                 {"id", m.id}, {"name", m.name.empty() ? m.id : m.name}, {"provider", prov.id}, {"api", prov.api}};
             if (m.contextWindow) row["contextWindow"] = *m.contextWindow;
             if (m.maxTokens) row["maxTokens"] = *m.maxTokens;
             row["available"] = prov.apiKeyUnavailable.empty();
             models.push_back(std::move(row));
           }
         }
         call.ok(json::serialize(json::object{{"models", models}}));
       }});
}

}  // namespace talon::gateway::methods
