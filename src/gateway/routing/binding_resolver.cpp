#include "gateway/routing/binding_resolver.h"

#include <fmt/format.h>

#include <algorithm>

#include "gateway/routing/id_normalization.h"
#include "gateway/routing/session_key.h"

namespace talon::gateway::routing {
namespace {

// The tier a binding competes in, decided by its most specific constraint (OpenClaw
// `buildEvaluatedBindingsIndex`).
enum class Tier { kPeer, kPeerWildcard, kGuildRoles, kGuild, kTeam, kAccount, kChannel };

// A binding that passed the channel and account filters, with its match normalised.
struct Candidate {
  std::size_t index;
  const config::BindingConfig* binding;
  Tier tier;
  std::optional<PeerKind> peerKind;  // set for kPeer and kPeerWildcard
  std::string peerId;                // trimmed; "*" for kPeerWildcard
  std::string guildId;               // trimmed; empty = no constraint
  std::string teamId;
  const std::vector<std::string>* roles;  // empty = no constraint
};

// What a candidate is compared with: the message, or the message with its peer replaced by the
// thread's parent.
struct Scope {
  const Peer* peer;
  std::string_view guildId;
  std::string_view teamId;
  const std::vector<std::string>* memberRoles;
};

bool peerKindMatches(PeerKind binding, PeerKind message) {
  if (binding == message) return true;
  auto groupLike = [](PeerKind k) { return k == PeerKind::kGroup || k == PeerKind::kChannel; };
  return groupLike(binding) && groupLike(message);
}

// OpenClaw `matchesBindingScope` + `routeBindingScopeMatches`.
bool matchesScope(const Candidate& c, const Scope& scope) {
  if (c.tier == Tier::kPeer || c.tier == Tier::kPeerWildcard) {
    if (scope.peer == nullptr || !peerKindMatches(*c.peerKind, scope.peer->kind)) return false;
    if (c.tier == Tier::kPeer && std::string_view(c.peerId) != trimWhitespace(scope.peer->id)) return false;
  }
  if (!c.guildId.empty() && c.guildId != scope.guildId) return false;
  if (!c.teamId.empty() && c.teamId != scope.teamId) return false;
  if (!c.roles->empty()) {
    bool any = std::any_of(c.roles->begin(), c.roles->end(), [&](const std::string& role) {
      return std::find(scope.memberRoles->begin(), scope.memberRoles->end(), role) != scope.memberRoles->end();
    });
    if (!any) return false;
  }
  return true;
}

// Bindings for the message's channel and account, in config order, classified into tiers. Bindings
// with an unusable peer constraint are dropped, as OpenClaw does.
std::vector<Candidate> candidatesFor(const std::vector<config::BindingConfig>& bindings, std::string_view channel,
                                     std::string_view accountId) {
  std::vector<Candidate> out;
  for (std::size_t i = 0; i < bindings.size(); ++i) {
    const auto& b = bindings[i];
    std::string bindingChannel = trimLower(b.match.channel);
    if (bindingChannel.empty() || bindingChannel != channel) continue;

    Candidate c{i, &b, Tier::kChannel, std::nullopt, {}, {}, {}, &b.match.roles};
    if (b.match.peer) {
      c.peerKind = parsePeerKind(b.match.peer->kind);
      c.peerId = std::string(trimWhitespace(b.match.peer->id));
      if (!c.peerKind || c.peerId.empty()) continue;
    }
    if (b.match.guildId) c.guildId = std::string(trimWhitespace(*b.match.guildId));
    if (b.match.teamId) c.teamId = std::string(trimWhitespace(*b.match.teamId));

    // (value_or returns a temporary string: keep the trimmed pattern in one that outlives the statement)
    const std::string accountPattern(trimWhitespace(b.match.accountId.value_or("")));
    bool anyAccount = accountPattern == "*";
    if (!anyAccount && normalizeAccountId(accountPattern) != accountId) continue;

    if (c.peerKind) {
      c.tier = c.peerId == "*" ? Tier::kPeerWildcard : Tier::kPeer;
    } else if (!c.guildId.empty()) {
      c.tier = c.roles->empty() ? Tier::kGuild : Tier::kGuildRoles;
    } else if (!c.teamId.empty()) {
      c.tier = Tier::kTeam;
    } else {
      c.tier = anyAccount ? Tier::kChannel : Tier::kAccount;
    }
    out.push_back(std::move(c));
  }
  return out;
}

const Candidate* firstMatch(const std::vector<Candidate>& candidates, Tier tier, const Scope& scope) {
  for (const auto& c : candidates) {
    if (c.tier == tier && matchesScope(c, scope)) return &c;
  }
  return nullptr;
}

}  // namespace

std::string_view matchedByName(MatchedBy m) {
  switch (m) {
    case MatchedBy::kPeer:
      return "binding.peer";
    case MatchedBy::kPeerParent:
      return "binding.peer.parent";
    case MatchedBy::kPeerWildcard:
      return "binding.peer.wildcard";
    case MatchedBy::kGuildRoles:
      return "binding.guild+roles";
    case MatchedBy::kGuild:
      return "binding.guild";
    case MatchedBy::kTeam:
      return "binding.team";
    case MatchedBy::kAccount:
      return "binding.account";
    case MatchedBy::kChannel:
      return "binding.channel";
    case MatchedBy::kCaller:
      return "caller";
    case MatchedBy::kDefault:
      return "default";
  }
  return "default";
}

Result<ResolvedRoute> resolveBinding(const std::vector<config::BindingConfig>& bindings, const AgentRoster& roster,
                                     const config::SessionConfig& session, const InboundMessage& message,
                                     std::optional<std::string_view> callerAgentId) {
  ResolvedRoute route;
  route.channel = trimLower(message.channel);
  route.accountId = normalizeAccountId(message.accountId);
  std::string guildId(trimWhitespace(message.guildId.value_or("")));
  std::string teamId(trimWhitespace(message.teamId.value_or("")));

  std::vector<Candidate> candidates = candidatesFor(bindings, route.channel, route.accountId);
  Scope scope{&message.peer, guildId, teamId, &message.memberRoles};

  const Candidate* chosen = nullptr;
  auto tryTier = [&](Tier tier, MatchedBy by, const Scope& s) {
    if (chosen != nullptr) return;
    chosen = firstMatch(candidates, tier, s);
    if (chosen != nullptr) route.matchedBy = by;
  };
  tryTier(Tier::kPeer, MatchedBy::kPeer, scope);
  if (message.parentPeer && !trimWhitespace(message.parentPeer->id).empty()) {
    Scope parentScope = scope;
    parentScope.peer = &*message.parentPeer;
    tryTier(Tier::kPeer, MatchedBy::kPeerParent, parentScope);
  }
  tryTier(Tier::kPeerWildcard, MatchedBy::kPeerWildcard, scope);
  if (!guildId.empty() && !message.memberRoles.empty()) tryTier(Tier::kGuildRoles, MatchedBy::kGuildRoles, scope);
  if (!guildId.empty()) tryTier(Tier::kGuild, MatchedBy::kGuild, scope);
  if (!teamId.empty()) tryTier(Tier::kTeam, MatchedBy::kTeam, scope);
  tryTier(Tier::kAccount, MatchedBy::kAccount, scope);
  tryTier(Tier::kChannel, MatchedBy::kChannel, scope);

  route.dmScope = session.dmScope;
  route.groupScope = session.groupScope;
  if (chosen != nullptr) {
    const config::BindingConfig& b = *chosen->binding;
    route.bindingIndex = chosen->index;
    std::optional<std::string> agent =
        trimWhitespace(b.agentId).empty() ? roster.soleAgentId() : roster.find(b.agentId);
    if (!agent) {
      return fail(agentSelectionRequired(
          roster, fmt::format("bindings[{}] ({}) routes {} account {} to agent \"{}\", which is not configured. "
                              "Update the binding agentId to a configured agent ({}).",
                              chosen->index, matchedByName(route.matchedBy), route.channel, route.accountId, b.agentId,
                              roster.describe())));
    }
    route.agentId = *agent;
    if (b.dmScope) route.dmScope = *b.dmScope;
    if (b.groupScope) route.groupScope = *b.groupScope;
  } else if (callerAgentId && !trimWhitespace(*callerAgentId).empty()) {
    std::optional<std::string> agent = roster.find(*callerAgentId);
    if (!agent) {
      return fail(agentSelectionRequired(
          roster, fmt::format("No binding matched {} account {}, and the requested owner \"{}\" is not a configured "
                              "agent ({}).",
                              route.channel, route.accountId, trimWhitespace(*callerAgentId), roster.describe())));
    }
    route.agentId = *agent;
    route.matchedBy = MatchedBy::kCaller;
  } else if (auto sole = roster.soleAgentId()) {
    route.agentId = *sole;
    route.matchedBy = MatchedBy::kDefault;
  } else {
    return fail(agentSelectionRequired(
        roster,
        fmt::format("Multiple agents are configured, but {} account {} routing has no explicit owner. Add a "
                    "channel-wide binding for {}:{}: {{\"agentId\":\"<agentId>\",\"match\":{{\"channel\":\"{}\","
                    "\"accountId\":\"{}\"}}}} with one of: {}.",
                    route.channel, route.accountId, route.channel, route.accountId, route.channel, route.accountId,
                    roster.describe())));
  }

  SessionKeyParams key;
  key.agentId = route.agentId;
  key.channel = route.channel;
  key.accountId = route.accountId;
  key.peerKind = message.peer.kind;
  key.peerId = message.peer.id;
  key.dmScope = route.dmScope;
  key.groupScope = route.groupScope;
  if (message.threadId) key.threadId = *message.threadId;
  route.sessionKey = buildSessionKey(key);
  route.mainSessionKey = buildMainSessionKey(route.agentId);
  return route;
}

Result<ResolvedRoute> resolveBinding(const config::TalonConfig& config, const InboundMessage& message,
                                     std::optional<std::string_view> callerAgentId) {
  return resolveBinding(config.bindings, AgentRoster::fromConfig(config.agents), config.session, message,
                        callerAgentId);
}

}  // namespace talon::gateway::routing
