#include "gateway/routing/agent_roster.h"

#include <algorithm>

#include "base/json.h"
#include "gateway/routing/id_normalization.h"

namespace talon::gateway::routing {

AgentRoster AgentRoster::fromConfig(const config::AgentsConfig& agents) {
  std::vector<std::string> ids;
  ids.reserve(agents.entries.size());
  for (const auto& entry : agents.entries) ids.push_back(entry.id);
  return AgentRoster(ids, agents.ownership == "explicit");
}

AgentRoster::AgentRoster(const std::vector<std::string>& ids, bool explicitOwnership)
    : implicit_(ids.empty()), explicitOwnership_(explicitOwnership) {
  for (const auto& raw : ids) {
    std::string id = normalizeAgentId(raw);
    if (std::find(ids_.begin(), ids_.end(), id) == ids_.end()) ids_.push_back(std::move(id));
  }
  if (implicit_) ids_.emplace_back(kDefaultAgentId);
}

std::optional<std::string> AgentRoster::find(std::string_view rawId) const {
  if (trimWhitespace(rawId).empty()) return std::nullopt;
  std::string id = normalizeAgentId(rawId);
  if (std::find(ids_.begin(), ids_.end(), id) == ids_.end()) return std::nullopt;
  return id;
}

std::optional<std::string> AgentRoster::soleAgentId() const {
  if (ids_.size() == 1) return ids_.front();
  return std::nullopt;
}

std::string AgentRoster::describe() const {
  std::string out;
  for (const auto& id : ids_) {
    if (!out.empty()) out += ", ";
    out += id;
  }
  return out;
}

Error agentSelectionRequired(const AgentRoster& roster, std::string message) {
  Error e(ErrorCode::kAgentSelectionRequired, message, message);
  json::array ids;
  for (const auto& id : roster.agentIds()) ids.emplace_back(id);
  e.details["agentIds"] = std::move(ids);
  return e;
}

}  // namespace talon::gateway::routing
