#include "support/prosody_server.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kProsody = "/usr/bin/prosody";
constexpr const char* kProsodyctl = "/usr/bin/prosodyctl";

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// A Lua string literal.
std::string lua(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::unique_ptr<ProsodyServer>> ProsodyServer::start() {
  if (::access(kProsody, X_OK) != 0 || ::access(kProsodyctl, X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                std::string(kProsody) + " is not installed (scripts/install-deps.sh installs prosody)");
  }
  std::unique_ptr<ProsodyServer> server(new ProsodyServer());
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  std::error_code ec;
  std::filesystem::create_directories(dir / "data", ec);
  std::filesystem::create_directories(dir / "certs", ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create Prosody's directories: " + ec.message());
  std::ofstream conf(dir / "prosody.cfg.lua");
  // As root (CI) Prosody refuses to start unless told; the files are the test's own.
  if (::geteuid() == 0) conf << "run_as_root = true\n";
  conf << "pidfile = " << lua((dir / "prosody.pid").string()) << "\n"
       << "data_path = " << lua((dir / "data").string()) << "\n"
       << "certificates = " << lua((dir / "certs").string()) << "\n"
       << "log = { debug = " << lua((dir / "prosody.log").string()) << " }\n"
       << "interfaces = { \"127.0.0.1\" }\n"
       << "c2s_interfaces = { \"127.0.0.1\" }\n"
       << "c2s_ports = { " << server->port_ << " }\n"
       << "s2s_ports = { }\ncomponent_ports = { }\nhttp_ports = { }\nhttps_ports = { }\n"
       << "modules_enabled = { \"roster\", \"saslauth\", \"disco\", \"ping\", \"offline\", \"presence\" }\n"
       << "modules_disabled = { \"s2s\", \"admin_shell\" }\n"
       << "c2s_require_encryption = false\n"
       << "allow_unencrypted_plain_auth = true\n"
       << "authentication = \"internal_plain\"\n"
       << "storage = \"internal\"\n"
       << "VirtualHost \"" << kDomain << "\"\n"
       << "Component \"" << kMucDomain << "\" \"muc\"\n"
       << "  muc_room_locking = false\n"
       << "  restrict_room_creation = false\n";
  conf.close();
  if (!conf) return fail(ErrorCode::kIo, "cannot write the Prosody config");
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

Status ProsodyServer::registerUser(const std::string& user, const std::string& password) {
  const auto conf = (dir_.path() / "prosody.cfg.lua").string();
  const auto out = (dir_.path() / "prosodyctl.out").string();
  const std::string command = std::string(kProsodyctl) + " --config " + shellQuote(conf) + " register " +
                              shellQuote(user) + " " + kDomain + " " + shellQuote(password) + " >" + shellQuote(out) +
                              " 2>&1";
  if (std::system(command.c_str()) != 0) {
    return fail(ErrorCode::kIo, "prosodyctl register " + user + " failed: " + readFile(out));
  }
  return {};
}

std::string ProsodyServer::log() const { return readFile(dir_.path() / "prosody.log"); }

Status ProsodyServer::launch() {
  const auto conf = (dir_.path() / "prosody.cfg.lua").string();
  const auto log = (dir_.path() / "prosody.out").string();
  auto pid = startLoopbackServer("prosody", std::vector<std::string>{kProsody, "-F", "--config", conf}, log,
                                 std::vector<uint16_t>{port_});
  if (!pid) return fail(pid.error());
  pid_ = *pid;
  return {};
}

void ProsodyServer::kill() { killLoopbackServer(pid_); }

Status ProsodyServer::restart() {
  kill();
  return launch();
}

ProsodyServer::~ProsodyServer() { kill(); }

}  // namespace talon::testing
