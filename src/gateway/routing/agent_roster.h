#pragma once
// The set of agents routing may pick, derived from `agents` in the config.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/config_model.h"

namespace talon::gateway::routing {

/// The configured agents as routing sees them: normalised ids in config order. With no
/// `agents.entries` the roster is implicit and holds the single agent "main" (OpenClaw: "With no
/// roster at all: agent `main`"). Immutable after construction; thread-safe to share.
///
/// Talon is stricter than OpenClaw 2026.9.6 in one place: OpenClaw's `pickFirstExistingAgentId`
/// (dist `resolve-route-*.mjs`) accepts any agent id when no roster is configured and always accepts
/// "main"; Talon accepts only the agents it will actually run (the entries, or "main" when there are
/// none), so a binding to anything else fails closed with AGENT_SELECTION_REQUIRED.
class AgentRoster {
 public:
  /// From `agents`: entry ids normalised with normalizeAgentId; a later entry whose id normalises to
  /// an earlier one's is dropped (OpenClaw `listAgentIds`).
  static AgentRoster fromConfig(const config::AgentsConfig& agents);

  /// A roster of the given (raw) ids; empty means implicit. `explicitOwnership` mirrors
  /// `agents.ownership: "explicit"`.
  explicit AgentRoster(const std::vector<std::string>& ids = {}, bool explicitOwnership = false);

  /// True when no agents are configured and the implicit agent "main" stands in.
  bool implicit() const { return implicit_; }
  /// `agents.ownership == "explicit"`.
  bool explicitOwnership() const { return explicitOwnership_; }
  /// Known agent ids, normalised, in config order (["main"] when implicit).
  const std::vector<std::string>& agentIds() const { return ids_; }
  /// The normalised id when `rawId` (any case, surrounding space allowed) names a known agent.
  std::optional<std::string> find(std::string_view rawId) const;
  /// The agent that owns work nobody selected: the sole configured agent, or "main" when implicit;
  /// nullopt with two or more agents. OpenClaw `tryResolveSoleAgentId`; with `ownership: "explicit"`
  /// OpenClaw drops only its legacy default markers (`default: true`, `systemAgent`), which Talon does
  /// not model, so a sole agent still owns unselected work (verified against dist
  /// `agent-scope-config-*.mjs` `resolveDefaultAgentId`).
  std::optional<std::string> soleAgentId() const;
  /// "a, b, c" for error messages.
  std::string describe() const;

 private:
  std::vector<std::string> ids_;
  bool implicit_ = true;
  bool explicitOwnership_ = false;
};

/// An kAgentSelectionRequired error with `message` (internal and external: it names only agent ids)
/// and details `{agentIds: [...]}` listing the roster, as OpenClaw's AgentSelectionRequiredError does.
Error agentSelectionRequired(const AgentRoster& roster, std::string message);

}  // namespace talon::gateway::routing
