#pragma once
// A real OpenSSH server for the `ssh` provider's tests (tests/fleet_ssh/): Debian's sshd
// (scripts/install-deps.sh installs openssh-server), started in the foreground (`sshd -D -e -f <conf>`) as
// the current user on 127.0.0.1 and a port free at start-up. Everything is throwaway and lives in a temp
// dir: an Ed25519 host key, a client key pair whose public half is the only authorized key, a known_hosts
// file that trusts the host key (and one that holds a different key, to test a refused host), sshd's
// config, pid file and log. Killed (SIGKILL) on destruction. When run as root, /run/sshd (sshd's privilege
// separation directory) is created if missing.
//
// Thread rules: one test thread drives it.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "support/temp_dir.h"

namespace talon::testing {

struct SshdOptions {
  /// Put first on the PATH of every session (sshd_config SetEnv), e.g. a directory of shims.
  std::string pathPrefix;
  /// More variables of every session, "NAME=value" (sshd_config SetEnv; no spaces or quotes).
  std::vector<std::string> environment;
  /// Run every session in a network namespace of its own (`ip netns add`, loopback up; needs root): the
  /// "remote host" then has a network of its own, and what listens on its 127.0.0.1 cannot be reached from
  /// the test's. sshd then runs per connection in inetd mode (`ip netns exec <ns> sshd -i`), each accepted
  /// on 127.0.0.1:port() here by a thread of the server. start() fails with kUnsupported when the namespace
  /// cannot be made.
  bool networkNamespace = false;
};

class SshdServer {
 public:
  /// Makes the keys and the config and starts sshd; returns once it accepts connections. Errors:
  /// kNotFound when /usr/sbin/sshd or ssh-keygen is not installed; kUnavailable when sshd exits or does
  /// not listen within 10 s (its log is in the message); kIo when a file cannot be written or a key made.
  static Result<std::unique_ptr<SshdServer>> start(SshdOptions options = {});
  ~SshdServer();
  SshdServer(const SshdServer&) = delete;
  SshdServer& operator=(const SshdServer&) = delete;

  uint16_t port() const { return port_; }
  /// The user sessions log in as (the current user).
  const std::string& user() const { return user_; }
  /// The client's private key (the one authorized key).
  std::filesystem::path identityFile() const { return dir_ / "client_ed25519"; }
  /// A known_hosts file trusting this server's host key as [127.0.0.1]:port.
  std::filesystem::path knownHostsFile() const { return dir_ / "known_hosts"; }
  /// A known_hosts file holding another Ed25519 key for [127.0.0.1]:port (a host whose key changed).
  std::filesystem::path wrongKnownHostsFile() const { return dir_ / "known_hosts.wrong"; }
  /// An empty known_hosts file (the host is unknown).
  std::filesystem::path emptyKnownHostsFile() const { return dir_ / "known_hosts.empty"; }
  /// The network namespace's name ("" without SshdOptions::networkNamespace).
  const std::string& networkNamespace() const { return netns_; }
  /// sshd's log so far (for failure messages).
  std::string log() const;
  /// Kills sshd (SIGKILL) and waits for it. Idempotent.
  void kill();

 private:
  SshdServer() = default;

  /// The inetd-mode accept loop of SshdOptions::networkNamespace.
  void acceptLoop();

  TempDir dir_{"talon-sshd"};
  uint16_t port_ = 0;
  std::string user_;
  pid_t pid_ = -1;
  std::string netns_;
  int listenFd_ = -1;
  std::thread acceptThread_;
  std::mutex childrenMutex_;
  std::vector<pid_t> children_;
};

}  // namespace talon::testing
