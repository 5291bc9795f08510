#pragma once
// The XMPP channel's setting formats (Talon's own channel `channels.xmpp`; OpenClaw 2026.9.6 has no XMPP
// channel; docs/channels.md "XMPP"), as pure checks shared by the config section (which reports
// file:line, config/sections/channel_transports.cpp) and the adapter (gateway/channels/xmpp/xmpp_channel.h,
// which reads the values). JID syntax after RFC 7622 §3, simplified: `local@domain[/resource]`, the
// domain an ASCII host name or IP literal, each part at most 1023 bytes. Pure functions: thread-safe.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/expected.h"
#include "base/json.h"

namespace talon::config {

/// A JID split into its parts; `local` and `domain` are lower-cased (ASCII), `resource` kept as written.
struct XmppJid {
  std::string local;     // may be empty (a server or component JID)
  std::string domain;    // never empty
  std::string resource;  // may be empty

  /// `local@domain` (or `domain`).
  std::string bare() const;
};

/// Parses a JID. Errors: kConfigInvalid for an empty domain or local part before '@', a domain that is
/// not a host name or IP literal, whitespace or control characters, or a part over 1023 bytes.
Result<XmppJid> parseXmppJid(std::string_view jid);

/// The account's `jid`: a bare JID with a local part (`talon@example.org`). Errors: kConfigInvalid.
Result<XmppJid> parseXmppAccountJid(std::string_view jid);

/// True when `host` names this machine's loopback interface: "localhost", 127.0.0.0/8 or ::1. The only
/// hosts `allowPlaintext` is accepted for.
bool isLoopbackHost(std::string_view host);

/// One multi-user chat room to join (`rooms` entry): a string (the room's bare JID) or `{jid, nick?}`.
struct XmppRoom {
  std::string jid;   // the room's bare JID, lower-cased: `room@conference.example.org`
  std::string nick;  // the nick to join with; empty = the account's `nick`
};

/// A problem with one entry of `rooms`: its index, the member at fault ("" = the entry) and what is wrong.
struct XmppRoomError {
  std::size_t index = 0;
  std::string member;
  std::string message;
};

/// Parses `rooms`. Errors: a value that is not an array, an entry that is neither a string nor an
/// object, an unknown member, a `jid` that is not a bare JID with a local part, a `nick` that is empty,
/// holds '/' or control characters, or a room listed twice.
Expected<std::vector<XmppRoom>, XmppRoomError> parseXmppRooms(const json::value& value);

/// Checks a MUC nick (`nick`, `rooms[i].nick`): not empty, at most 1023 bytes, no control characters.
/// Errors: kConfigInvalid.
Status checkXmppNick(std::string_view nick);

}  // namespace talon::config
