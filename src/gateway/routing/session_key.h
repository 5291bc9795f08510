#pragma once
// Session keys: the names of conversations. A session key selects the transcript and the session
// lane a turn runs in. Formats and folding rules from OpenClaw 2026.9.6: docs/channels/channel-routing.md
// and dist `session-key-CBvmC8zz.mjs` (`buildAgentPeerSessionKey`, `resolveThreadSessionKeys`,
// `normalizeSessionKeyPreservingOpaquePeerIds`), `session-key-CUi_tcgF.mjs` (`parseAgentSessionKeyParts`,
// `buildAgentMainSessionKey`). Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "gateway/routing/agent_roster.h"
#include "gateway/routing/inbound_message.h"

namespace talon::gateway::routing {

/// Inputs of buildSessionKey. Values are taken raw and normalised here.
struct SessionKeyParams {
  std::string_view agentId;    // normalised with normalizeAgentId
  std::string_view channel;    // trimmed, lower-cased; empty → "unknown"
  std::string_view accountId;  // normalised with normalizeAccountId
  PeerKind peerKind = PeerKind::kDirect;
  std::string_view peerId;  // trimmed; empty → "unknown"
  /// `session.dmScope`: "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer". Any other
  /// value behaves as "main" (as in OpenClaw).
  std::string_view dmScope = "main";
  /// `session.groupScope`: "per-group" | "main". Any value other than "main" behaves as "per-group".
  std::string_view groupScope = "per-group";
  /// When set and not blank, `:thread:<threadId lower-cased>` is appended.
  std::optional<std::string_view> threadId;
};

/// The session key of a conversation:
/// - direct, dmScope main: `agent:<a>:main`; per-peer: `agent:<a>:direct:<peer>`; per-channel-peer:
///   `agent:<a>:<channel>:direct:<peer>`; per-account-channel-peer: `agent:<a>:<channel>:<account>:direct:<peer>`.
///   The peer id is lower-cased.
/// - group/channel, groupScope per-group: `agent:<a>:<channel>:<group|channel>:<peer>`; main: `agent:<a>:main`.
///   The peer id is lower-cased except Signal group ids and Matrix room ids, which are case-sensitive.
/// - then `:thread:<id>` for a thread.
/// OpenClaw's `session.identityLinks` (canonical peers across channels) is not modelled yet.
std::string buildSessionKey(const SessionKeyParams& params);

/// `agent:<normalised agent id>:main`. The suffix is fixed (`session.mainKey` is ignored, as in OpenClaw).
std::string buildMainSessionKey(std::string_view agentId);

/// `baseKey + ":thread:" + lower-cased trimmed threadId`; `baseKey` unchanged when threadId is blank.
std::string appendThreadSuffix(std::string_view baseKey, std::string_view threadId);

/// Canonical spelling of a session key: trimmed and lower-cased, except the opaque peer ids OpenClaw
/// keeps case-sensitive (the segment after `signal:group:`, and everything after
/// `matrix:channel:`/`matrix:group:` up to a `:thread:` marker, plus the thread id itself).
std::string normalizeSessionKey(std::string_view key);

/// The two halves of an agent-scoped session key `agent:<agentId>:<rest>`.
struct AgentSessionKey {
  std::string agentId;  // as written in the key (trimmed, lower-cased), not normalised
  std::string rest;     // everything after the agent id, e.g. "main" or "telegram:direct:123"
};

/// Splits a key of the form `agent:<id>:<rest>` after normalizeSessionKey. nullopt when the key does not
/// start with `agent:` (any case), has no second ':', an empty (after trim) agent id, an empty rest, or a
/// rest starting with ':'. OpenClaw `parseAgentSessionKey`.
std::optional<AgentSessionKey> parseAgentSessionKey(std::string_view key);

/// A client-supplied session key resolved to its owner.
struct ClientSessionKey {
  std::string agentId;     // a known agent, normalised
  std::string sessionKey;  // canonical `agent:<agentId>:<rest>`
};

/// Resolves the `sessionKey` a client sends (chat.send, sessions.*) to a canonical agent-scoped key,
/// following OpenClaw's gateway (dist `session-request-agent-*.mjs` `resolveRequestedSessionAgentId`,
/// `session-store-key-*.mjs` `resolveSessionStoreKey`, `session-key-CBvmC8zz.mjs` `toAgentStoreSessionKey`):
/// - `agent:<id>:<rest>`: owned by <id>; the legacy alias `agent:main:main` belongs to the sole agent when
///   no agent is named "main";
/// - a bare `main` (or `global`, as OpenClaw does when `session.scope` is not global) is the owner's main
///   session `agent:<owner>:main`;
/// - any other unprefixed key is scoped to the owner: `agent:<owner>:<key>`;
/// where the owner of an unprefixed key is `requestedAgentId` (chat.send `agentId`) when given, else the
/// roster's sole agent.
/// Errors: kInvalidArgument for an empty key, a malformed `agent:` key, an unknown agent (in the key or
/// requested), or a requested agent that differs from the key's; kAgentSelectionRequired for an
/// unprefixed key with no requested agent and two or more agents (OpenClaw's chat.send reports this as
/// INVALID_REQUEST with the same text). Unlike OpenClaw, an agent-prefixed key naming an agent that is
/// not configured is refused rather than admitted.
Result<ClientSessionKey> parseSessionKey(std::string_view key, const AgentRoster& roster,
                                         std::optional<std::string_view> requestedAgentId = std::nullopt);

}  // namespace talon::gateway::routing
