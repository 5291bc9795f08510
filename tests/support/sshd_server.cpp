#include "support/sshd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
  if (options.networkNamespace) {
    // The namespace first: without it (no root, no `ip`) the test cannot run this way.
    std::string name = "talon-sshd-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand() % 100000);
    std::string make =
        "ip netns add " + name + " >/dev/null 2>&1 && ip netns exec " + name + " ip link set lo up >/dev/null 2>&1";
    if (std::system(make.c_str()) != 0) {
      std::system(("ip netns del " + name + " >/dev/null 2>&1").c_str());
      return fail(ErrorCode::kUnsupported, "cannot make a network namespace (`ip netns add` needs root)");
    }
    server->netns_ = name;
    // The listening socket here; each connection is handed to an `sshd -i` inside the namespace.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      return fail(ErrorCode::kIo, "cannot listen on 127.0.0.1 for the namespaced sshd");
    }
    server->listenFd_ = fd;
    server->port_ = ntohs(addr.sin_port);
  } else {
    auto port = freeLoopbackPort();
    if (!port) return fail(port.error());
    server->port_ = *port;
  }
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
  if (!server->netns_.empty()) {
    SshdServer* raw = server.get();
    server->acceptThread_ = std::thread([raw] { raw->acceptLoop(); });
    return server;
  }
  auto pid =
      startLoopbackServer("sshd", std::vector<std::string>{kSshd, "-D", "-e", "-f", (dir / "sshd_config").string()},
                          (dir / "sshd.log").string(), {server->port_});
  if (!pid) return fail(pid.error());
  server->pid_ = *pid;
  return server;
}

std::string SshdServer::log() const { return sshdReadFile(dir_.path() / "sshd.log"); }

void SshdServer::acceptLoop() {
  const std::string conf = (dir_.path() / "sshd_config").string();
  const std::string log = (dir_.path() / "sshd.log").string();
  while (true) {
    int conn = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR) continue;
      return;  // the listening socket was shut down: kill()
    }
    int logFd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(conn, 0);
      ::dup2(conn, 1);
      if (logFd >= 0) ::dup2(logFd, 2);
      ::execlp("ip", "ip", "netns", "exec", netns_.c_str(), kSshd, "-i", "-e", "-f", conf.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(conn);
    if (logFd >= 0) ::close(logFd);
    if (pid > 0) {
      std::lock_guard<std::mutex> lock(childrenMutex_);
      children_.push_back(pid);
    }
  }
}

void SshdServer::kill() {
  killLoopbackServer(pid_);
  if (listenFd_ >= 0) {
    ::shutdown(listenFd_, SHUT_RDWR);
    if (acceptThread_.joinable()) acceptThread_.join();
    ::close(listenFd_);
    listenFd_ = -1;
  }
  {
    std::lock_guard<std::mutex> lock(childrenMutex_);
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    children_.clear();
  }
  if (!netns_.empty()) {
    std::system(("ip netns del " + netns_ + " >/dev/null 2>&1").c_str());
    netns_.clear();
  }
}

SshdServer::~SshdServer() { kill(); }

}  // namespace talon::testing
