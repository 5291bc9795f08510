#pragma once
// Which model an agent's turns use and which fallbacks they may take, by OpenClaw's selection-source
// policy (docs/concepts/model-failover.md "Selection source policy"):
//   - configured default: `agents.defaults.model.primary` with `agents.defaults.model.fallbacks`;
//   - agent primary (`agents.entries.<id>.model` as a string or an object with `primary`): strict
//     unless that object has its own `fallbacks` (`[]` is explicitly strict);
//   - an agent object with `fallbacks` only keeps the shared primary and uses its own chain.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_model.h"

namespace talon::config {

/// An agent's model selection. Plain data.
struct ModelSelection {
  std::string primary;                 // "provider/model"; empty: no model configured
  std::vector<std::string> fallbacks;  // tried in order for the current turn only; empty: strict
  /// Where the primary comes from: "agent" (agents.entries.<id>.model) or "defaults".
  std::string source;
  /// Where the fallback chain comes from: "agent", "defaults" or "strict" (an agent primary without
  /// its own fallbacks).
  std::string fallbackSource;
};

/// The selection of agent `agentId` (an id without an entry gets the defaults).
ModelSelection agentModelSelection(const TalonConfig& config, std::string_view agentId);

/// OpenClaw's default provider for a bare model id nothing else resolves (DEFAULT_PROVIDER in dist;
/// deprecated there: config validation warns).
inline constexpr std::string_view kDefaultModelProvider = "openai";

/// A model ref resolved from what a user or the config wrote.
struct ResolvedModelRef {
  std::string ref;    // "provider/model", provider lower-cased
  std::string alias;  // the alias `raw` named; empty when it was not an alias
  /// How it was resolved: "alias", "ref" (provider/model as written), "configured" (a bare id that
  /// exactly one configured model lists) or "default-provider" (a bare id given kDefaultModelProvider).
  std::string how;
};

/// Resolves `raw` as OpenClaw does (dist model-selection-shared `resolveModelRefFromString`,
/// `resolveBareModelDefaultProvider`): an alias first (case-insensitive; the agent's `models` after the
/// defaults', a later entry winning; `alias: ""` disables one), then "provider/model" split at the first
/// "/", then a bare id that exactly one `models` key or `models.providers.*.models[].id` lists (the
/// agent's own keys first), else kDefaultModelProvider. nullopt for an empty `raw`.
std::optional<ResolvedModelRef> resolveModelRef(const TalonConfig& config, std::string_view agentId,
                                                std::string_view raw);

/// Whether agent `agentId` may use `ref` ("provider/model") as an override, by `modelPolicy.allow`
/// (OpenClaw docs/gateway/config-agents/models.md): the agent's list when written (`[]`: any), else the
/// defaults' list, else any. Entries are aliases, exact refs, or `provider/…/*` wildcards matching at a
/// "/" boundary.
struct ModelPolicyDecision {
  bool allowed = true;
  /// The config path that decided ("agents.entries.*.modelPolicy.allow", "agents.defaults.modelPolicy.allow")
  /// or "any (no modelPolicy)".
  std::string by;
  /// When refused: OpenClaw's message ("Model override \"x\" is not allowed for agent \"a\" by …").
  std::string message;
};
ModelPolicyDecision checkModelPolicy(const TalonConfig& config, std::string_view agentId, std::string_view ref);

/// The params a turn of agent `agentId` sends with `ref`, merged by key in OpenClaw's order:
/// `agents.defaults.params` < `agents.defaults.models[ref].params` < `agents.entries.<id>.models[ref].params`
/// < `agents.entries.<id>.params`.
ModelParams effectiveModelParams(const TalonConfig& config, std::string_view agentId, std::string_view ref);

class ConfigReader;

/// Config validation's step for model refs (a cross-section check, run before the catalog providers are
/// added): rewrites each bare id or alias in `agents.defaults.model` and `agents.entries.*.model` to
/// "provider/model" by resolveModelRef, with a warning when only kDefaultModelProvider resolved it
/// (OpenClaw: deprecated), and warns about an alias defined twice in one `models` map.
void resolveConfiguredModelRefs(ConfigReader& r, TalonConfig& config);

/// One model an agent can use, and why (`talon models list`).
struct AgentModelRow {
  std::string agentId;
  std::string ref;       // "provider/model"
  std::string role;      // "primary", "fallback" or "configured" (listed in models.providers.<id>.models)
  std::string why;       // e.g. "agents.defaults.model.primary", "models.providers.local.models"
  std::string provider;  // the provider id
  /// "config" (models.providers), "catalog" (OpenClaw's bundled catalog, models.mode merge) or
  /// "missing" (no such provider: the ref cannot be called).
  std::string providerSource;
  std::string api;
  std::string baseUrl;
  /// Where the key comes from: "config", "env:<VAR>", "none" (not configured); never its value.
  std::string key;
  /// Why it cannot be called now (a missing provider or key); empty when it can.
  std::string unavailable;
  /// The alias that names this ref for the agent, if any.
  std::string alias;
  /// What allows it as an override: "any (no modelPolicy)" or the modelPolicy path; "refused by <path>"
  /// when the policy does not list it (the configured selection still uses it).
  std::string allowedBy = "any (no modelPolicy)";
};

/// Every agent's models: its primary, its fallbacks in order, then the models its providers list.
/// Agents in roster order.
std::vector<AgentModelRow> agentModelRows(const TalonConfig& config);

}  // namespace talon::config
