#pragma once
// The router: picks the agent that owns an inbound message from `bindings[]`, in OpenClaw's tier
// order, and names the conversation's session key.
//
// Source: OpenClaw 2026.9.6 docs/channels/channel-routing.md, docs/concepts/agent-bindings.md and
// dist `resolve-route-6ukGCxYl.mjs` (`resolveAgentRoute`), `binding-scope-*.mjs`
// (`routeBindingScopeMatches`). The expectations in binding_resolver_test's table were produced by
// running that dist code (see testdata/openclaw_route_probe.mjs).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "config/config_model.h"
#include "gateway/routing/agent_roster.h"
#include "gateway/routing/inbound_message.h"

namespace talon::gateway::routing {

/// Which rule chose the agent. Tiers are tried top to bottom; the first tier with a matching binding
/// wins, and within a tier the binding listed first in the config wins.
enum class MatchedBy {
  kPeer,          // "binding.peer": the binding's peer kind and id equal the message's peer
  kPeerParent,    // "binding.peer.parent": ... equal the thread's parent peer
  kPeerWildcard,  // "binding.peer.wildcard": peer id "*" of the same kind
  kGuildRoles,    // "binding.guild+roles": guildId plus any of the member's roles
  kGuild,         // "binding.guild"
  kTeam,          // "binding.team"
  kAccount,       // "binding.account": no peer/guild/team; a specific account (omitted = default account)
  kChannel,       // "binding.channel": no peer/guild/team; accountId "*"
  kCaller,        // "caller": no binding matched; the caller-supplied owner
  kDefault,       // "default": no binding matched; the sole agent (or "main" without a roster)
};

/// The wire/log name listed with each enumerator ("binding.peer", ..., "caller", "default"). OpenClaw
/// reports both fallbacks as "default"; Talon tells the caller-supplied owner apart as "caller".
std::string_view matchedByName(MatchedBy m);

/// Where a message goes.
struct ResolvedRoute {
  std::string agentId;         // normalised, a member of the roster
  std::string sessionKey;      // see buildSessionKey; includes `:thread:<id>` for threaded messages
  std::string mainSessionKey;  // `agent:<agentId>:main`
  MatchedBy matchedBy = MatchedBy::kDefault;
  std::optional<std::size_t> bindingIndex;  // index into `bindings` of the binding that matched
  std::string channel;                      // normalised (trimmed, lower-case)
  std::string accountId;                    // normalised (normalizeAccountId)
  std::string dmScope;                      // effective: the binding's override or `session.dmScope`
  std::string groupScope;                   // effective: the binding's override or `session.groupScope`
};

/// Resolves the agent and session key for `message`.
///
/// Matching, per binding (all present fields must match):
/// - `match.channel` equals the message channel (both trimmed and lower-cased); bindings with an empty
///   channel, or with a peer whose kind is not direct/dm/group/channel or whose id is blank, are ignored;
/// - `match.accountId`: omitted or blank matches only the default account, "*" every account, anything
///   else the message account after normalizeAccountId on both sides;
/// - `match.peer`: kinds group and channel are interchangeable; ids are compared trimmed and
///   case-sensitively; id "*" matches any peer of the kind;
/// - `match.guildId` / `match.teamId`: trimmed, case-sensitive equality;
/// - `match.roles`: at least one listed role among `message.memberRoles` (checked together with guildId).
/// Tier order: see MatchedBy. The guild+roles tier is tried only when the member has roles.
///
/// Fallback when no binding matches: `callerAgentId` (when given and not blank), else the roster's sole
/// agent (the implicit "main" without a roster). `agents.ownership: "explicit"` adds nothing here because
/// Talon does not model OpenClaw's legacy default markers (see AgentRoster::soleAgentId).
///
/// Errors: kAgentSelectionRequired (OpenClaw AGENT_SELECTION_REQUIRED) when the matching binding — or
/// the caller-supplied owner — names an agent that is not in the roster (resolution stops there; later
/// bindings are not tried, as in OpenClaw), or when nothing matched and there is no sole agent. Such a
/// binding only refuses the messages it matches; the rest of the config routes normally. The config
/// loads with a binding to "main" absent from the roster (OpenClaw accepts it, and `config validate`
/// warns: OpenClaw would route to an implicit agent "main", Talon runs only configured agents); any
/// other unknown id is a validation error there, as in OpenClaw.
/// `details.agentIds` lists the roster.
///
/// Thread-safe (pure function of its arguments). Cost: linear in the number of bindings.
Result<ResolvedRoute> resolveBinding(const std::vector<config::BindingConfig>& bindings, const AgentRoster& roster,
                                     const config::SessionConfig& session, const InboundMessage& message,
                                     std::optional<std::string_view> callerAgentId = std::nullopt);

/// resolveBinding over a whole config (`bindings`, `agents`, `session`).
Result<ResolvedRoute> resolveBinding(const config::TalonConfig& config, const InboundMessage& message,
                                     std::optional<std::string_view> callerAgentId = std::nullopt);

}  // namespace talon::gateway::routing
