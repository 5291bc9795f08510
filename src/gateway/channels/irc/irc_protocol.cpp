#include "gateway/channels/irc/irc_protocol.h"

#include <algorithm>

namespace talon::gateway::channels::irc {

namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// Bytes of the code point that starts with `lead` (1 for a stray continuation byte).
std::size_t codePointBytes(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a code point boundary.
std::size_t utf8Cut(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t cut = 0;
  while (cut < text.size()) {
    const std::size_t n = codePointBytes(static_cast<unsigned char>(text[cut]));
    if (cut + n > limit) break;
    cut += n;
  }
  return cut;
}

}  // namespace

std::optional<IrcLine> parseIrcLine(std::string_view line) {
  IrcLine out;
  auto skipSpaces = [&] {
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  };
  auto word = [&] {
    const auto sp = line.find(' ');
    std::string_view w = line.substr(0, sp);
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
    return w;
  };
  if (!line.empty() && line.front() == '@') {
    line.remove_prefix(1);
    out.tags = std::string(word());
    skipSpaces();
  }
  if (!line.empty() && line.front() == ':') {
    line.remove_prefix(1);
    out.prefix = std::string(word());
    skipSpaces();
  }
  for (char c : word()) out.command.push_back(upper(c));
  if (out.command.empty()) return std::nullopt;
  for (;;) {
    skipSpaces();
    if (line.empty()) break;
    if (line.front() == ':') {
      out.params.emplace_back(line.substr(1));
      out.hasTrailing = true;
      break;
    }
    out.params.emplace_back(word());
  }
  return out;
}

IrcPrefix parseIrcPrefix(std::string_view prefix) {
  IrcPrefix p;
  const auto at = prefix.find('@');
  std::string_view nickUser = prefix.substr(0, at);
  if (at != std::string_view::npos) p.host = std::string(prefix.substr(at + 1));
  const auto bang = nickUser.find('!');
  p.nick = std::string(nickUser.substr(0, bang));
  if (bang != std::string_view::npos) p.user = std::string(nickUser.substr(bang + 1));
  return p;
}

std::optional<Ctcp> parseCtcp(std::string_view text) {
  if (text.size() < 2 || text.front() != '\x01') return std::nullopt;
  text.remove_prefix(1);
  if (!text.empty() && text.back() == '\x01') text.remove_suffix(1);  // the closing \x01 is optional
  const auto sp = text.find(' ');
  Ctcp c;
  for (char ch : text.substr(0, sp)) c.command.push_back(upper(ch));
  if (sp != std::string_view::npos) c.args = std::string(text.substr(sp + 1));
  if (c.command.empty()) return std::nullopt;
  return c;
}

bool mentionsNick(std::string_view text, std::string_view nick) {
  if (nick.empty() || text.size() < nick.size()) return false;
  auto boundary = [&](std::size_t pos) {
    const bool before = pos > 0 && isWordChar(text[pos - 1]);
    const bool after = pos < text.size() && isWordChar(text[pos]);
    return before != after;
  };
  for (std::size_t i = 0; i + nick.size() <= text.size(); ++i) {
    bool equal = true;
    for (std::size_t k = 0; k < nick.size() && equal; ++k) equal = lower(text[i + k]) == lower(nick[k]);
    if (equal && boundary(i) && boundary(i + nick.size())) return true;
  }
  return false;
}

std::string stripFormatting(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '\x02':  // bold
      case '\x0f':  // reset
      case '\x11':  // monospace
      case '\x16':  // reverse
      case '\x1d':  // italic
      case '\x1e':  // strike-through
      case '\x1f':  // underline
        break;
      case '\x03': {  // colour: up to two digits, optionally ",<up to two digits>"
        std::size_t j = i + 1;
        for (int n = 0; n < 2 && j < text.size() && isDigit(text[j]); ++n) ++j;
        if (j > i + 1 && j + 1 < text.size() && text[j] == ',' && isDigit(text[j + 1])) {
          ++j;
          for (int n = 0; n < 2 && j < text.size() && isDigit(text[j]); ++n) ++j;
        }
        i = j - 1;
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return out;
}

bool isChannelName(std::string_view target) {
  return !target.empty() && (target[0] == '#' || target[0] == '&' || target[0] == '+' || target[0] == '!');
}

std::string alternativeNick(std::string_view nick, int attempt) {
  constexpr std::size_t kMaxNick = 30;
  const std::size_t n = static_cast<std::size_t>(std::clamp(attempt, 1, static_cast<int>(kMaxNick) - 1));
  std::string out(nick.substr(0, std::min(nick.size(), kMaxNick - n)));
  out.append(n, '_');
  return out;
}

std::vector<std::string> splitPrivmsgText(std::string_view text, std::size_t overheadBytes) {
  const std::size_t budget =
      overheadBytes + 2 < kMaxLineBytes ? kMaxLineBytes - 2 - overheadBytes : static_cast<std::size_t>(1);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string line;
    for (char c : text.substr(start, end - start)) {
      const auto u = static_cast<unsigned char>(c);
      // Keep printable text, tabs, CTCP's \x01 and the formatting codes; drop other C0 controls.
      const bool formatting = c == '\x02' || c == '\x03' || c == '\x0f' || c == '\x11' || c == '\x16' || c == '\x1d' ||
                              c == '\x1e' || c == '\x1f' || c == '\x01';
      if (u >= 0x20 || c == '\t' || formatting) line.push_back(c);
    }
    std::string_view rest = line;
    while (!rest.empty()) {
      std::size_t cut = utf8Cut(rest, budget);
      if (cut == 0) cut = std::min(rest.size(), codePointBytes(static_cast<unsigned char>(rest[0])));
      if (cut < rest.size()) {
        const auto space = rest.substr(0, cut).rfind(' ');
        if (space != std::string_view::npos && space >= cut / 2 && space > 0) cut = space + 1;
      }
      std::string_view piece = rest.substr(0, cut);
      rest.remove_prefix(cut);
      while (!piece.empty() && piece.back() == ' ' && !rest.empty()) piece.remove_suffix(1);
      if (!piece.empty()) out.emplace_back(piece);
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return out;
}

std::size_t privmsgOverhead(std::string_view nick, std::string_view user, std::string_view host,
                            std::string_view target) {
  constexpr std::size_t kMaxUser = 10;
  constexpr std::size_t kMaxHost = 63;
  const std::size_t u = user.empty() ? kMaxUser : user.size();
  const std::size_t h = host.empty() ? kMaxHost : host.size();
  // ":" nick "!" user "@" host " PRIVMSG " target " :"
  return 1 + nick.size() + 1 + u + 1 + h + 9 + target.size() + 2;
}

}  // namespace talon::gateway::channels::irc
