#pragma once
// A real XMPP server for the XMPP channel's tests: Debian's Prosody 0.12 (scripts/install-deps.sh),
// started in the foreground (`prosody -F --config <file>`) with a generated config in a temp dir: one
// virtual host "localhost" with client-to-server on 127.0.0.1 and a port free at start-up, a multi-user
// chat component "conference.localhost" (rooms created on first join, unlocked), no TLS (no
// certificate: the channel connects with `allowPlaintext`), no server-to-server, no HTTP. Accounts are
// created with `prosodyctl --config <file> register`; the data directory (accounts, offline messages)
// survives restart(). Stopped (SIGKILL) on destruction.
//
// Thread rules: one test thread drives it.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.h"
#include "support/temp_dir.h"

namespace talon::testing {

class ProsodyServer {
 public:
  /// The virtual host and the MUC component's domain.
  static constexpr const char* kDomain = "localhost";
  static constexpr const char* kMucDomain = "conference.localhost";

  /// Writes the config and starts Prosody; returns once it accepts connections. Errors: kNotFound when
  /// prosody is not installed; kUnavailable when it exits or does not listen within 10 s (its log in
  /// the message); kIo when a file cannot be written.
  static Result<std::unique_ptr<ProsodyServer>> start();
  ~ProsodyServer();
  ProsodyServer(const ProsodyServer&) = delete;
  ProsodyServer& operator=(const ProsodyServer&) = delete;

  /// Creates the account `user@localhost` with `password` (prosodyctl register). Errors: kIo when
  /// prosodyctl fails (its output in the message).
  Status registerUser(const std::string& user, const std::string& password);

  /// The client-to-server port on 127.0.0.1.
  uint16_t port() const { return port_; }
  /// Kills Prosody (SIGKILL: every stream drops without a goodbye) and waits for it. Idempotent.
  void kill();
  /// Starts it again on the same port with the same data. Errors: as start().
  Status restart();
  bool running() const { return pid_ > 0; }
  /// Prosody's log so far (for failure messages).
  std::string log() const;

 private:
  ProsodyServer() = default;
  Status launch();

  TempDir dir_{"talon-prosody"};
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
