#include "config/model_selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "config/config_reader.h"

namespace talon::config {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

const AgentEntryConfig* findEntry(const TalonConfig& config, std::string_view agentId) {
  for (const auto& e : config.agents.entries) {
    if (e.id == agentId) return &e;
  }
  return nullptr;
}

/// "provider/model" with the provider lower-cased and trimmed; nullopt without a "/" or with an empty part.
std::optional<std::string> normalizeRef(std::string_view raw) {
  raw = trim(raw);
  auto slash = raw.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == raw.size()) return std::nullopt;
  return lower(trim(raw.substr(0, slash))) + "/" + std::string(trim(raw.substr(slash + 1)));
}

bool isWildcard(std::string_view ref) { return ref.size() >= 2 && ref.substr(ref.size() - 2) == "/*"; }

/// The effective aliases of an agent, alias (lower-case) -> ref; later entries win per ref and per alias.
std::vector<std::pair<std::string, std::string>> effectiveAliases(const TalonConfig& config, std::string_view agentId) {
  std::vector<const ModelEntryConfig*> candidates;
  for (const auto& m : config.agents.defaults.models) candidates.push_back(&m);
  if (const AgentEntryConfig* e = findEntry(config, agentId)) {
    for (const auto& m : e->models) candidates.push_back(&m);
  }
  // OpenClaw buildEffectiveModelAliases: per ref key, the last entry with `alias` decides ("" disables).
  std::vector<std::pair<std::string, std::string>> byRef;  // (ref, alias), in last-set order
  for (const ModelEntryConfig* c : candidates) {
    if (!c->alias || isWildcard(c->ref)) continue;
    auto ref = normalizeRef(c->ref);
    if (!ref) continue;
    byRef.erase(std::remove_if(byRef.begin(), byRef.end(), [&](const auto& p) { return p.first == *ref; }),
                byRef.end());
    byRef.emplace_back(*ref, std::string(trim(*c->alias)));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [ref, alias] : byRef) {
    if (!alias.empty()) out.emplace_back(lower(alias), ref);
  }
  return out;
}

/// The provider of a bare model id when exactly one configured entry lists it (OpenClaw
/// inferUniqueProviderFromConfiguredModels): the agent's `models` keys decide when they list it at all.
std::optional<std::string> uniqueConfiguredProvider(const TalonConfig& config, std::string_view agentId,
                                                    std::string_view model) {
  auto collect = [&](const std::vector<ModelEntryConfig>& models, std::set<std::string>& providers) {
    for (const auto& m : models) {
      if (isWildcard(m.ref)) continue;
      auto ref = normalizeRef(m.ref);
      if (!ref) continue;
      auto slash = ref->find('/');
      if (lower(ref->substr(slash + 1)) == lower(model)) providers.insert(ref->substr(0, slash));
    }
  };
  if (const AgentEntryConfig* e = findEntry(config, agentId)) {
    std::set<std::string> own;
    collect(e->models, own);
    if (!own.empty()) return own.size() == 1 ? std::optional<std::string>(*own.begin()) : std::nullopt;
  }
  std::set<std::string> providers;
  collect(config.agents.defaults.models, providers);
  for (const auto& p : config.providers) {
    if (p.source != "config") continue;
    for (const auto& m : p.models) {
      if (lower(m.id) == lower(model)) providers.insert(p.id);
    }
  }
  return providers.size() == 1 ? std::optional<std::string>(*providers.begin()) : std::nullopt;
}

void mergeParams(ModelParams& into, const ModelParams& layer) {
  if (layer.temperature) into.temperature = layer.temperature;
  if (layer.maxTokens) into.maxTokens = layer.maxTokens;
}

const ModelParams* paramsFor(const std::vector<ModelEntryConfig>& models, std::string_view ref) {
  const ModelParams* found = nullptr;
  for (const auto& m : models) {
    if (auto r = normalizeRef(m.ref); r && *r == ref) found = &m.params;
  }
  return found;
}

}  // namespace

std::optional<ResolvedModelRef> resolveModelRef(const TalonConfig& config, std::string_view agentId,
                                                std::string_view raw) {
  raw = trim(raw);
  if (raw.empty()) return std::nullopt;
  const std::string key = lower(raw);
  const auto aliases = effectiveAliases(config, agentId);
  for (auto it = aliases.rbegin(); it != aliases.rend(); ++it) {
    if (it->first == key) return ResolvedModelRef{it->second, std::string(raw), "alias"};
  }
  if (auto ref = normalizeRef(raw)) return ResolvedModelRef{*ref, "", "ref"};
  if (raw.find('/') != std::string_view::npos) return std::nullopt;  // "/x" or "x/"
  if (auto provider = uniqueConfiguredProvider(config, agentId, raw)) {
    return ResolvedModelRef{*provider + "/" + std::string(raw), "", "configured"};
  }
  return ResolvedModelRef{std::string(kDefaultModelProvider) + "/" + std::string(raw), "", "default-provider"};
}

ModelPolicyDecision checkModelPolicy(const TalonConfig& config, std::string_view agentId, std::string_view ref) {
  ModelPolicyDecision d;
  const AgentEntryConfig* entry = findEntry(config, agentId);
  const ModelPolicyConfig* policy = nullptr;
  std::string path;
  if (entry && entry->modelPolicy.allowSet) {
    policy = &entry->modelPolicy;
    path = "agents.entries.*.modelPolicy.allow";
  } else if (config.agents.defaults.modelPolicy.allowSet) {
    policy = &config.agents.defaults.modelPolicy;
    path = "agents.defaults.modelPolicy.allow";
  }
  if (policy == nullptr || policy->allow.empty()) {
    d.by = policy == nullptr ? "any (no modelPolicy)" : path + " (empty: any)";
    return d;
  }
  d.by = path;
  const std::string key = normalizeRef(ref).value_or(std::string(ref));
  for (const auto& raw : policy->allow) {
    std::string_view entryRaw = trim(raw);
    if (entryRaw.empty()) continue;
    if (isWildcard(entryRaw)) {
      // "provider/*" or "provider/seg/*": every ref under that prefix (OpenClaw isModelKeyAllowedBySet).
      std::string_view body = entryRaw.substr(0, entryRaw.size() - 1);  // keeps the trailing "/"
      auto slash = body.find('/');
      const std::string prefix = lower(trim(body.substr(0, slash))) + std::string(body.substr(slash));
      if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0) return d;
      continue;
    }
    if (auto r = resolveModelRef(config, agentId, entryRaw); r && r->ref == key) return d;
  }
  d.allowed = false;
  const std::string provider = key.substr(0, key.find('/'));
  d.message = fmt::format(
      "Model override \"{}\" is not allowed for agent \"{}\" by {}. Add \"{}\" or \"{}/*\" to {}, or remove/empty the "
      "list to allow any model.",
      key, agentId, path, key, provider, path);
  return d;
}

ModelParams effectiveModelParams(const TalonConfig& config, std::string_view agentId, std::string_view ref) {
  const std::string key = normalizeRef(ref).value_or(std::string(ref));
  ModelParams p = config.agents.defaults.params;
  if (const ModelParams* m = paramsFor(config.agents.defaults.models, key)) mergeParams(p, *m);
  if (const AgentEntryConfig* e = findEntry(config, agentId)) {
    if (const ModelParams* m = paramsFor(e->models, key)) mergeParams(p, *m);
    mergeParams(p, e->params);
  }
  return p;
}

void resolveConfiguredModelRefs(ConfigReader& r, TalonConfig& config) {
  ConfigNode agents = r.child(r.root(), "agents");
  auto warnDuplicateAliases = [&](const std::vector<ModelEntryConfig>& models, const ConfigNode& node) {
    std::map<std::string, std::string> seen;  // alias -> ref
    for (const auto& m : models) {
      if (!m.alias || m.alias->empty()) continue;
      auto [it, inserted] = seen.emplace(lower(*m.alias), m.ref);
      if (!inserted && it->second != m.ref) {
        r.warning(r.child(r.child(node, m.ref, "*"), "alias"), DiagnosticCode::kValue,
                  fmt::format("alias {} also names {}; the later entry wins", ConfigReader::quoted(*m.alias),
                              ConfigReader::quoted(it->second)));
      }
    }
  };
  auto resolveRef = [&](std::string& ref, std::string_view agentId, const ConfigNode& at) {
    if (ref.empty()) return;
    auto resolved = resolveModelRef(config, agentId, ref);
    if (!resolved) {
      r.error(at, DiagnosticCode::kValue,
              fmt::format("invalid model ref {}: expected \"provider/model\" or an alias", ConfigReader::quoted(ref)));
      return;
    }
    if (resolved->how == "default-provider") {
      r.warning(at, DiagnosticCode::kValue,
                fmt::format("bare model id {} is neither an alias nor a configured model; using the default provider: "
                            "{} (deprecated — write \"provider/model\")",
                            ConfigReader::quoted(ref), ConfigReader::quoted(resolved->ref)));
    }
    ref = resolved->ref;
  };
  auto resolveModel = [&](ModelRef& m, std::string_view agentId, const ConfigNode& node) {
    resolveRef(m.primary, agentId, m.primary.empty() ? node : r.child(node, "primary"));
    ConfigNode fallbacks = r.child(node, "fallbacks");
    for (std::size_t i = 0; i < m.fallbacks.size(); ++i) resolveRef(m.fallbacks[i], agentId, r.item(fallbacks, i));
  };
  ConfigNode defaults = r.child(agents, "defaults");
  warnDuplicateAliases(config.agents.defaults.models, r.child(defaults, "models"));
  // The defaults' refs resolve with the defaults' aliases only (no agent id).
  resolveModel(config.agents.defaults.model, "", r.child(defaults, "model"));
  if (config.agents.implicitMain) return;
  ConfigNode entries = r.child(agents, "entries");
  for (auto& e : config.agents.entries) {
    ConfigNode node = r.child(entries, e.id, "*");
    warnDuplicateAliases(e.models, r.child(node, "models"));
    resolveModel(e.model, e.id, r.child(node, "model"));
  }
}

ModelSelection agentModelSelection(const TalonConfig& config, std::string_view agentId) {
  const AgentEntryConfig* entry = findEntry(config, agentId);
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
      for (const auto& [alias, target] : effectiveAliases(config, entry.id)) {
        if (target == ref) row.alias = alias;
      }
      ModelPolicyDecision policy = checkModelPolicy(config, entry.id, ref);
      row.allowedBy = policy.allowed ? policy.by : "refused by " + policy.by;
      rows.push_back(describe(std::move(row)));
    };
    const std::string own = "agents.entries." + entry.id + ".model";
    add(s.primary, "primary", (s.source == "agent" ? own : std::string("agents.defaults.model")) + ".primary");
    for (const auto& f : s.fallbacks) {
      add(f, "fallback", (s.fallbackSource == "agent" ? own : std::string("agents.defaults.model")) + ".fallbacks");
    }
    auto addEntries = [&](const std::vector<ModelEntryConfig>& models, const std::string& why) {
      for (const auto& m : models) {
        if (isWildcard(m.ref)) continue;
        if (auto ref = normalizeRef(m.ref)) add(*ref, "configured", why);
      }
    };
    addEntries(entry.models, "agents.entries." + entry.id + ".models");
    addEntries(config.agents.defaults.models, "agents.defaults.models");
    for (const auto& p : config.providers) {
      for (const auto& m : p.models) add(p.id + "/" + m.id, "configured", "models.providers." + p.id + ".models");
    }
  }
  return rows;
}

}  // namespace talon::config
