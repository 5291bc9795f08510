#include "support/ngircd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kNgircd = "/usr/sbin/ngircd";

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::unique_ptr<NgircdServer>> NgircdServer::start(NgircdOptions options) {
  if (::access(kNgircd, X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                std::string(kNgircd) + " is not installed (scripts/install-deps.sh installs ngircd)");
  }
  std::unique_ptr<NgircdServer> server(new NgircdServer());
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  const bool root = ::geteuid() == 0;
  if (root) ::chmod(dir.c_str(), 0777);  // ngircd drops to nobody and writes its PID file here
  {
    std::ofstream motd(dir / "motd.txt");
    motd << "Talon test server\n";
  }
  std::ofstream conf(dir / "ngircd.conf");
  conf << "[Global]\n"
       << "Name = irc.talon.test\n"
       << "Info = Talon test server\n"
       << "AdminInfo1 = Talon tests\nAdminInfo2 = loopback\nAdminEMail = tests@talon.invalid\n"
       << "Listen = 127.0.0.1\n"
       << "Ports = " << server->port_ << "\n"
       << "MotdFile = " << (dir / "motd.txt").string() << "\n"
       << "PidFile = " << (dir / "ngircd.pid").string() << "\n";
  if (root) conf << "ServerUID = 65534\nServerGID = 65534\n";
  if (options.tls) {
    auto tlsPort = freeLoopbackPort();
    if (!tlsPort) return fail(tlsPort.error());
    server->tlsPort_ = *tlsPort;
    const auto cert = (dir / "cert.pem").string();
    const auto key = (dir / "key.pem").string();
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout '" +
        key + "' -out '" + cert + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) return fail(ErrorCode::kIo, "openssl could not make a certificate");
    ::chmod(cert.c_str(), 0644);
    ::chmod(key.c_str(), 0644);  // read by ngircd after it dropped to nobody; a throwaway test key
    server->certificatePem_ = readFile(cert);
    conf << "[SSL]\nCertFile = " << cert << "\nKeyFile = " << key << "\nPorts = " << server->tlsPort_ << "\n";
  }
  conf << "[Limits]\n"
       << "MaxNickLength = 30\n"
       << "MaxConnectionsIP = 0\n"
       << "PingTimeout = 300\nPongTimeout = 60\n"
       << "[Options]\n"
       << "PAM = no\nDNS = no\nIdent = no\n";
  conf.close();
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

Status NgircdServer::launch() {
  const auto conf = (dir_.path() / "ngircd.conf").string();
  const auto log = (dir_.path() / "ngircd.log").string();
  std::vector<uint16_t> ports{port_};
  if (tlsPort_ != 0) ports.push_back(tlsPort_);
  auto pid = startLoopbackServer("ngircd", std::vector<std::string>{kNgircd, "-n", "-f", conf}, log, ports);
  if (!pid) return fail(pid.error());
  pid_ = *pid;
  return {};
}

void NgircdServer::kill() { killLoopbackServer(pid_); }

Status NgircdServer::restart() {
  kill();
  return launch();
}

NgircdServer::~NgircdServer() { kill(); }

}  // namespace talon::testing
