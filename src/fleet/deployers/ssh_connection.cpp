#include "fleet/deployers/ssh_connection.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/text.h"
#include "fleet/local_process.h"

namespace talon::fleet {

namespace {

// A Unix socket path holds at most 107 bytes; ssh appends a random suffix to the path while it creates
// the socket (".XXXXXXXXXXXXXXXX"), and %C expands to 40 hex digits.
constexpr std::size_t kSshMaxControlDirLength = 107 - 1 - 40 - 17;
constexpr std::size_t kSshStderrQuote = 2000;

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

Result<RemoteOutput> SshConnection::run(const std::string& what, const std::string& script) {
  std::vector<std::string> argv = {"ssh"};
  auto options = sshOptions(false);
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.push_back(endpoint_.host);
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
