#pragma once
// What a channel adapter (or chat.send, or the OpenAI-compatible endpoint) hands to the gateway for
// one message that arrived: where it came from and what it says. Plain data, freely copyable.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::gateway::routing {

/// The kind of conversation a message belongs to. OpenClaw `ChatType` (dist `chat-type-*.mjs`).
enum class PeerKind {
  kDirect,   // a one-to-one conversation (legacy name "dm")
  kGroup,    // a group chat
  kChannel,  // a channel or room; interchangeable with kGroup for binding matches
};

/// "direct" | "group" | "channel".
std::string_view peerKindName(PeerKind kind);

/// Parses a peer kind as OpenClaw's `normalizeChatType` does: trimmed, case-insensitive, "dm" is an
/// alias of "direct". nullopt for anything else.
std::optional<PeerKind> parsePeerKind(std::string_view raw);

/// The conversation partner: a user (direct) or a group/channel, identified by the channel's own id.
struct Peer {
  PeerKind kind = PeerKind::kDirect;
  std::string id;  // the channel's id, as sent (case is significant for binding matches)
};

/// The peer a target's `to` names (the `send` method, alert targets, cron announce delivery, heartbeat
/// targets, channel probes): "<kind>:<id>" with kind user|dm|direct, group or channel; anything else
/// (a bare id, or a prefix with nothing after it) is a direct peer with `to` as its id.
Peer parsePeerTarget(std::string_view to);

/// One inbound message. `channel` and `accountId` are taken as sent and normalised by routing.
struct InboundMessage {
  std::string channel;    // "telegram", "discord", "webchat", ...
  std::string accountId;  // the channel account that received it; empty = the default account
  Peer peer;
  /// For a message in a thread: the conversation the thread belongs to (binding tier
  /// "binding.peer.parent").
  std::optional<Peer> parentPeer;
  std::optional<std::string> guildId;    // Discord guild
  std::optional<std::string> teamId;     // Slack / MS Teams team
  std::vector<std::string> memberRoles;  // the sender's role ids in the guild
  std::string sender;                    // the sender's id on the channel
  std::string text;
  /// In a group: whether the message mentions the agent (a native @mention, a reply to the agent), as
  /// the channel detected it; nullopt when the channel cannot tell (mention gating is then not enforced,
  /// as in OpenClaw: "gating is enforced only when detection is possible").
  std::optional<bool> mentioned;
  /// Thread within the conversation (Slack thread ts, Discord thread id): the session key gets
  /// `:thread:<id>`.
  std::optional<std::string> threadId;
};

}  // namespace talon::gateway::routing
