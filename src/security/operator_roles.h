#pragma once
// Named operator roles (OpenClaw docs/gateway/operator-scopes.md "Named operator roles"): a role is a
// ceiling on the operator scopes a caller holds and an allowlist of the agents it may run. Talon binds
// named operator tokens (security/operator_token_authenticator.h) to roles. Two roles are built in —
// `admin` (every operator scope) and `operator` (read, write, approvals: OpenClaw's documented
// maintainer role) — and a `gateway.roles.definitions` entry of the same name overrides one.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_model.h"
#include "protocol/scopes.h"

namespace talon::security {

/// One effective role.
struct OperatorRole {
  std::string name;
  /// The ceiling, as names (in the order configured) and as a set.
  std::vector<std::string> scopes;
  protocol::ScopeSet scopeSet;
  /// The agents the role may run (normalised ids); nullopt: every agent.
  std::optional<std::vector<std::string>> agents;
  /// True for a built-in role that no definition overrides.
  bool builtin = false;
};

/// The built-in role names.
inline constexpr std::string_view kAdminRole = "admin";
inline constexpr std::string_view kOperatorRole = "operator";

/// The effective roles of a config: the built-ins overlaid by `gateway.roles.definitions`. Immutable;
/// may be read from any thread.
class OperatorRoles {
 public:
  /// From `gateway.roles` (already validated by the config section).
  static OperatorRoles fromConfig(const config::GatewayRolesConfig& config);

  /// The role named `name`; nullptr when none is.
  const OperatorRole* find(std::string_view name) const;
  /// The role a token bound to `name` holds: find(name), else — as OpenClaw applies `gateway.roles.default`
  /// to "profiles without a valid assigned role" — the default role when `gateway.roles` is configured;
  /// nullptr when neither exists (the token is refused).
  const OperatorRole* resolve(std::string_view name) const;
  /// Every role, by name.
  const std::vector<OperatorRole>& all() const { return roles_; }
  /// `gateway.roles.default`; empty when not configured.
  const std::string& defaultRole() const { return defaultRole_; }

 private:
  std::vector<OperatorRole> roles_;
  std::string defaultRole_;
};

/// Narrows `granted` (operator scope names) to the capabilities `ceiling` also allows, with OpenClaw's
/// implications ("A write grant narrowed to a read-only role retains operator.read; an admin-only grant
/// narrowed to a write role retains operator.write"): first the known names of `granted` that the
/// ceiling satisfies (in their order, duplicates dropped), then the names of `ceilingNames` that
/// `granted` satisfies and the kept names do not cover yet. It never adds a capability `granted` lacks
/// nor one the ceiling lacks; an empty side gives [].
std::vector<std::string> applyScopeCeiling(std::span<const std::string> granted,
                                           std::span<const std::string> ceilingNames);

/// True when `agents` (an OperatorRole::agents) allows running `agentId` (normalised).
bool roleAllowsAgent(const std::optional<std::vector<std::string>>& agents, std::string_view agentId);

}  // namespace talon::security
