#include "security/operator_roles.h"

#include <algorithm>

#include "security/authenticator.h"

namespace talon::security {

namespace {

OperatorRole makeRole(std::string name, std::vector<std::string> scopes, std::optional<std::vector<std::string>> agents,
                      bool builtin) {
  OperatorRole role;
  role.name = std::move(name);
  role.scopeSet = protocol::ScopeSet::fromNames(scopes);
  role.scopes = std::move(scopes);
  role.agents = std::move(agents);
  role.builtin = builtin;
  return role;
}

}  // namespace

OperatorRoles OperatorRoles::fromConfig(const config::GatewayRolesConfig& config) {
  OperatorRoles out;
  out.defaultRole_ = config.configured ? config.defaultRole : std::string();
  // admin: OpenClaw's full operator scope set (CLI_DEFAULT_OPERATOR_SCOPES, operator.admin first).
  out.roles_.push_back(makeRole(std::string(kAdminRole), httpSharedSecretScopes(), std::nullopt, true));
  out.roles_.push_back(makeRole(std::string(kOperatorRole),
                                {std::string(protocol::scopeName(protocol::Scope::kRead)),
                                 std::string(protocol::scopeName(protocol::Scope::kWrite)),
                                 std::string(protocol::scopeName(protocol::Scope::kApprovals))},
                                std::nullopt, true));
  for (const auto& entry : config.definitions) {
    const std::string& name = entry.first;
    auto role = makeRole(name, entry.second.scopes, entry.second.agents, false);
    auto it = std::find_if(out.roles_.begin(), out.roles_.end(), [&](const OperatorRole& r) { return r.name == name; });
    if (it != out.roles_.end()) {
      *it = std::move(role);
    } else {
      out.roles_.push_back(std::move(role));
    }
  }
  std::sort(out.roles_.begin(), out.roles_.end(),
            [](const OperatorRole& a, const OperatorRole& b) { return a.name < b.name; });
  return out;
}

const OperatorRole* OperatorRoles::find(std::string_view name) const {
  for (const auto& r : roles_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const OperatorRole* OperatorRoles::resolve(std::string_view name) const {
  if (const auto* r = find(name)) return r;
  return defaultRole_.empty() ? nullptr : find(defaultRole_);
}

std::vector<std::string> applyScopeCeiling(std::span<const std::string> granted,
                                           std::span<const std::string> ceilingNames) {
  const auto grantedSet = protocol::ScopeSet::fromNames(granted);
  const auto ceiling = protocol::ScopeSet::fromNames(ceilingNames);
  std::vector<std::string> out;
  protocol::ScopeSet kept;
  // The granted names the ceiling allows, in their order; then, for a broader grant narrowed by the
  // ceiling, the ceiling's names the grant covers that are not covered by what is kept already.
  for (const auto& n : granted) {
    auto scope = protocol::parseScope(n);
    if (!scope || kept.has(*scope) || !ceiling.satisfies(*scope)) continue;
    kept.add(*scope);
    out.push_back(n);
  }
  for (const auto& n : ceilingNames) {
    auto scope = protocol::parseScope(n);
    if (!scope || kept.satisfies(*scope) || !grantedSet.satisfies(*scope)) continue;
    kept.add(*scope);
    out.push_back(n);
  }
  return out;
}

bool roleAllowsAgent(const std::optional<std::vector<std::string>>& agents, std::string_view agentId) {
  if (!agents) return true;
  return std::find(agents->begin(), agents->end(), agentId) != agents->end();
}

}  // namespace talon::security
