#include "support/sshd_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kSshd = "/usr/sbin/sshd";
constexpr const char* kSshKeygen = "/usr/bin/ssh-keygen";
constexpr const char* kSftpServer = "/usr/lib/openssh/sftp-server";

std::string sshdReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sshdQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Status makeKey(const std::filesystem::path& file, const std::string& comment) {
  const std::string command = std::string(kSshKeygen) + " -q -t ed25519 -N '' -C " + sshdQuote(comment) + " -f " +
                              sshdQuote(file.string()) + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return fail(ErrorCode::kIo, "ssh-keygen could not make " + file.string());
  return {};
}

/// "<type> <base64>" of a public key file.
std::string publicKeyOf(const std::filesystem::path& pub) {
  std::istringstream in(sshdReadFile(pub));
  std::string type, key;
  in >> type >> key;
  return type + " " + key;
}

}  // namespace

Result<std::unique_ptr<SshdServer>> SshdServer::start(SshdOptions options) {
  for (const char* exe : {kSshd, kSshKeygen}) {
    if (::access(exe, X_OK) != 0) {
      return fail(ErrorCode::kNotFound,
                  std::string(exe) + " is not installed (scripts/install-deps.sh installs openssh-server)");
    }
  }
  std::unique_ptr<SshdServer> server(new SshdServer());
  const auto& dir = server->dir_.path();
  ::chmod(dir.c_str(), 0700);
  const passwd* pw = ::getpwuid(::geteuid());
  if (pw == nullptr) return fail(ErrorCode::kIo, "the current user has no passwd entry");
  server->user_ = pw->pw_name;
  if (::geteuid() == 0) {
    std::error_code ec;
    std::filesystem::create_directories("/run/sshd", ec);
    ::chmod("/run/sshd", 0755);
  }
  for (const char* name : {"host_ed25519", "client_ed25519", "other_host_ed25519"}) {
    if (auto s = makeKey(dir / name, std::string("talon-test-") + name); !s) return fail(s.error());
  }
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const std::string hostPattern = "[127.0.0.1]:" + std::to_string(server->port_);
  std::ofstream(dir / "authorized_keys") << publicKeyOf(dir / "client_ed25519.pub") << "\n";
  std::ofstream(dir / "known_hosts") << hostPattern << " " << publicKeyOf(dir / "host_ed25519.pub") << "\n";
  std::ofstream(dir / "known_hosts.wrong") << hostPattern << " " << publicKeyOf(dir / "other_host_ed25519.pub") << "\n";
  std::ofstream(dir / "known_hosts.empty");
  std::ofstream conf(dir / "sshd_config");
  conf << "Port " << server->port_ << "\n"
       << "ListenAddress 127.0.0.1\n"
       << "HostKey " << (dir / "host_ed25519").string() << "\n"
       << "PidFile " << (dir / "sshd.pid").string() << "\n"
       << "AuthorizedKeysFile " << (dir / "authorized_keys").string() << "\n"
       << "StrictModes no\n"
       << "UsePAM no\n"
       << "PasswordAuthentication no\n"
       << "KbdInteractiveAuthentication no\n"
       << "PubkeyAuthentication yes\n"
       << "PermitRootLogin prohibit-password\n"
       << "Subsystem sftp " << kSftpServer << "\n"
       << "LogLevel VERBOSE\n";
  std::string setEnv;
  if (!options.pathPrefix.empty()) {
    setEnv += " PATH=" + options.pathPrefix + ":/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  }
  for (const auto& e : options.environment) setEnv += " " + e;
  if (!setEnv.empty()) conf << "SetEnv" << setEnv << "\n";
  conf.close();
  if (!conf) return fail(ErrorCode::kIo, "cannot write the sshd config");
  auto pid =
      startLoopbackServer("sshd", std::vector<std::string>{kSshd, "-D", "-e", "-f", (dir / "sshd_config").string()},
                          (dir / "sshd.log").string(), {server->port_});
  if (!pid) return fail(pid.error());
  server->pid_ = *pid;
  return server;
}

std::string SshdServer::log() const { return sshdReadFile(dir_.path() / "sshd.log"); }

void SshdServer::kill() { killLoopbackServer(pid_); }

SshdServer::~SshdServer() { kill(); }

}  // namespace talon::testing
