#include "support/mosquitto_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/json.h"
#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr const char* kMosquittoCtrl = "/usr/bin/mosquitto_ctrl";
constexpr const char* kDynsecPlugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

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

/// Makes the dynamic-security file: `username` / `password` (hashed by mosquitto_ctrl), a role that may
/// do anything but subscribe to `denied`, and defaults that let anonymous clients do anything.
Status writeDynsec(const std::filesystem::path& file, const MosquittoOptions& options) {
  const std::string command = std::string(kMosquittoCtrl) + " dynsec init " + shellQuote(file.string()) + " " +
                              shellQuote(options.username) + " " + shellQuote(options.password) + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return fail(ErrorCode::kIo, "mosquitto_ctrl dynsec init failed");
  auto doc = parseJson(readFile(file));
  if (!doc || !doc->is_object()) return fail(ErrorCode::kIo, "mosquitto_ctrl wrote no JSON");
  json::array acls;
  for (const auto& topic : options.deniedSubscriptions) {
    acls.push_back(json::object{{"acltype", "subscribePattern"}, {"topic", topic}, {"priority", 10}, {"allow", false}});
  }
  for (const char* type : {"publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern"}) {
    acls.push_back(json::object{{"acltype", type}, {"topic", "#"}, {"allow", true}});
  }
  auto& root = doc->as_object();
  root["roles"] = json::array{json::object{{"rolename", "admin"}, {"acls", std::move(acls)}}};
  root["defaultACLAccess"] = json::object{
      {"publishClientSend", true}, {"publishClientReceive", true}, {"subscribe", true}, {"unsubscribe", true}};
  std::ofstream out(file, std::ios::trunc);
  out << json::serialize(*doc);
  if (!out) return fail(ErrorCode::kIo, "cannot write " + file.string());
  return {};
}

}  // namespace

Result<std::unique_ptr<MosquittoServer>> MosquittoServer::start(MosquittoOptions options) {
  if (::access(kMosquitto, X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                std::string(kMosquitto) + " is not installed (scripts/install-deps.sh installs mosquitto)");
  }
  std::unique_ptr<MosquittoServer> server(new MosquittoServer());
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  std::ofstream conf(dir / "mosquitto.conf");
  conf << "listener " << server->port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence false\n"
       << "log_type all\n";
  // Run as root (CI), mosquitto would drop to the `mosquitto` user; the files are the test's own.
  if (::geteuid() == 0) conf << "user root\n";
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
    conf << "listener " << server->tlsPort_ << " 127.0.0.1\n"
         << "certfile " << cert << "\nkeyfile " << key << "\n";
  }
  if (!options.username.empty()) {
    if (::access(kMosquittoCtrl, X_OK) != 0 || ::access(kDynsecPlugin, R_OK) != 0) {
      return fail(ErrorCode::kNotFound, "mosquitto's dynamic-security plugin or mosquitto_ctrl is not installed");
    }
    const auto dynsec = dir / "dynsec.json";
    if (auto s = writeDynsec(dynsec, options); !s) return fail(s.error());
    conf << "plugin " << kDynsecPlugin << "\n"
         << "plugin_opt_config_file " << dynsec.string() << "\n";
  }
  conf.close();
  if (!conf) return fail(ErrorCode::kIo, "cannot write the mosquitto config");
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

std::string MosquittoServer::url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }

std::string MosquittoServer::certificateFile() const { return (dir_.path() / "cert.pem").string(); }

std::string MosquittoServer::log() const { return readFile(dir_.path() / "mosquitto.log"); }

Status MosquittoServer::launch() {
  const auto conf = (dir_.path() / "mosquitto.conf").string();
  const auto log = (dir_.path() / "mosquitto.log").string();
  std::vector<uint16_t> ports{port_};
  if (tlsPort_ != 0) ports.push_back(tlsPort_);
  auto pid = startLoopbackServer("mosquitto", std::vector<std::string>{kMosquitto, "-c", conf}, log, ports);
  if (!pid) return fail(pid.error());
  pid_ = *pid;
  return {};
}

void MosquittoServer::kill() { killLoopbackServer(pid_); }

Status MosquittoServer::restart() {
  kill();
  return launch();
}

MosquittoServer::~MosquittoServer() { kill(); }

}  // namespace talon::testing
