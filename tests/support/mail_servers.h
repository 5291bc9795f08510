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
//   - PostfixServer: Debian's postfix as a private instance (its own config, queue and data directories
//     under the temp dir; `postfix -c <dir> start-fg`), the submission server the email channel talks
//     to: STARTTLS with a self-signed certificate, AUTH checked by the DovecotServer's auth service
//     (Postfix's `smtpd_sasl_type = dovecot`), and every accepted message relayed — over STARTTLS with
//     AUTH again — to a SubmissionServer, whose Maildir the test reads. Needs root (Postfix's master
//     drops to Debian's `postfix` user).
// All are stopped on destruction; stop()/start() restart them on the same port.
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
  /// The Unix socket of Dovecot's authentication service (the users of start()), for an SMTP server's
  /// SASL (Postfix `smtpd_sasl_type = dovecot`).
  std::string authSocket() const;

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

class PostfixServer {
 public:
  /// Starts a private Postfix instance that authenticates submitters against `auth` (any user and
  /// password of the DovecotServer) and relays what it accepts to `relay` (logging in as
  /// `relayUser` / `relayPassword`). Errors: kNotFound when postfix is not installed; kFailedPrecondition
  /// when not run as root; kIo when the instance cannot be set up; kUnavailable when it does not listen
  /// within 10 s (its log in the message).
  static Result<std::unique_ptr<PostfixServer>> start(const DovecotServer& auth, const SubmissionServer& relay,
                                                      const std::string& relayUser, const std::string& relayPassword);
  ~PostfixServer();
  PostfixServer(const PostfixServer&) = delete;
  PostfixServer& operator=(const PostfixServer&) = delete;

  uint16_t port() const { return port_; }
  /// "smtp://127.0.0.1:<port>" (STARTTLS before AUTH).
  std::string url() const;
  /// The PEM certificate the server presents (for "localhost" and 127.0.0.1), to trust it.
  std::string certificateFile() const;
  /// `postfix stop`, waited for, so nothing listens on port() any more. Nothing when stopped.
  void stop();
  /// Starts it again on the same port (its queue kept). Errors: as start().
  Status restart();
  /// Postfix's log.
  std::string log() const;

 private:
  PostfixServer() = default;
  Status launch();
  TempDir dir_{"talon-postfix"};
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
