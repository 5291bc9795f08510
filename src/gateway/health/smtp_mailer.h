#pragma once
// Plain-text mail over SMTP for alert targets (docs/alerts.md "Email"), through libcurl (STYLE.md's
// choice for SMTP): RFC 5321 submission with STARTTLS (required), implicit TLS (smtps) or none, optional
// AUTH with a username and password. The message is RFC 5322 text built here (headers sanitised, a
// non-ASCII subject as an RFC 2047 encoded-word, UTF-8 body, CRLF line ends; libcurl dot-stuffs it).
//
// Thread rules: sendMail() blocks (DNS, connect, the whole SMTP exchange, up to `timeout`); call it on
// Executors::blocking, never on an I/O thread. Thread-safe: each call uses its own curl handle.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace talon::gateway::health {

/// Where and how to submit mail.
struct SmtpSettings {
  std::string host;
  /// 0: 587 for "starttls", 465 for "tls", 25 for "none".
  int port = 0;
  /// "starttls" (STARTTLS required; the server certificate is verified), "tls" (implicit TLS) or "none".
  std::string security = "starttls";
  /// With a username, AUTH is used (the mechanism libcurl and the server agree on).
  std::string username;
  std::string password;
  /// The whole exchange's budget.
  std::chrono::milliseconds timeout{30'000};
};

/// One message.
struct MailMessage {
  std::string from;  // a bare address (name@example.com)
  std::string to;    // a bare address
  std::string subject;
  std::string body;  // UTF-8 text; any line ends
  /// Extra headers (name, value), e.g. X-Talon-Alert-Key. CR and LF in values are replaced by spaces.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The RFC 5322 text of `message`: Date (from `nowMs`, ms since epoch, in UTC), From, To, Subject,
/// Message-ID (`messageId`, without angle brackets), MIME-Version, Content-Type text/plain; charset=utf-8,
/// Content-Transfer-Encoding 8bit, the extra headers, a blank line and the body with CRLF line ends.
/// Pure.
std::string renderMail(const MailMessage& message, int64_t nowMs, const std::string& messageId);

/// Sends `message` through `smtp` (blocking; see the header comment). Errors: kInvalidArgument (an empty
/// host, from or to), kUnavailable (cannot connect, TLS or STARTTLS failed), kDeadlineExceeded (the
/// timeout passed), kUnauthenticated (AUTH refused), kUpstream (the server refused the sender, the
/// recipient or the data); the message names the server's reply where there is one, never the password.
Status sendMail(const SmtpSettings& smtp, const MailMessage& message, int64_t nowMs);

}  // namespace talon::gateway::health
