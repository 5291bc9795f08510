#pragma once
// The email channel's formats in config (`channels.email`, docs/channels.md "Email"): the IMAP and SMTP
// server URLs and the bare mail addresses Talon sends from and to. Checked where the config is written
// (config/sections/channel_transports.cpp) and again by the adapter (gateway/channels/email/).
#include <string>
#include <string_view>

#include "base/error.h"

namespace talon::config {

/// A mail server address from `imapUrl` / `smtpUrl`.
struct MailServerUrl {
  std::string host;
  int port = 0;
  bool implicitTls = false;  // imaps:// or smtps://
};

/// Parses an imap://, imaps://, smtp:// or smtps:// URL of `kind` ("imap" or "smtp"): host, optional port
/// (default 143 / 993 / 587 / 465), nothing after it but an optional '/'. Errors: kInvalidArgument saying
/// what is wrong.
Result<MailServerUrl> parseMailServerUrl(std::string_view kind, std::string_view url);

/// A bare mail address as Talon sends to it: local@domain (one '@', neither side empty), no blanks,
/// angle brackets, commas, quotes or control characters.
bool isMailAddress(std::string_view address);

}  // namespace talon::config
