#include "config/xmpp_settings.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace talon::config {

namespace {

constexpr std::size_t kMaxPartBytes = 1023;

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

bool hasControlOrSpace(std::string_view s, bool allowSpace) {
  return std::any_of(s.begin(), s.end(),
                     [allowSpace](unsigned char c) { return c < 0x20 || c == 0x7f || (!allowSpace && c == ' '); });
}

/// A DNS host name (labels of letters, digits and '-', dots between; an optional final dot is not
/// allowed), an IPv4 literal, or an IPv6 literal in brackets.
bool isDomain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  if (d.front() == '[') {
    if (d.back() != ']' || d.size() < 4) return false;
    return std::all_of(d.begin() + 1, d.end() - 1,
                       [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto c = static_cast<unsigned char>(d[i]);
    if (c == '.') {
      if (label == 0 || d[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
    if (label == 0 && c == '-') return false;
    if (++label > 63) return false;
  }
  return label > 0 && d.back() != '-';
}

Error invalid(std::string what) { return Error{ErrorCode::kConfigInvalid, std::move(what)}; }

}  // namespace

std::string XmppJid::bare() const { return local.empty() ? domain : local + "@" + domain; }

Result<XmppJid> parseXmppJid(std::string_view jid) {
  XmppJid out;
  std::string_view rest = jid;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    out.resource = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (out.resource.empty()) return fail(invalid("\"" + std::string(jid) + "\" has an empty resource after '/'"));
    if (out.resource.size() > kMaxPartBytes || hasControlOrSpace(out.resource, true)) {
      return fail(invalid("\"" + std::string(jid) + "\" has an invalid resource"));
    }
  }
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    const auto local = rest.substr(0, at);
    if (local.empty()) return fail(invalid("\"" + std::string(jid) + "\" has an empty local part before '@'"));
    if (local.size() > kMaxPartBytes || hasControlOrSpace(local, false) ||
        local.find_first_of("\"&'/:<>@") != std::string_view::npos) {
      return fail(invalid("\"" + std::string(jid) + "\" has an invalid local part"));
    }
    out.local = lowerAscii(local);
    rest = rest.substr(at + 1);
  }
  if (!isDomain(rest)) return fail(invalid("\"" + std::string(jid) + "\" has no valid domain"));
  out.domain = lowerAscii(rest);
  return out;
}

Result<XmppJid> parseXmppAccountJid(std::string_view jid) {
  auto parsed = parseXmppJid(jid);
  if (!parsed) return parsed;
  if (parsed->local.empty()) return fail(invalid("\"" + std::string(jid) + "\" needs a local part (user@domain)"));
  if (!parsed->resource.empty()) {
    return fail(invalid("\"" + std::string(jid) + "\" must be a bare JID (the resource is the `resource` key)"));
  }
  return parsed;
}

bool isLoopbackHost(std::string_view host) {
  const std::string h = lowerAscii(host);
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  if (h.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

Status checkXmppNick(std::string_view nick) {
  if (nick.empty()) return fail(invalid("a nick may not be empty"));
  if (nick.size() > kMaxPartBytes) return fail(invalid("a nick is at most 1023 bytes"));
  if (hasControlOrSpace(nick, true)) return fail(invalid("a nick may not hold control characters"));
  return {};
}

Expected<std::vector<XmppRoom>, XmppRoomError> parseXmppRooms(const json::value& value) {
  std::vector<XmppRoom> rooms;
  if (!value.is_array()) return Unexpected(XmppRoomError{0, "", "must be an array"});
  std::set<std::string> seen;
  const auto& items = value.as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    XmppRoom room;
    std::string jid;
    std::string jidMember;
    if (item.is_string()) {
      jid = std::string(item.as_string());
    } else if (item.is_object()) {
      jidMember = "jid";
      for (const auto& kv : item.as_object()) {
        if (kv.key() != "jid" && kv.key() != "nick") {
          return Unexpected(XmppRoomError{i, std::string(kv.key()), "is not a room setting (jid, nick)"});
        }
      }
      const auto* j = item.as_object().if_contains("jid");
      if (j == nullptr || !j->is_string()) return Unexpected(XmppRoomError{i, "jid", "is required (a string)"});
      jid = std::string(j->as_string());
      if (const auto* n = item.as_object().if_contains("nick"); n != nullptr) {
        if (!n->is_string()) return Unexpected(XmppRoomError{i, "nick", "must be a string"});
        if (auto s = checkXmppNick(n->as_string()); !s) return Unexpected(XmppRoomError{i, "nick", s.error().message});
        room.nick = std::string(n->as_string());
      }
    } else {
      return Unexpected(XmppRoomError{i, "", "must be a room JID or {jid, nick}"});
    }
    auto parsed = parseXmppJid(jid);
    if (!parsed) return Unexpected(XmppRoomError{i, jidMember, parsed.error().message});
    if (parsed->local.empty() || !parsed->resource.empty()) {
      return Unexpected(XmppRoomError{i, jidMember, "\"" + jid + "\" is not a room's bare JID (room@service)"});
    }
    room.jid = parsed->bare();
    if (!seen.insert(room.jid).second) {
      return Unexpected(XmppRoomError{i, jidMember, "room \"" + room.jid + "\" is listed twice"});
    }
    rooms.push_back(std::move(room));
  }
  return rooms;
}

}  // namespace talon::config
