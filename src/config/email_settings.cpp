#include "config/email_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace talon::config {

Result<MailServerUrl> parseMailServerUrl(std::string_view kind, std::string_view url) {
  MailServerUrl out;
  const std::string plain = std::string(kind) + "://";
  const std::string tls = std::string(kind) + "s://";
  std::string_view rest;
  if (url.rfind(plain, 0) == 0) {
    rest = url.substr(plain.size());
  } else if (url.rfind(tls, 0) == 0) {
    rest = url.substr(tls.size());
    out.implicitTls = true;
  } else {
    return fail(ErrorCode::kInvalidArgument, fmt::format("must start with {} or {}", plain, tls));
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("must be {}host[:port] (no path, user or query; the mailbox is `mailbox`)", plain));
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "an IPv6 host lacks its ']'");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(ErrorCode::kInvalidArgument, "unexpected text after the host");
      port = rest.substr(1);
    }
  } else {
    const auto colon = rest.find(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty()) return fail(ErrorCode::kInvalidArgument, "has no host");
  if (!port.empty() || rest.find(':') != std::string_view::npos) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return fail(ErrorCode::kInvalidArgument, "the port must be 1–65535");
    }
    out.port = p;
  } else if (kind == "imap") {
    out.port = out.implicitTls ? 993 : 143;
  } else {
    out.port = out.implicitTls ? 465 : 587;
  }
  return out;
}

bool isMailAddress(std::string_view a) {
  const auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= a.size() || a.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(a.begin(), a.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',' || c == '"' || c == 0x7F;
  });
}

}  // namespace talon::config
