#include "support/smtp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-aiosmtpd installs

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::unique_ptr<SmtpServer>> SmtpServer::start() {
  if (::access(kPython, X_OK) != 0 || std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") != 0) {
    return fail(ErrorCode::kNotFound, "python3-aiosmtpd is not installed (scripts/install-deps.sh)");
  }
  std::unique_ptr<SmtpServer> server(new SmtpServer());
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto maildir = (server->dir_.path() / "maildir").string();
  const auto log = (server->dir_.path() / "aiosmtpd.log").string();
  const std::string listen = "127.0.0.1:" + std::to_string(server->port_);
  pid_t pid = ::fork();
  if (pid < 0) return fail(ErrorCode::kIo, "fork() failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(kPython, kPython, "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c", "aiosmtpd.handlers.Mailbox",
            maildir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  server->pid_ = pid;
  // Wait for the listener (an external process: poll it, bounded).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return fail(ErrorCode::kUnavailable, "aiosmtpd exited at start-up: " + readFile(log));
    }
    if (acceptsOnLoopback(server->port_)) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fail(ErrorCode::kUnavailable, "aiosmtpd did not listen within 10 s: " + readFile(log));
}

std::vector<std::string> SmtpServer::messages() const {
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "maildir" / "new", ec)) {
    files.emplace_back(e.last_write_time(), e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& [t, p] : files) out.push_back(readFile(p));
  return out;
}

SmtpServer::~SmtpServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

}  // namespace talon::testing
