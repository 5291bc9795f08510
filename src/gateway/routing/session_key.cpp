#include "gateway/routing/session_key.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "gateway/routing/id_normalization.h"

namespace talon::gateway::routing {
namespace {

constexpr std::string_view kThreadMarker = ":thread:";

// Which part of a peer id OpenClaw keeps case-sensitive (`casePreservingPeerSpan`).
bool peerIdIsCaseSensitive(std::string_view channel, PeerKind kind) {
  std::string c = trimLower(channel);
  if (c == "signal" && kind == PeerKind::kGroup) return true;
  if (c == "matrix" && (kind == PeerKind::kGroup || kind == PeerKind::kChannel)) return true;
  return false;
}

// OpenClaw `normalizeSessionPeerId`: trimmed; lower-cased unless case-sensitive for the channel.
std::string normalizeGroupPeerId(std::string_view channel, PeerKind kind, std::string_view peerId) {
  std::string_view trimmed = trimWhitespace(peerId);
  return peerIdIsCaseSensitive(channel, kind) ? std::string(trimmed) : lowerAscii(trimmed);
}

std::string channelOrUnknown(std::string_view channel) {
  std::string c = trimLower(channel);
  return c.empty() ? std::string("unknown") : c;
}

struct PreservedSpan {
  std::size_t start;
  std::size_t end;
  bool trim;
};

// Spans matched by OpenClaw's SIGNAL_GROUP_ID_PATTERN `/(^|:)signal:group:([^:]+)/gi`: the id segment.
void collectSignalSpans(std::string_view folded, std::vector<PreservedSpan>& spans) {
  constexpr std::string_view kPrefix = "signal:group:";
  std::size_t searchFrom = 0;  // where the next match may begin (the regex is global, non-overlapping)
  std::size_t idx = folded.find(kPrefix, 0);
  while (idx != std::string_view::npos) {
    bool anchored = idx == 0 || (idx - 1 >= searchFrom && folded[idx - 1] == ':');
    std::size_t segStart = idx + kPrefix.size();
    std::size_t segEnd = folded.find(':', segStart);
    if (segEnd == std::string_view::npos) segEnd = folded.size();
    if (anchored && segEnd > segStart) {
      spans.push_back({segStart, segEnd, true});
      searchFrom = segEnd;
      idx = folded.find(kPrefix, segEnd);
    } else {
      idx = folded.find(kPrefix, idx + 1);
    }
  }
}

// End of a match of OpenClaw's MATRIX_ROOM_KEY_PATTERN
// `/^(?:(?:agent:[^:]*:)+:*)?matrix:(?:channel|group):/i`, or npos.
std::size_t matrixRoomPrefixEnd(std::string_view folded) {
  auto roomAt = [&](std::size_t pos) -> std::size_t {
    for (std::string_view p : {std::string_view("matrix:channel:"), std::string_view("matrix:group:")}) {
      if (folded.substr(pos).starts_with(p)) return pos + p.size();
    }
    return std::string_view::npos;
  };
  if (std::size_t end = roomAt(0); end != std::string_view::npos) return end;
  std::size_t pos = 0;
  while (folded.substr(pos).starts_with("agent:")) {
    std::size_t colon = folded.find(':', pos + 6);
    if (colon == std::string_view::npos) return std::string_view::npos;
    pos = colon + 1;
    std::size_t afterColons = pos;
    while (afterColons < folded.size() && folded[afterColons] == ':') ++afterColons;
    if (std::size_t end = roomAt(afterColons); end != std::string_view::npos) return end;
  }
  return std::string_view::npos;
}

void collectMatrixSpans(std::string_view raw, std::string_view folded, std::vector<PreservedSpan>& spans) {
  std::size_t tailStart = matrixRoomPrefixEnd(folded);
  if (tailStart == std::string_view::npos || tailStart >= raw.size()) return;
  std::size_t marker = folded.substr(tailStart).rfind(kThreadMarker);
  if (marker == std::string_view::npos) {
    spans.push_back({tailStart, raw.size(), false});
    return;
  }
  spans.push_back({tailStart, tailStart + marker, false});
  std::size_t threadStart = tailStart + marker + kThreadMarker.size();
  if (threadStart < raw.size()) spans.push_back({threadStart, raw.size(), false});
}

std::optional<AgentSessionKey> splitAgentSessionKey(std::string_view key) {
  if (key.size() < 6 || lowerAscii(key.substr(0, 6)) != "agent:") return std::nullopt;
  std::size_t idEnd = key.find(':', 6);
  if (idEnd == std::string_view::npos) return std::nullopt;
  std::string_view agentId = trimWhitespace(key.substr(6, idEnd - 6));
  std::string_view rest = key.substr(idEnd + 1);
  if (agentId.empty() || rest.empty() || rest.front() == ':') return std::nullopt;
  return AgentSessionKey{std::string(agentId), std::string(rest)};
}

Error unknownAgent(std::string_view raw, const AgentRoster& roster) {
  Error e(ErrorCode::kInvalidArgument,
          fmt::format("Unknown agent id \"{}\" (configured agents: {})", raw, roster.describe()));
  e.externalMessage = fmt::format("Unknown agent id \"{}\"", raw);
  return e;
}

// OpenClaw's AgentSelectionRequiredError text for surface `session key "<key>"`.
Error noOwner(std::string_view key, const AgentRoster& roster) {
  return agentSelectionRequired(
      roster, fmt::format("Multiple agents are configured, but session key \"{}\" has no explicit owner. Pass "
                          "agentId or use an agent-prefixed session key (agents: {}).",
                          key, roster.describe()));
}

}  // namespace

std::string buildMainSessionKey(std::string_view agentId) {
  return fmt::format("agent:{}:main", normalizeAgentId(agentId));
}

std::string appendThreadSuffix(std::string_view baseKey, std::string_view threadId) {
  std::string_view trimmed = trimWhitespace(threadId);
  if (trimmed.empty()) return std::string(baseKey);
  return fmt::format("{}{}{}", baseKey, kThreadMarker, lowerAscii(trimmed));
}

std::string buildSessionKey(const SessionKeyParams& p) {
  std::string agent = normalizeAgentId(p.agentId);
  std::string base;
  if (p.peerKind == PeerKind::kDirect) {
    std::string peer = lowerAscii(trimWhitespace(p.peerId));
    if (peer.empty()) peer = "unknown";
    if (p.dmScope == "per-account-channel-peer") {
      base = fmt::format("agent:{}:{}:{}:direct:{}", agent, channelOrUnknown(p.channel),
                         normalizeAccountId(p.accountId), peer);
    } else if (p.dmScope == "per-channel-peer") {
      base = fmt::format("agent:{}:{}:direct:{}", agent, channelOrUnknown(p.channel), peer);
    } else if (p.dmScope == "per-peer") {
      base = fmt::format("agent:{}:direct:{}", agent, peer);
    } else {
      base = buildMainSessionKey(agent);
    }
  } else if (p.groupScope == "main") {
    base = buildMainSessionKey(agent);
  } else {
    std::string peer = normalizeGroupPeerId(p.channel, p.peerKind, p.peerId);
    if (peer.empty()) peer = "unknown";
    base = fmt::format("agent:{}:{}:{}:{}", agent, channelOrUnknown(p.channel), peerKindName(p.peerKind), peer);
  }
  if (p.threadId) return appendThreadSuffix(base, *p.threadId);
  return base;
}

std::string normalizeSessionKey(std::string_view key) {
  std::string_view raw = trimWhitespace(key);
  std::string folded = lowerAscii(raw);
  if (folded.find("signal:") == std::string::npos && folded.find("matrix:") == std::string::npos) return folded;
  std::vector<PreservedSpan> spans;
  collectSignalSpans(folded, spans);
  collectMatrixSpans(raw, folded, spans);
  std::stable_sort(spans.begin(), spans.end(),
                   [](const PreservedSpan& a, const PreservedSpan& b) { return a.start < b.start; });
  std::string out;
  out.reserve(raw.size());
  std::size_t cursor = 0;
  for (const auto& span : spans) {
    if (span.end <= span.start || span.start < cursor) continue;
    out += folded.substr(cursor, span.start - cursor);
    std::string_view preserved = raw.substr(span.start, span.end - span.start);
    out += span.trim ? trimWhitespace(preserved) : preserved;
    cursor = span.end;
  }
  out += folded.substr(cursor);
  return out;
}

std::optional<AgentSessionKey> parseAgentSessionKey(std::string_view key) {
  return splitAgentSessionKey(normalizeSessionKey(key));
}

Result<ClientSessionKey> parseSessionKey(std::string_view key, const AgentRoster& roster,
                                         std::optional<std::string_view> requestedAgentId) {
  std::string_view raw = trimWhitespace(key);
  if (raw.empty()) return fail(ErrorCode::kInvalidArgument, "sessionKey is required");

  std::optional<AgentSessionKey> parsed = parseAgentSessionKey(raw);
  if (!parsed && lowerAscii(raw.substr(0, std::min<std::size_t>(raw.size(), 6))) == "agent:") {
    return fail(ErrorCode::kInvalidArgument, fmt::format("malformed session key \"{}\"", raw),
                "malformed session key: expected agent:<agentId>:<rest>");
  }

  std::optional<std::string> requested;
  if (requestedAgentId && !trimWhitespace(*requestedAgentId).empty()) {
    requested = roster.find(*requestedAgentId);
    if (!requested) return fail(unknownAgent(*requestedAgentId, roster));
  }

  if (parsed) {
    std::string keyAgent = normalizeAgentId(parsed->agentId);
    if (requested && *requested != keyAgent) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("agent \"{}\" does not match session key agent \"{}\"", *requestedAgentId, keyAgent));
    }
    if (keyAgent == kDefaultAgentId && parsed->rest == "main" && !roster.find(kDefaultAgentId)) {
      // Legacy alias: `agent:main:main` names the main session of the agent that owns unscoped work.
      std::optional<std::string> owner = roster.soleAgentId();
      if (!owner) return fail(noOwner(raw, roster));
      return ClientSessionKey{*owner, buildMainSessionKey(*owner)};
    }
    if (!roster.find(keyAgent)) return fail(unknownAgent(parsed->agentId, roster));
    return ClientSessionKey{keyAgent, fmt::format("agent:{}:{}", keyAgent, parsed->rest)};
  }

  std::string owner;
  if (requested) {
    owner = *requested;
  } else if (auto sole = roster.soleAgentId()) {
    owner = *sole;
  } else {
    return fail(noOwner(raw, roster));
  }
  std::string lowered = lowerAscii(raw);
  if (lowered == "main" || lowered == "global") return ClientSessionKey{owner, buildMainSessionKey(owner)};
  return ClientSessionKey{owner, fmt::format("agent:{}:{}", owner, normalizeSessionKey(raw))};
}

}  // namespace talon::gateway::routing
