#pragma once
// A real MQTT broker for the MQTT channel's tests: Debian's mosquitto (scripts/install-deps.sh), started
// in the foreground (`mosquitto -c <conf>`) on 127.0.0.1 and a port free at start-up, with its config,
// log and (optionally) its dynamic-security file in a temp dir; stopped (SIGKILL) on destruction. No
// persistence: a restart forgets every session, as a broker that lost its disk would.
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

struct MosquittoOptions {
  /// With a username: the dynamic-security plugin (mosquitto_dynamic_security.so) knows this one client
  /// with `password`; anonymous clients stay allowed (publish and subscribe anything).
  std::string username;
  std::string password;
  /// Topic filters `username` may not subscribe to: the broker's SUBACK refuses them (0x87, not
  /// authorised).
  std::vector<std::string> deniedSubscriptions;
  /// Also listen with TLS on tlsPort(), with a self-signed certificate for "localhost" made by the
  /// openssl CLI (certificateFile() is its PEM file, to trust it).
  bool tls = false;
};

class MosquittoServer {
 public:
  /// Writes the config and starts the broker; returns once it accepts connections. Errors: kNotFound when
  /// mosquitto (or, with a username, mosquitto_ctrl) is not installed; kUnavailable when it exits or does
  /// not listen within 10 s (its log is in the message); kIo when a file cannot be written.
  static Result<std::unique_ptr<MosquittoServer>> start(MosquittoOptions options = {});
  ~MosquittoServer();
  MosquittoServer(const MosquittoServer&) = delete;
  MosquittoServer& operator=(const MosquittoServer&) = delete;

  uint16_t port() const { return port_; }
  /// The TLS port (0 without MosquittoOptions::tls).
  uint16_t tlsPort() const { return tlsPort_; }
  /// The server certificate's PEM file, with MosquittoOptions::tls.
  std::string certificateFile() const;
  /// "mqtt://127.0.0.1:<port>".
  std::string url() const;
  /// Kills the broker (SIGKILL: connections drop without a goodbye) and waits for it. Idempotent.
  void kill();
  /// Starts it again on the same port. Errors: as start().
  Status restart();
  bool running() const { return pid_ > 0; }
  /// The broker's log so far (for failure messages).
  std::string log() const;

 private:
  MosquittoServer() = default;
  Status launch();

  TempDir dir_{"talon-mosquitto"};
  uint16_t port_ = 0;
  uint16_t tlsPort_ = 0;
  pid_t pid_ = -1;
};

}  // namespace talon::testing
