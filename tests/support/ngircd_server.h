#pragma once
// A real IRC server for the IRC channel's tests: Debian's ngircd (scripts/install-deps.sh), started in
// the foreground (`ngircd -n -f <conf>`) on 127.0.0.1 and a port free at start-up, with its config, PID
// file and MOTD in a temp dir; stopped (SIGTERM, then SIGKILL) on destruction. Run as root (CI), it
// drops to nobody:nogroup (ServerUID/ServerGID), so the temp dir is made world-accessible.
//
// Thread rules: one test thread drives it.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/error.h"
#include "support/temp_dir.h"

namespace talon::testing {

struct NgircdOptions {
  /// Also listen with TLS on tlsPort(), with a self-signed certificate for "localhost" made by the
  /// openssl CLI (certificatePem() is its PEM, to trust it).
  bool tls = false;
};

class NgircdServer {
 public:
  /// Writes the config and starts the server; returns once it accepts connections. Errors: kNotFound
  /// when ngircd is not installed; kUnavailable when it exits or does not listen within 10 s (its
  /// output is in the message); kIo when the certificate cannot be made.
  static Result<std::unique_ptr<NgircdServer>> start(NgircdOptions options = {});
  ~NgircdServer();
  NgircdServer(const NgircdServer&) = delete;
  NgircdServer& operator=(const NgircdServer&) = delete;

  uint16_t port() const { return port_; }
  /// The TLS port (0 without NgircdOptions::tls).
  uint16_t tlsPort() const { return tlsPort_; }
  /// The server certificate (PEM), with NgircdOptions::tls.
  const std::string& certificatePem() const { return certificatePem_; }
  /// Kills the server (SIGKILL: connections drop without a goodbye) and waits for it. Idempotent.
  void kill();
  /// Starts it again on the same port. Errors: as start().
  Status restart();
  bool running() const { return pid_ > 0; }

 private:
  NgircdServer() = default;
  Status launch();

  TempDir dir_{"talon-ngircd"};
  uint16_t port_ = 0;
  uint16_t tlsPort_ = 0;
  std::string certificatePem_;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
