#pragma once
// A real SMTP server for the email alert tests: Debian's python3-aiosmtpd (scripts/install-deps.sh),
// started as `python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c aiosmtpd.handlers.Mailbox <maildir>` on a port
// free at start-up; every message it accepts is stored in a Maildir in a temp dir (the Message handler
// adds X-MailFrom and X-RcptTo with the envelope). Stopped (SIGKILL) on destruction.
//
// Thread rules: one test thread drives it.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "support/temp_dir.h"

namespace talon::testing {

class SmtpServer {
 public:
  /// Starts the server; returns once it accepts connections. Errors: kNotFound when python3-aiosmtpd is
  /// not installed; kUnavailable when it exits or does not listen within 10 s (its output is in the
  /// message).
  static Result<std::unique_ptr<SmtpServer>> start();
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  uint16_t port() const { return port_; }
  /// The messages received so far (each the whole stored text: headers, blank line, body), oldest first.
  std::vector<std::string> messages() const;

 private:
  SmtpServer() = default;
  TempDir dir_{"talon-smtp"};
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
