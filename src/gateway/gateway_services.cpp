#include "gateway/gateway_services.h"

#include "gateway/routing/session_key.h"

namespace talon::gateway {

AgentDirectory::AgentDirectory(routing::AgentRoster roster, std::vector<AgentProfile> profiles)
    : roster_(std::move(roster)), profiles_(std::move(profiles)), defaultAgentId_(roster_.soleAgentId().value_or("")) {}

Result<std::pair<std::string, std::string>> AgentDirectory::resolveClientSession(
    std::string_view sessionKey, std::optional<std::string_view> agentId) const {
  auto parsed = routing::parseSessionKey(sessionKey, roster_, agentId);
  if (!parsed) return fail(parsed.error());
  return std::make_pair(parsed->agentId, parsed->sessionKey);
}

void PresenceRegistry::set(uint64_t connectionId, PresenceEntry entry) {
  std::lock_guard lock(mu_);
  entries_[connectionId] = std::move(entry);
}

void PresenceRegistry::remove(uint64_t connectionId) {
  std::lock_guard lock(mu_);
  entries_.erase(connectionId);
}

std::vector<PresenceEntry> PresenceRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<PresenceEntry> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

std::size_t PresenceRegistry::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace talon::gateway
