#pragma once
// One remote host reached with the OpenSSH client (`ssh`, `scp` run as child processes), for the `ssh`
// provider (ssh_deployer.h). The operator's keys, agent (SSH_AUTH_SOCK) and ~/.ssh/config apply; Talon adds
// BatchMode=yes (never a prompt), a connect timeout, host key checking (StrictHostKeyChecking "yes" or
// "accept-new", never off) and a ControlMaster socket under the fleet state dir, so that the many commands
// of one apply share one SSH connection. Nothing secret is ever put on a command line: files travel by
// scp, commands carry paths and names only.
//
// Thread rules: one thread at a time per SshConnection; calls block until the child process exits.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"

namespace talon::fleet {

/// How to reach a host: the inventory's `host` and `ssh` keys (docs/fleet.md "The ssh provider").
struct SshEndpoint {
  /// The ssh destination: a host name, an address or an alias of the operator's ~/.ssh/config.
  std::string host;
  /// "" : ssh's default (the ssh config's User, else the local login name).
  std::string user;
  /// 0: ssh's default (the ssh config's Port, else 22).
  int port = 0;
  /// "" : the operator's keys and agent.
  std::string identityFile;
  /// "" : the operator's known_hosts (~/.ssh/known_hosts and the system's).
  std::string knownHostsFile;
  /// OpenSSH's StrictHostKeyChecking: "yes" (an unknown or changed host key is refused) or "accept-new"
  /// (an unknown host's key is recorded on first contact; a changed key is still refused).
  std::string strictHostKeyChecking = "yes";
  /// ConnectTimeout, seconds.
  int connectTimeoutSeconds = 10;
};

/// What a remote command printed and how it exited.
struct RemoteOutput {
  int exitCode = -1;
  std::string out;
  std::string err;
};

class SshConnection {
 public:
  /// `controlDir` holds the ControlMaster socket (created 0700 by the first command; a path too long for a Unix
  /// socket falls back to a per-user directory under the system temp dir).
  SshConnection(SshEndpoint endpoint, std::filesystem::path controlDir);
  /// Closes the shared connection (`ssh -O exit`).
  ~SshConnection();
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;

  /// Runs `script` with `sh -c` on the host and returns its output, whatever its exit code. Errors
  /// (naming the destination, `what` and ssh's stderr): kUnavailable when ssh itself failed (exit 255:
  /// unreachable, refused, authentication, a host key that does not match); kNotFound when no `ssh`
  /// executable is installed here.
  Result<RemoteOutput> run(const std::string& what, const std::string& script);
  /// As run(), and a non-zero exit of `script` is an error too (kIo, with its stderr).
  Result<std::string> runChecked(const std::string& what, const std::string& script);
  /// Copies the local file `local` to `remotePath` (absolute) on the host with scp. Errors: kIo naming
  /// both paths with scp's stderr; kUnavailable as run().
  Status upload(const std::filesystem::path& local, const std::string& remotePath);
  /// Runs `script` with `sh -c` on the host with its stdout written to the local file `localFile` (created
  /// or truncated, mode 0600) rather than kept in memory: for streams of any size, e.g. a tar of a state
  /// dir. Returns the exit code and stderr (`out` is empty). Errors as run().
  Result<RemoteOutput> runToFile(const std::string& what, const std::string& script,
                                 const std::filesystem::path& localFile);
  /// Opens a local port forward over the shared connection (`ssh -O forward -L
  /// 127.0.0.1:<free port>:<remoteHost>:<remotePort>`): a connection to 127.0.0.1:<returned port> here is
  /// made to remoteHost:remotePort by the host. Opens the connection first when none is open. Errors:
  /// kUnavailable naming the destination, the forward and ssh's stderr (e.g. forwarding refused by the
  /// server's AllowTcpForwarding).
  Result<int> openForward(const std::string& remoteHost, int remotePort);
  /// Cancels a forward of openForward() (`ssh -O cancel -L …`); closing the connection ends it too.
  void cancelForward(int localPort, const std::string& remoteHost, int remotePort);
  /// Closes the shared connection now (idempotent).
  void close();

  /// "user@host:port" as the operator would recognise it (user and port only when set).
  std::string destination() const;
  const SshEndpoint& endpoint() const { return endpoint_; }
  /// The ssh options Talon adds (each "-o Name=value" pair, -p, -i), for tests and messages.
  std::vector<std::string> sshOptions(bool forScp) const;

 private:
  /// The argv of `ssh` with Talon's options, up to and including the destination.
  std::vector<std::string> sshCommand() const;
  /// "127.0.0.1:<localPort>:<remoteHost>:<remotePort>", the host in brackets when it is an IPv6 literal.
  static std::string forwardSpec(int localPort, const std::string& remoteHost, int remotePort);

  SshEndpoint endpoint_;
  std::filesystem::path controlPath_;
  bool used_ = false;
};

/// `s` quoted for a POSIX shell: inside single quotes, each ' written as '\''.
std::string shellQuote(const std::string& s);

}  // namespace talon::fleet
