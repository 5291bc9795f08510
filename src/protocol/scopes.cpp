#include "protocol/scopes.h"

#include <array>

namespace talon::protocol {

namespace {
struct ScopeEntry {
  Scope scope;
  std::string_view name;
};
constexpr std::array<ScopeEntry, 10> kScopes = {{
    {Scope::kRead, "operator.read"},
    {Scope::kWrite, "operator.write"},
    {Scope::kAdmin, "operator.admin"},
    {Scope::kApprovals, "operator.approvals"},
    {Scope::kQuestions, "operator.questions"},
    {Scope::kPairing, "operator.pairing"},
    {Scope::kTalk, "operator.talk"},
    {Scope::kTalkSecrets, "operator.talk.secrets"},
    {Scope::kSessionsRead, "operator.sessions.read"},
    {Scope::kSessionsWrite, "operator.sessions.write"},
}};
}  // namespace

std::string_view scopeName(Scope scope) { return kScopes[static_cast<std::size_t>(scope)].name; }

std::optional<Scope> parseScope(std::string_view name) {
  for (const auto& e : kScopes) {
    if (e.name == name) return e.scope;
  }
  return std::nullopt;
}

ScopeSet ScopeSet::fromNames(std::span<const std::string> names) {
  ScopeSet set;
  for (const auto& n : names) {
    if (auto s = parseScope(n)) set.add(*s);
  }
  return set;
}

ScopeSet ScopeSet::of(std::initializer_list<Scope> scopes) {
  ScopeSet set;
  for (Scope s : scopes) set.add(s);
  return set;
}

bool ScopeSet::satisfies(Scope required) const {
  if (has(required) || has(Scope::kAdmin)) return true;
  switch (required) {
    case Scope::kRead:
    case Scope::kTalk:
    case Scope::kSessionsWrite:
      return has(Scope::kWrite);
    case Scope::kSessionsRead:
      return has(Scope::kWrite) || has(Scope::kRead) || has(Scope::kSessionsWrite);
    default:
      return false;
  }
}

std::vector<std::string> grantScopes(const ScopeGrantInput& in) {
  if (!in.sharedSecretAuth || !in.isLoopback || in.clientMode == ClientMode::kProbe) return {};
  const bool cliCli = in.clientId == "cli" && in.clientMode == ClientMode::kCli;
  const bool localBackend = in.clientId == "gateway-client" && in.clientMode == ClientMode::kBackend;
  if (!cliCli && !localBackend) return {};
  return grantableScopes(in.role, in.requested);
}

std::vector<std::string> grantableScopes(Role role, std::span<const std::string> requested) {
  std::vector<std::string> out;
  if (role != Role::kOperator) return out;
  ScopeSet seen;
  for (const auto& name : requested) {
    auto scope = parseScope(name);
    if (!scope || seen.has(*scope)) continue;
    seen.add(*scope);
    out.push_back(name);
  }
  return out;
}

}  // namespace talon::protocol
