#pragma once
// IRC as data (RFC 1459 §2.3.1, RFC 2812 §2.3.1; IRCv3 message tags): parsing a line, the sender
// prefix, CTCP, the bot-mention rule, and splitting outbound text into PRIVMSG lines that fit the
// 512-byte line limit. Pure functions, no sockets; thread-safe.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::gateway::channels::irc {

/// The longest IRC line in bytes, CR LF included (RFC 2812 §2.3), not counting IRCv3 tags.
inline constexpr std::size_t kMaxLineBytes = 512;

/// One parsed line. `params` holds the middle parameters and, last, the trailing one (after " :").
struct IrcLine {
  std::string tags;     // the raw IRCv3 tags (without '@'), tolerated and not interpreted
  std::string prefix;   // without the leading ':'; empty when the line has none
  std::string command;  // upper-cased; a numeric reply stays as its three digits
  std::vector<std::string> params;
  bool hasTrailing = false;  // the last param came after " :" (it may contain spaces or be empty)
};

/// Parses `line` (without CR LF). nullopt for a line without a command.
std::optional<IrcLine> parseIrcLine(std::string_view line);

/// A message prefix `nick!user@host` (user and host may be empty; a server name is all `nick`).
struct IrcPrefix {
  std::string nick;
  std::string user;
  std::string host;
};
IrcPrefix parseIrcPrefix(std::string_view prefix);

/// A CTCP request carried in a PRIVMSG (`\x01COMMAND args\x01`); nullopt for plain text.
struct Ctcp {
  std::string command;  // upper-cased: "ACTION", "VERSION", ...
  std::string args;
};
std::optional<Ctcp> parseCtcp(std::string_view text);

/// True when `text` addresses `nick`, as OpenClaw's IRC channel decides (extensions/irc/src/inbound.ts:
/// the pattern `\b<nick>\b[:,]?`, case-insensitive; `\b` is JavaScript's ASCII word boundary).
bool mentionsNick(std::string_view text, std::string_view nick);

/// Removes mIRC formatting codes (bold, colour with its digits, italic, underline, strike, reverse,
/// reset, monospace) from inbound text.
std::string stripFormatting(std::string_view text);

/// Whether `target` names a channel (starts with '#', '&', '+' or '!'; RFC 2812 §1.3).
bool isChannelName(std::string_view target);

/// The alternative nick tried after the `attempt`-th (1-based) collision (433/436): the nick cut to
/// 30 - `attempt` bytes, then `attempt` underscores (at most 30 bytes, OpenClaw's nick length cap).
std::string alternativeNick(std::string_view nick, int attempt);

/// Splits `text` into PRIVMSG payloads: one message per line (CR LF, LF or CR; empty lines dropped;
/// NUL and other C0 controls except CTCP's \x01 and formatting codes removed), each cut so that
/// `overheadBytes` + payload + 2 (CR LF) <= kMaxLineBytes, at UTF-8 code point boundaries, preferring
/// the last space in the second half of a piece. `overheadBytes` is what the server puts around the
/// payload when it relays it (`:nick!user@host PRIVMSG <target> :`). At least one byte per piece even
/// for an absurd overhead.
std::vector<std::string> splitPrivmsgText(std::string_view text, std::size_t overheadBytes);

/// The relay overhead of a PRIVMSG from `nick!user@host` to `target`: ":" prefix " PRIVMSG " target
/// " :". An unknown user or host counts as the longest a server gives (user 10 bytes, host 63).
std::size_t privmsgOverhead(std::string_view nick, std::string_view user, std::string_view host,
                            std::string_view target);

}  // namespace talon::gateway::channels::irc
