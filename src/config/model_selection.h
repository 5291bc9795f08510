#pragma once
// Which model an agent's turns use and which fallbacks they may take, by OpenClaw's selection-source
// policy (docs/concepts/model-failover.md "Selection source policy"):
//   - configured default: `agents.defaults.model.primary` with `agents.defaults.model.fallbacks`;
//   - agent primary (`agents.entries.<id>.model` as a string or an object with `primary`): strict
//     unless that object has its own `fallbacks` (`[]` is explicitly strict);
//   - an agent object with `fallbacks` only keeps the shared primary and uses its own chain.
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
  /// Talon has no modelPolicy yet: every model is allowed ("any (no modelPolicy)").
  std::string allowedBy = "any (no modelPolicy)";
};

/// Every agent's models: its primary, its fallbacks in order, then the models its providers list.
/// Agents in roster order.
std::vector<AgentModelRow> agentModelRows(const TalonConfig& config);

}  // namespace talon::config
