#include "gateway/gateway_services.h"

#include <algorithm>

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

void PresenceRegistry::setAuth(uint64_t connectionId, ConnectionAuth auth, ConnectionCloser closer) {
  std::lock_guard lock(mu_);
  auth_[connectionId] = Authenticated{std::move(auth), std::move(closer)};
}

void PresenceRegistry::remove(uint64_t connectionId) {
  std::lock_guard lock(mu_);
  entries_.erase(connectionId);
  auth_.erase(connectionId);
}

std::size_t PresenceRegistry::disconnectWhere(const std::function<bool(const ConnectionAuth&)>& match, uint16_t code,
                                              const std::string& reason) {
  std::vector<ConnectionCloser> closers;
  {
    std::lock_guard lock(mu_);
    // A closed connection is closed once: it is forgotten here (its presence stays until onClose).
    for (auto it = auth_.begin(); it != auth_.end();) {
      if (match(it->second.auth)) {
        closers.push_back(std::move(it->second.closer));
        it = auth_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& close : closers) close(code, reason);
  return closers.size();
}

std::size_t PresenceRegistry::disconnectDevice(std::string_view deviceId, std::optional<std::string_view> role,
                                               uint16_t code, const std::string& reason) {
  if (deviceId.empty()) return 0;
  return disconnectWhere([&](const ConnectionAuth& a) { return a.deviceId == deviceId && (!role || a.role == *role); },
                         code, reason);
}

std::size_t PresenceRegistry::disconnectOperatorToken(std::string_view name, uint16_t code, const std::string& reason) {
  if (name.empty()) return 0;
  return disconnectWhere([&](const ConnectionAuth& a) { return a.operatorToken == name; }, code, reason);
}

std::vector<std::string> PresenceRegistry::operatorTokensInUse() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [id, a] : auth_) {
    if (!a.auth.operatorToken.empty() && std::find(names.begin(), names.end(), a.auth.operatorToken) == names.end()) {
      names.push_back(a.auth.operatorToken);
    }
  }
  return names;
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
