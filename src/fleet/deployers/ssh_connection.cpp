#include "fleet/deployers/ssh_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/hash.h"
#include "base/text.h"
#include "fleet/local_process.h"

namespace talon::fleet {

namespace {

// A Unix socket path holds at most 107 bytes; ssh appends a random suffix to the path while it creates
// the socket (".XXXXXXXXXXXXXXXX"), and %C expands to 40 hex digits.
constexpr std::size_t kSshMaxControlDirLength = 107 - 1 - 40 - 17;
constexpr std::size_t kSshStderrQuote = 2000;
constexpr int kSshForwardAttempts = 3;

std::string sshStderr(const std::string& err) {
  std::string s = trimWhitespace(err);
  return s.empty() ? "(ssh printed nothing)" : truncateUtf8(s, kSshStderrQuote);
}

std::filesystem::path sshControlDirFor(const std::filesystem::path& wanted) {
  std::filesystem::path dir = wanted;
  if (dir.string().size() > kSshMaxControlDirLength) {
    std::error_code ec;
    dir = std::filesystem::temp_directory_path(ec) /
          ("talon-ssh-" + std::to_string(::getuid()) + "-" + sha256Hex(wanted.string()).substr(0, 12));
  }
  return dir;
}

/// Creates the socket's directory (0700) before ssh needs it; ssh reports it when that failed.
void sshCreateControlDir(const std::filesystem::path& controlPath) {
  std::error_code ec;
  std::filesystem::create_directories(controlPath.parent_path(), ec);
  ::chmod(controlPath.parent_path().c_str(), 0700);
}

/// A TCP port free on 127.0.0.1 now (bound to port 0 and released). Errors: kIo.
Result<int> sshFreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  int err = errno;
  ::close(fd);
  if (port == 0) return fail(ErrorCode::kIo, std::string("no free port on 127.0.0.1: ") + std::strerror(err));
  return port;
}

}  // namespace

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

SshConnection::SshConnection(SshEndpoint endpoint, std::filesystem::path controlDir)
    : endpoint_(std::move(endpoint)), controlPath_(sshControlDirFor(controlDir) / "%C") {}

SshConnection::~SshConnection() { close(); }

std::string SshConnection::destination() const {
  std::string d = endpoint_.user.empty() ? endpoint_.host : endpoint_.user + "@" + endpoint_.host;
  if (endpoint_.port != 0) d += ":" + std::to_string(endpoint_.port);
  return d;
}

std::vector<std::string> SshConnection::sshOptions(bool forScp) const {
  std::vector<std::string> o = {"-o", "BatchMode=yes",
                                "-o", "ConnectTimeout=" + std::to_string(endpoint_.connectTimeoutSeconds),
                                "-o", "StrictHostKeyChecking=" + endpoint_.strictHostKeyChecking,
                                "-o", "ControlMaster=auto",
                                "-o", "ControlPath=" + controlPath_.string(),
                                "-o", "ControlPersist=60",
                                "-o", "ServerAliveInterval=15",
                                "-o", "ServerAliveCountMax=3",
                                "-o", "LogLevel=ERROR"};
  if (!endpoint_.knownHostsFile.empty()) {
    o.insert(o.end(), {"-o", "UserKnownHostsFile=" + endpoint_.knownHostsFile});
  }
  if (!endpoint_.user.empty()) o.insert(o.end(), {"-o", "User=" + endpoint_.user});
  if (endpoint_.port != 0) o.insert(o.end(), {forScp ? "-P" : "-p", std::to_string(endpoint_.port)});
  if (!endpoint_.identityFile.empty()) {
    o.insert(o.end(), {"-i", endpoint_.identityFile, "-o", "IdentitiesOnly=yes"});
  }
  return o;
}

std::vector<std::string> SshConnection::sshCommand() const {
  std::vector<std::string> argv = {"ssh"};
  auto options = sshOptions(false);
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.push_back(endpoint_.host);
  return argv;
}

Result<RemoteOutput> SshConnection::run(const std::string& what, const std::string& script) {
  std::vector<std::string> argv = sshCommand();
  // The remote side hands the command line to the login shell: one quoted argument for sh.
  argv.push_back("sh -c " + shellQuote(script));
  sshCreateControlDir(controlPath_);
  used_ = true;
  auto r = runCommand(argv, {});
  if (!r) {
    if (r.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "no `ssh` executable here (install openssh-client): " + r.error().message);
    return fail(r.error());
  }
  if (r->exitCode == 255) {
    return fail(ErrorCode::kUnavailable, "ssh " + destination() + " failed (" + what + "): " + sshStderr(r->err));
  }
  return RemoteOutput{r->exitCode, std::move(r->out), std::move(r->err)};
}

Result<std::string> SshConnection::runChecked(const std::string& what, const std::string& script) {
  auto r = run(what, script);
  if (!r) return fail(r.error());
  if (r->exitCode != 0) {
    return fail(ErrorCode::kIo, "on " + destination() + ": " + what + " failed (exit " + std::to_string(r->exitCode) +
                                    "): " + sshStderr(r->err));
  }
  return std::move(r->out);
}

Status SshConnection::upload(const std::filesystem::path& local, const std::string& remotePath) {
  std::vector<std::string> argv = {"scp", "-q"};
  auto options = sshOptions(true);
  argv.insert(argv.end(), options.begin(), options.end());
  std::string host = endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host;
  argv.push_back("--");
  argv.push_back(local.string());
  argv.push_back(host + ":" + remotePath);
  sshCreateControlDir(controlPath_);
  used_ = true;
  auto r = runCommand(argv, {});
  if (!r) {
    if (r.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound, "no `scp` executable here (install openssh-client): " + r.error().message);
    return fail(r.error());
  }
  if (r->exitCode == 255) {
    return fail(ErrorCode::kUnavailable,
                "scp to " + destination() + " failed (copying " + remotePath + "): " + sshStderr(r->err));
  }
  if (r->exitCode != 0) {
    return fail(ErrorCode::kIo, "scp " + local.string() + " to " + destination() + ":" + remotePath + " failed (exit " +
                                    std::to_string(r->exitCode) + "): " + sshStderr(r->err));
  }
  return {};
}

Result<RemoteOutput> SshConnection::runToFile(const std::string& what, const std::string& script,
                                              const std::filesystem::path& localFile) {
  // sh redirects ssh's stdout into the file: the stream never passes through this process's memory.
  std::string line = "umask 077; exec";
  for (const auto& a : sshCommand()) line += " " + shellQuote(a);
  line += " " + shellQuote("sh -c " + shellQuote(script)) + " > " + shellQuote(localFile.string());
  sshCreateControlDir(controlPath_);
  used_ = true;
  auto r = runCommand({"sh", "-c", line}, {});
  if (!r) return fail(r.error());
  if (r->exitCode == 127)
    return fail(ErrorCode::kNotFound, "no `ssh` executable here (install openssh-client): " + sshStderr(r->err));
  if (r->exitCode == 255) {
    return fail(ErrorCode::kUnavailable, "ssh " + destination() + " failed (" + what + "): " + sshStderr(r->err));
  }
  return RemoteOutput{r->exitCode, {}, std::move(r->err)};
}

std::string SshConnection::forwardSpec(int localPort, const std::string& remoteHost, int remotePort) {
  std::string host = remoteHost.find(':') != std::string::npos ? "[" + remoteHost + "]" : remoteHost;
  return "127.0.0.1:" + std::to_string(localPort) + ":" + host + ":" + std::to_string(remotePort);
}

Result<int> SshConnection::openForward(const std::string& remoteHost, int remotePort) {
  // The master must run before it can be asked for a forward: one round trip starts it (or reuses it).
  if (auto opened = runChecked("opening the connection for a port forward", ":"); !opened) return fail(opened.error());
  std::string lastError;
  for (int attempt = 0; attempt < kSshForwardAttempts; ++attempt) {
    auto port = sshFreeLoopbackPort();
    if (!port) return fail(port.error());
    std::vector<std::string> argv = sshCommand();
    // "-O forward -L spec" goes before "--" and the destination.
    auto dashes = std::find(argv.begin(), argv.end(), std::string("--"));
    argv.insert(dashes, {"-O", "forward", "-L", forwardSpec(*port, remoteHost, remotePort)});
    auto r = runCommand(argv, {});
    if (!r) return fail(r.error());
    if (r->exitCode == 0) return *port;
    lastError = sshStderr(r->err);
    // Another process took the port between the probe and ssh's bind: try another one.
    if (lastError.find("forwarding failed") == std::string::npos) break;
  }
  return fail(ErrorCode::kUnavailable, "ssh " + destination() + " failed (forwarding a local port to " + remoteHost +
                                           ":" + std::to_string(remotePort) + " on the host): " + lastError);
}

void SshConnection::cancelForward(int localPort, const std::string& remoteHost, int remotePort) {
  if (!used_) return;
  std::vector<std::string> argv = sshCommand();
  auto dashes = std::find(argv.begin(), argv.end(), std::string("--"));
  argv.insert(dashes, {"-O", "cancel", "-L", forwardSpec(localPort, remoteHost, remotePort)});
  // A master that already exited took the forward with it: nothing to report.
  (void)runCommand(argv, {});
}

void SshConnection::close() {
  if (!used_) return;
  used_ = false;
  std::vector<std::string> argv = {"ssh", "-o", "ControlPath=" + controlPath_.string(), "-O", "exit"};
  if (!endpoint_.user.empty()) argv.insert(argv.end(), {"-o", "User=" + endpoint_.user});
  if (endpoint_.port != 0) argv.insert(argv.end(), {"-p", std::to_string(endpoint_.port)});
  argv.push_back("--");
  argv.push_back(endpoint_.host);
  // No master (it already exited, or none was started): nothing to close, nothing to report.
  (void)runCommand(argv, {});
}

}  // namespace talon::fleet
