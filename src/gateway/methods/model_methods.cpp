// The models family: `models.list` (OpenClaw 2026.9.6 shape, tests/data/wire/res.models.list.json): the
// configured models of every provider, then the discovered ones (providers/model_discovery.h: an Ollama
// provider without a `models` list lists what its server has pulled, as OpenClaw's implicit discovery).
// A discovered row carries what the capability probe found, with OpenClaw's public projection's names
// (dist models-list-result-*.mjs buildPublicModelProjection): contextWindow, reasoning, supportsTools,
// and `input` when the caller asks `includeDetails`.
#include "gateway/methods/builtin_methods.h"
#include "gateway/providers/model_discovery.h"

namespace talon::gateway::methods {
namespace {

/// How long models.list waits for a provider's inventory.
constexpr std::chrono::seconds kModelsListDiscoveryTimeout{5};

json::array configuredModelRows(const config::TalonConfig& config, const std::optional<std::string_view>& provider) {
  json::array models;
  for (const auto& prov : config.providers) {
    if (provider && *provider != prov.id) continue;
    for (const auto& m : prov.models) {
      json::object row{
          {"id", m.id}, {"name", m.name.empty() ? m.id : m.name}, {"provider", prov.id}, {"api", prov.api}};
      if (m.contextWindow) row["contextWindow"] = *m.contextWindow;
      if (m.maxTokens) row["maxTokens"] = *m.maxTokens;
      row["available"] = prov.apiKeyUnavailable.empty();
      models.push_back(std::move(row));
    }
  }
  return models;
}

}  // namespace

Status registerModelMethods(MethodRegistry& registry, const GatewayServices& services) {
  return registry.add({"models.list",
                       protocol::Scope::kRead,
                       {{"view", ParamType::kString},
                        {"includeDetails", ParamType::kBoolean},
                        {"provider", ParamType::kString},
                        {"agentId", ParamType::kString},
                        {"sessionKey", ParamType::kString}},
                       [config = services.config, discovery = services.modelDiscovery](const MethodCall& call) {
                         std::optional<std::string_view> providerFilter = getString(call.params, "provider");
                         json::array models = configuredModelRows(config->config, providerFilter);
                         std::vector<config::ProviderConfig> discovered;
                         for (const auto& prov : config->config.providers) {
                           if ((!providerFilter || *providerFilter == prov.id) && ModelDiscovery::discovers(prov)) {
                             discovered.push_back(prov);
                           }
                         }
                         const bool details = getBool(call.params, "includeDetails").value_or(false);
                         if (discovered.empty() || discovery == nullptr) {
                           return call.ok(json::serialize(json::object{{"models", std::move(models)}}));
                         }
                         std::map<std::string, std::string> apis;
                         for (const auto& prov : discovered) apis[prov.id] = prov.api;
                         discovery->inventories(std::move(discovered), kModelsListDiscoveryTimeout,
                                                [call, details, models = std::move(models),
                                                 apis = std::move(apis)](std::vector<DiscoveredModels> found) mutable {
                                                  // A failed query answers the last inventory (or none); the failure is
                                                  // a warning in the log.
                                                  for (const auto& provider : found) {
                                                    for (const auto& m : provider.models) {
                                                      json::object row{{"id", m.id},
                                                                       {"name", m.id},
                                                                       {"provider", provider.provider},
                                                                       {"api", apis[provider.provider]},
                                                                       {"available", true},
                                                                       {"contextWindow", m.contextWindow},
                                                                       {"reasoning", m.reasoning},
                                                                       {"supportsTools", m.supportsTools}};
                                                      if (details) {
                                                        json::array input;
                                                        for (const auto& i : m.input) input.emplace_back(i);
                                                        row["input"] = std::move(input);
                                                      }
                                                      models.push_back(std::move(row));
                                                    }
                                                  }
                                                  call.ok(json::serialize(json::object{{"models", std::move(models)}}));
                                                });
                       }});
}

}  // namespace talon::gateway::methods
