#include "config/model_selection.h"

#include <algorithm>

namespace talon::config {

ModelSelection agentModelSelection(const TalonConfig& config, std::string_view agentId) {
  const AgentEntryConfig* entry = nullptr;
  for (const auto& e : config.agents.entries) {
    if (e.id == agentId) entry = &e;
  }
  const ModelRef& defaults = config.agents.defaults.model;
  ModelSelection s;
  if (entry && !entry->model.primary.empty()) {
    s.primary = entry->model.primary;
    s.source = "agent";
    if (entry->model.fallbacksSet) {
      s.fallbacks = entry->model.fallbacks;
      s.fallbackSource = "agent";
    } else {
      s.fallbackSource = "strict";
    }
    return s;
  }
  s.primary = defaults.primary;
  s.source = "defaults";
  if (entry && entry->model.fallbacksSet) {
    s.fallbacks = entry->model.fallbacks;
    s.fallbackSource = "agent";
  } else {
    s.fallbacks = defaults.fallbacks;
    s.fallbackSource = "defaults";
  }
  return s;
}

std::vector<AgentModelRow> agentModelRows(const TalonConfig& config) {
  std::vector<AgentModelRow> rows;
  auto describe = [&](AgentModelRow row) {
    auto slash = row.ref.find('/');
    row.provider = slash == std::string::npos ? "openai" : row.ref.substr(0, slash);
    const ProviderConfig* provider = nullptr;
    for (const auto& p : config.providers) {
      if (p.id == row.provider) provider = &p;
    }
    if (provider == nullptr) {
      row.providerSource = "missing";
      row.key = "none";
      row.unavailable = "provider \"" + row.provider + "\" is not configured (models.providers." + row.provider + ")";
      return row;
    }
    row.providerSource = provider->source;
    row.api = provider->api;
    row.baseUrl = provider->baseUrl;
    if (!provider->apiKeyEnv.empty()) {
      row.key = "env:" + provider->apiKeyEnv;
    } else if (!provider->apiKey.empty()) {
      row.key = "config";
    } else {
      row.key = "none";
    }
    row.unavailable = provider->apiKeyUnavailable;
    return row;
  };
  for (const auto& entry : config.agents.entries) {
    ModelSelection s = agentModelSelection(config, entry.id);
    std::vector<std::string> seen;
    auto add = [&](const std::string& ref, std::string role, std::string why) {
      if (ref.empty() || std::find(seen.begin(), seen.end(), ref) != seen.end()) return;
      seen.push_back(ref);
      AgentModelRow row;
      row.agentId = entry.id;
      row.ref = ref;
      row.role = std::move(role);
      row.why = std::move(why);
      rows.push_back(describe(std::move(row)));
    };
    const std::string own = "agents.entries." + entry.id + ".model";
    add(s.primary, "primary", (s.source == "agent" ? own : std::string("agents.defaults.model")) + ".primary");
    for (const auto& f : s.fallbacks) {
      add(f, "fallback", (s.fallbackSource == "agent" ? own : std::string("agents.defaults.model")) + ".fallbacks");
    }
    for (const auto& p : config.providers) {
      for (const auto& m : p.models) add(p.id + "/" + m.id, "configured", "models.providers." + p.id + ".models");
    }
  }
  return rows;
}

}  // namespace talon::config
