#pragma once
// Real mail servers for the email channel's tests (tests/email/), each started on 127.0.0.1 and a port
// free at start-up, with everything it writes in a temp dir:
//   - DovecotServer: Debian's dovecot-imapd (`dovecot -F -c <conf>`), IMAP without TLS (plain login
//     allowed), users from a passwd-file, Maildirs under the temp dir. Run as root it drops to Debian's
//     `dovecot` / `dovenull` users (the mail is stored as `dovecot`); run as anyone else, every process is
//     that user. Mail arrives through Dovecot's own delivery agent, dovecot-lda (deliver()), new and
//     unread as a mail server would leave it.
//   - SubmissionServer: an SMTP submission server with AUTH (python3-aiosmtpd's Controller, a script
//     written into the temp dir), STARTTLS offered with a self-signed certificate for "localhost" made by
//     the openssl CLI and required before AUTH; it stores every accepted message in a Maildir (with
//     X-MailFrom and X-RcptTo headers), which the test reads as the peer's mailbox (messages()).
// Both are stopped on destruction; stop()/start() restart them on the same port.
//
// Thread rules: one test thread drives each.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "support/temp_dir.h"

namespace talon::testing {

class DovecotServer {
 public:
  /// Starts Dovecot with `users` (name → password). Errors: kNotFound when dovecot-imapd is not installed;
  /// kUnavailable when it exits or does not listen within 10 s (its log in the message); kIo when the
  /// config cannot be written.
  static Result<std::unique_ptr<DovecotServer>> start(std::map<std::string, std::string> users);
  ~DovecotServer();
  DovecotServer(const DovecotServer&) = delete;
  DovecotServer& operator=(const DovecotServer&) = delete;

  uint16_t port() const { return port_; }
  /// "imap://127.0.0.1:<port>".
  std::string url() const;
  /// Delivers `message` (RFC 5322 text) into `user`'s INBOX with dovecot-lda, unread. Errors: kIo when
  /// dovecot-lda cannot be run or fails (its output and Dovecot's log in the message).
  Status deliver(const std::string& user, const std::string& message) const;
  /// Stops the server (SIGTERM to the master, which ends its children; waited for) so nothing listens on
  /// port() any more. Nothing when stopped.
  void stop();
  /// Starts it again on the same port with the same mail. Errors: as start().
  Status restart();
  /// Dovecot's log.
  std::string log() const;

 private:
  DovecotServer() = default;
  Status launch();
  TempDir dir_{"talon-dovecot"};
  std::map<std::string, std::string> users_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

class SubmissionServer {
 public:
  /// Starts the server accepting AUTH by `username` / `password` only (after STARTTLS). Errors: kNotFound
  /// when python3-aiosmtpd is not installed; kIo when no certificate can be made; kUnavailable when it
  /// exits or does not listen within 10 s.
  static Result<std::unique_ptr<SubmissionServer>> start(const std::string& username, const std::string& password);
  ~SubmissionServer();
  SubmissionServer(const SubmissionServer&) = delete;
  SubmissionServer& operator=(const SubmissionServer&) = delete;

  uint16_t port() const { return port_; }
  /// "smtp://127.0.0.1:<port>" (STARTTLS required by the server).
  std::string url() const;
  /// The PEM certificate the server presents (for "localhost"), to trust it.
  std::string certificateFile() const;
  /// The messages accepted so far (the whole stored text), in the order they arrived.
  std::vector<std::string> messages() const;
  void stop();
  Status restart();
  std::string log() const;

 private:
  SubmissionServer() = default;
  Status launch();
  TempDir dir_{"talon-submission"};
  std::string username_;
  std::string password_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
