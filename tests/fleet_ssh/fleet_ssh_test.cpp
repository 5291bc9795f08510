// The `ssh` provider against a real sshd (tests/support/sshd_server.h) on 127.0.0.1 with a throwaway host
// key and client key: a Talon-runtime gateway deployed over ssh in `detached` mode reaches /readyz, reports
// running, has logs, restarts on a config change and stops; a gateway that exits at start is reported
// with its last log lines and as failed; a host whose key does not match is refused
// under strict checking; an unreachable host is named in the error; an OpenClaw gateway on a host without
// OpenClaw is refused by check(), and on a host with OpenClaw on its PATH (tools/install-openclaw's, when
// installed here; skipped otherwise) runs with the host's `openclaw`. The `systemd` mode runs against a
// `systemctl` / `journalctl` double on the "remote" PATH (tests/fleet_ssh/shims/), because systemd cannot
// run in this container; the double honours daemon-reload, enable, start, stop, restart, is-active and
// show by running the unit's ExecStart with its Environment, EnvironmentFile and WorkingDirectory. Then
// `talon fleet apply|status|logs|stop` as a process over the same sshd. With the "host" in a network
// namespace of its own (SshdOptions::networkNamespace), the fleet CLI's protocol calls (status, drift, the
// rollout gate) reach the gateway on the host's loopback only through a port forward over ssh, and
// backup / verify / restore move its files over ssh; no ssh connection or forward is left after a command.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "base/text.h"
#include "e2e/e2e_support.h"
#include "fleet/deployer.h"
#include "fleet/inventory.h"
#include "fleet/layering.h"
#include "fleet/render.h"
#include "support/loopback_port.h"
#include "support/sshd_server.h"
#include "support/temp_dir.h"

namespace talon::fleet {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string sshTestRead(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void sshTestWrite(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

bool sshTestProcessRuns(int pid) {
  std::string stat = sshTestRead("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

std::string sshTestSuffix() {
  std::random_device rd;
  return std::to_string(rd() % 1000000);
}

class FleetSshTest : public ::testing::Test {
 protected:
  /// The Talon binary the tests install: this build's talon without its debug sections (a quarter of a
  /// GiB with them; copying it over ssh is what an apply does, but once per test is enough time spent).
  static void SetUpTestSuite() {
    binaryDir_ = new testing::TempDir("talon-fleet-ssh-bin");
    std::string command =
        "objcopy --strip-debug '" + std::string(TALON_BINARY) + "' '" + (binaryDir_->path() / "talon").string() + "'";
    if (std::system(command.c_str()) != 0) fs::copy_file(TALON_BINARY, binaryDir_->path() / "talon");
  }
  static void TearDownTestSuite() {
    delete binaryDir_;
    binaryDir_ = nullptr;
  }
  static fs::path talonBinary() { return binaryDir_->path() / "talon"; }

  void SetUp() override {
    auto server = testing::SshdServer::start(serverOptions());
    if (!server && (server.error().code == ErrorCode::kNotFound || server.error().code == ErrorCode::kUnsupported))
      GTEST_SKIP() << server.error().message;
    ASSERT_TRUE(server) << server.error().message;
    sshd_ = std::move(*server);
    auto port = testing::freeLoopbackPort();
    ASSERT_TRUE(port);
    gatewayPort_ = *port;
    gatewayId_ = "ssh-gw-" + sshTestSuffix();
    ::setenv("FLEET_SSH_TOKEN", "fleet-ssh-canary-token", 1);
    ::setenv("FLEET_SSH_TOKEN_B", "fleet-ssh-canary-token-b", 1);
    context_.fleetStateDir = dir_ / "fleet-state";
    context_.talonBinary = talonBinary();
    context_.talonVersion = "test";
    context_.readyTimeout = std::chrono::seconds(60);
    context_.stopGrace = std::chrono::seconds(5);
    context_.progress = [this](const std::string& line) { progress_ += line + "\n"; };
  }

  void TearDown() override {
    if (deployer_ && !stopped_) (void)deployer_->stop(target_, context_);
    deployer_.reset();
    // Whatever a failed test left running on the "remote" side.
    std::ifstream pid(remoteDir() / "gateway.pid");
    int p = 0;
    if (pid >> p && p > 0) ::kill(p, SIGKILL);
    std::ifstream unitPid(dir_ / "systemd-double" / (unitName() + ".pid"));
    if (unitPid >> p && p > 0) ::kill(p, SIGKILL);
    std::error_code ec;
    fs::remove(unitFile(), ec);
  }

  virtual testing::SshdOptions serverOptions() { return {}; }

  fs::path remoteDir() const { return dir_ / "remote"; }
  std::string unitName() const { return "talon-gateway-" + gatewayId_ + ".service"; }
  /// Where the ssh provider puts the unit: a system unit for root, else a user unit.
  fs::path unitFile() const {
    const char* home = std::getenv("HOME");
    return (::geteuid() == 0 ? fs::path("/etc/systemd/system") : fs::path(home ? home : "/") / ".config/systemd/user") /
           unitName();
  }
  /// "systemctl" for root, else "systemctl --user".
  static std::string systemctl() { return ::geteuid() == 0 ? "systemctl" : "systemctl --user"; }

  /// The ssh settings of the test gateway (JSON5 members), `extra` appended.
  std::string sshKeys(const std::string& extra = "") const {
    return "ssh: { user: \"" + sshd_->user() + "\", port: " + std::to_string(sshd_->port()) + ", identityFile: \"" +
           sshd_->identityFile().string() + "\", knownHostsFile: \"" + sshd_->knownHostsFile().string() +
           "\", remoteDir: \"" + remoteDir().string() + "\", " + extra + " }";
  }

  std::string inventory(const std::string& runtime, const std::string& sshObject,
                        const std::string& tokenVar = "FLEET_SSH_TOKEN", const std::string& host = "127.0.0.1") const {
    return "{\n  organisation: { id: \"org-ssh\", slug: \"ssh\", displayName: \"SSH\" },\n"
           "  defaults: { runtime: \"" +
           runtime + "\", provider: \"ssh\", host: \"" + host + "\", auth: { mode: \"token\", token: \"${" + tokenVar +
           "}\" }, " + sshObject + " },\n  gateways: {\n    \"" + gatewayId_ +
           "\": { port: " + std::to_string(gatewayPort_) + ", stateDir: \"" + (dir_ / "gw" / "state").string() +
           "\", workspaceRoot: \"" + (dir_ / "gw" / "ws").string() + "\" },\n  },\n}\n";
  }

  /// Loads `text` as the inventory and makes target_ (and deployer_, once) from it.
  void target(const std::string& text) {
    auto inv = Inventory::load([&] {
      sshTestWrite(dir_ / "org" / "fleet.json5", text);
      return dir_ / "org" / "fleet.json5";
    }());
    ASSERT_TRUE(inv) << inv.error().message;
    EffectiveFleet fleet = EffectiveFleet::resolve(std::move(*inv));
    auto renders = renderFleet(fleet);
    ASSERT_EQ(renders.size(), 1u);
    target_ = deployTarget(fleet, 0, renders[0]);
    if (!deployer_) {
      auto d = createDeployer("ssh");
      ASSERT_TRUE(d) << d.error().message;
      deployer_ = std::move(*d);
    }
  }

  static inline testing::TempDir* binaryDir_ = nullptr;
  testing::TempDir dir_{"talon-fleet-ssh"};
  std::unique_ptr<testing::SshdServer> sshd_;
  int gatewayPort_ = 0;
  std::string gatewayId_;
  DeployContext context_;
  DeployTarget target_;
  DeployerPtr deployer_;
  std::string progress_;
  bool stopped_ = false;
};

TEST_F(FleetSshTest, DetachedGatewayAppliesReportsRestartsOnChangeAndStops) {
  target(inventory("talon", sshKeys("service: \"detached\"")));
  ASSERT_TRUE(deployer_->check(target_, context_)) << progress_;

  auto first = deployer_->apply(target_, context_, /*configChanged=*/true);
  ASSERT_TRUE(first) << first.error().message << "\n" << progress_ << "\nsshd:\n" << sshd_->log();
  EXPECT_EQ(*first, ApplyAction::kStarted);
  EXPECT_THAT(progress_, HasSubstr("installing"));
  EXPECT_THAT(progress_, HasSubstr("ready on 127.0.0.1:" + std::to_string(gatewayPort_)));

  // What landed on the host: the same binary, the config (0600, no secret), the env file (0600, the secret).
  EXPECT_EQ(sshTestRead(remoteDir() / "bin" / "talon"), sshTestRead(talonBinary()));
  auto configPath = dir_ / "gw" / "state" / "openclaw.json";
  EXPECT_EQ(sshTestRead(configPath), target_.configText);
  EXPECT_THAT(target_.configText, ::testing::Not(HasSubstr("fleet-ssh-canary-token")));
  struct stat st {};
  ASSERT_EQ(::stat(configPath.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((remoteDir() / "gateway.env").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(sshTestRead(remoteDir() / "gateway.env"), HasSubstr("FLEET_SSH_TOKEN='fleet-ssh-canary-token'"));

  auto status = deployer_->status(target_, context_);
  EXPECT_EQ(status.state, ProcessState::kRunning) << status.detail;
  EXPECT_EQ(status.readyz.status, 200);
  ASSERT_TRUE(status.pid.has_value());
  int firstPid = *status.pid;
  EXPECT_TRUE(sshTestProcessRuns(firstPid));

  auto log = deployer_->logs(target_, context_, 20);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_FALSE(log->empty());

  // Nothing changed: left alone.
  progress_.clear();
  auto again = deployer_->apply(target_, context_, /*configChanged=*/false);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, ApplyAction::kUnchanged);
  EXPECT_THAT(progress_, ::testing::Not(HasSubstr("installing")));
  EXPECT_EQ(deployer_->status(target_, context_).pid, firstPid);

  // A config change (another token variable): restarted, a new process.
  target(inventory("talon", sshKeys("service: \"detached\""), "FLEET_SSH_TOKEN_B"));
  auto changed = deployer_->apply(target_, context_, /*configChanged=*/true);
  ASSERT_TRUE(changed) << changed.error().message << "\n" << progress_;
  EXPECT_EQ(*changed, ApplyAction::kRestarted);
  auto restarted = deployer_->status(target_, context_);
  EXPECT_EQ(restarted.state, ProcessState::kRunning) << restarted.detail;
  ASSERT_TRUE(restarted.pid.has_value());
  EXPECT_NE(*restarted.pid, firstPid);
  EXPECT_FALSE(sshTestProcessRuns(firstPid));
  EXPECT_THAT(sshTestRead(remoteDir() / "gateway.env"), HasSubstr("FLEET_SSH_TOKEN_B="));

  ASSERT_TRUE(deployer_->stop(target_, context_));
  stopped_ = true;
  EXPECT_FALSE(sshTestProcessRuns(*restarted.pid));
  EXPECT_EQ(deployer_->status(target_, context_).state, ProcessState::kStopped);
  // start() brings it back with the deployed config.
  ASSERT_TRUE(deployer_->start(target_, context_)) << progress_;
  stopped_ = false;
  EXPECT_EQ(deployer_->status(target_, context_).state, ProcessState::kRunning);
}

TEST_F(FleetSshTest, AGatewayThatExitsAtStartIsReportedWithItsLastLogLines) {
  // Something else holds the gateway's port on the host: the gateway cannot listen and exits.
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(gatewayPort_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(holder, 4), 0);
  target(inventory("talon", sshKeys("service: \"detached\"")));
  auto applied = deployer_->apply(target_, context_, /*configChanged=*/true);
  ::close(holder);
  ASSERT_FALSE(applied) << progress_;
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(applied.error().message, HasSubstr("gateway " + gatewayId_ + " on host 127.0.0.1 exited"));
  EXPECT_THAT(applied.error().message, HasSubstr("last log lines:\n"));
  EXPECT_THAT(applied.error().message, HasSubstr(std::to_string(gatewayPort_)));
  auto status = deployer_->status(target_, context_);
  EXPECT_EQ(status.state, ProcessState::kFailed);
  EXPECT_THAT(status.detail, HasSubstr("exited without `talon fleet stop`"));
  stopped_ = true;
}

TEST_F(FleetSshTest, AHostWhoseKeyDoesNotMatchIsRefusedUnderStrictChecking) {
  target(inventory(
      "talon", sshKeys("service: \"detached\", knownHostsFile: \"" + sshd_->wrongKnownHostsFile().string() + "\"")));
  auto s = deployer_->check(target_, context_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(s.error().message, HasSubstr("on host 127.0.0.1"));
  EXPECT_THAT(s.error().message, HasSubstr("Host key verification failed"));
  stopped_ = true;
}

TEST_F(FleetSshTest, AnUnknownHostIsRefusedWhenStrictAndRecordedWithAcceptNew) {
  fs::copy_file(sshd_->emptyKnownHostsFile(), dir_ / "kh");
  target(inventory("talon", sshKeys("service: \"detached\", knownHostsFile: \"" + (dir_ / "kh").string() + "\"")));
  auto strict = deployer_->check(target_, context_);
  ASSERT_FALSE(strict);
  EXPECT_THAT(strict.error().message, HasSubstr("Host key verification failed"));
  deployer_.reset();
  target(inventory("talon", sshKeys("service: \"detached\", strictHostKeyChecking: \"accept-new\", "
                                    "knownHostsFile: \"" +
                                    (dir_ / "kh").string() + "\"")));
  auto accepted = deployer_->check(target_, context_);
  EXPECT_TRUE(accepted) << accepted.error().message;
  // Recorded (Debian's ssh_config hashes the host name): the server's key is now in the file.
  std::string trusted = sshTestRead(sshd_->knownHostsFile());
  EXPECT_THAT(sshTestRead(dir_ / "kh"), HasSubstr(trusted.substr(trusted.find(' ') + 1)));
  stopped_ = true;
}

TEST_F(FleetSshTest, AnUnreachableHostIsNamedInTheError) {
  auto closed = testing::freeLoopbackPort();
  ASSERT_TRUE(closed);
  std::string keys = sshKeys("service: \"detached\", connectTimeoutSeconds: 5");
  keys.replace(keys.find("port: " + std::to_string(sshd_->port())), 6 + std::to_string(sshd_->port()).size(),
               "port: " + std::to_string(*closed));
  target(inventory("talon", keys));
  auto s = deployer_->apply(target_, context_, true);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(s.error().message, HasSubstr("gateway " + gatewayId_ + " on host 127.0.0.1"));
  EXPECT_THAT(s.error().message, HasSubstr(":" + std::to_string(*closed)));
  EXPECT_THAT(s.error().message, HasSubstr("Connection refused"));
  // The tunnel of the fleet's protocol calls fails the same way, naming the gateway, the host and ssh's stderr.
  auto address = deployer_->gatewayAddress(target_, context_);
  ASSERT_FALSE(address);
  EXPECT_EQ(address.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(address.error().message, HasSubstr("gateway " + gatewayId_ + " on host 127.0.0.1"));
  EXPECT_THAT(address.error().message, HasSubstr("Connection refused"));
  stopped_ = true;
}

TEST_F(FleetSshTest, AnOpenClawGatewayOnAHostWithoutOpenClawIsRefused) {
  target(inventory("openclaw", sshKeys("service: \"detached\"")));
  auto s = deployer_->check(target_, context_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(s.error().message, HasSubstr("gateway " + gatewayId_ + " on host 127.0.0.1"));
  EXPECT_THAT(s.error().message, HasSubstr("OpenClaw is not installed there"));
  stopped_ = true;
}

TEST_F(FleetSshTest, TheFleetCliAppliesReportsAndStopsAnSshGateway) {
  // The stripped binary through the version catalog (the CLI would otherwise install itself).
  std::string text = inventory("talon", sshKeys("service: \"detached\""));
  text.insert(text.find("defaults: {") + 11, " version: \"ssh-test\",");
  text.insert(text.rfind('}'), "  runtimes: { talon: { versions: { \"ssh-test\": { binary: \"" +
                                   talonBinary().string() + "\" } } } },\n");
  target(text);
  std::map<std::string, std::string> env = {{"FLEET_SSH_TOKEN", "fleet-ssh-canary-token"}};
  auto talon = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--inventory", (dir_ / "org" / "fleet.json5").string()});
    return test::runTalon(dir_.path(), args, env);
  };
  auto apply = talon({"fleet", "apply", "--json"});
  ASSERT_EQ(apply.status, 0) << apply.out << apply.err;
  json::object applied = test::jsonObjectOf(apply.out);
  ASSERT_TRUE(applied.contains("gateways")) << apply.out;
  EXPECT_EQ(applied.at("gateways").as_array().at(0).at("action"), "started") << apply.out;

  auto status = talon({"fleet", "status", "--json"});
  ASSERT_EQ(status.status, 0) << status.out << status.err;
  json::object gw = test::jsonObjectOf(status.out).at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(gw.at("state"), "running") << status.out;
  EXPECT_EQ(gw.at("drift"), "in-sync") << status.out;
  // The protocol calls go through a port forward over the gateway's ssh connection.
  EXPECT_EQ(gw.at("health").at("ok"), true) << status.out;
  EXPECT_EQ(gw.at("access").at("via"), "ssh-tunnel") << status.out;

  auto logs = talon({"fleet", "logs", gatewayId_, "-n", "5"});
  EXPECT_EQ(logs.status, 0) << logs.err;
  EXPECT_FALSE(logs.out.empty());

  auto stop = talon({"fleet", "stop"});
  EXPECT_EQ(stop.status, 0) << stop.out << stop.err;
  auto after = talon({"fleet", "status", "--json"});
  EXPECT_EQ(test::jsonObjectOf(after.out).at("gateways").as_array().at(0).at("state"), "stopped") << after.out;
  stopped_ = true;
}

/// Whether a TCP connection to 127.0.0.1:`port` is accepted here.
bool sshTestConnects(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// The sockets of this network namespace (/proc/net/tcp) that are connected to 127.0.0.1:`remotePort`
/// (an ssh client's connection to the sshd) or listen on 127.0.0.1:`listenPort` (a port forward), as lines.
std::vector<std::string> sshTestSockets(int remotePort, int listenPort) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::vector<std::string> out;
  char remote[32], listening[32];
  std::snprintf(remote, sizeof remote, "0100007F:%04X", remotePort);
  std::snprintf(listening, sizeof listening, "0100007F:%04X", listenPort);
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // Columns: sl, local_address, rem_address, st (1 = ESTABLISHED, 0A = LISTEN), ... Matching whole
    // columns: an ephemeral local port equal to the sshd's port is not a connection to it.
    std::istringstream fields(line);
    std::string slot, local, peer, state;
    fields >> slot >> local >> peer >> state;
    if ((peer == remote && state == "01") || (local == listening && peer == "00000000:0000" && state == "0A")) {
      out.push_back(line);
    }
  }
  return out;
}

/// The "remote host" in a network namespace of its own (tests/support/sshd_server.h): its 127.0.0.1 is not
/// this machine's, so a gateway bound to its loopback is reachable from here only through ssh.
class FleetSshNamespaceTest : public FleetSshTest {
 protected:
  testing::SshdOptions serverOptions() override {
    testing::SshdOptions o;
    o.networkNamespace = true;
    return o;
  }
};

TEST_F(FleetSshNamespaceTest, StatusDriftBackupAndRestoreReachALoopbackGatewayThroughSsh) {
  // The stripped binary through the version catalog, under the version it reports (drift compares it).
  auto reported = test::runTalon(dir_.path(), {"--version"}, {});
  ASSERT_EQ(reported.status, 0) << reported.err;
  std::string version = trimWhitespace(reported.out.substr(reported.out.find(' ') + 1));
  std::string text = inventory("talon", sshKeys("service: \"detached\""));
  text.insert(text.find("defaults: {") + 11, " version: \"" + version + "\",");
  text.insert(text.rfind('}'), "  runtimes: { talon: { versions: { \"" + version + "\": { binary: \"" +
                                   talonBinary().string() + "\" } } } },\n  agents: { helper: { gateway: \"" +
                                   gatewayId_ + "\", kind: \"use-case\" } },\n");
  target(text);
  std::map<std::string, std::string> env = {{"FLEET_SSH_TOKEN", "fleet-ssh-canary-token"}};
  auto talon = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--inventory", (dir_ / "org" / "fleet.json5").string()});
    return test::runTalon(dir_.path(), args, env);
  };
  // After each command: no ssh connection to the host and no forward listening are left behind (the
  // master's socket closes as it exits, just after the command; a few ms at most).
  int tunnelPort = 0;
  auto expectNothingLeft = [&](const std::string& after) {
    std::vector<std::string> left;
    test::pollUntil(
        [&] {
          left = sshTestSockets(sshd_->port(), tunnelPort);
          return left.empty();
        },
        std::chrono::seconds(5));
    EXPECT_TRUE(left.empty()) << "after " << after << ": " << ::testing::PrintToString(left);
  };

  auto apply = talon({"fleet", "apply", "--json"});
  ASSERT_EQ(apply.status, 0) << apply.out << apply.err << "\nsshd:\n" << sshd_->log();
  expectNothingLeft("apply");
  // The gateway listens on the host's 127.0.0.1, which is not this one: directly, nothing answers.
  EXPECT_TRUE(fs::exists(remoteDir() / "gateway.pid"));
  EXPECT_FALSE(sshTestConnects(gatewayPort_));

  auto status = talon({"fleet", "status", "--json"});
  ASSERT_EQ(status.status, 0) << status.out << status.err;
  json::object gw = test::jsonObjectOf(status.out).at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(gw.at("state"), "running") << status.out;
  EXPECT_EQ(gw.at("health").at("checked"), true) << status.out;
  EXPECT_EQ(gw.at("health").at("ok"), true) << status.out;
  EXPECT_EQ(gw.at("access").at("via"), "ssh-tunnel") << status.out;
  std::string address(gw.at("access").at("address").as_string());
  ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  tunnelPort = std::atoi(address.substr(10).c_str());
  EXPECT_NE(tunnelPort, gatewayPort_);
  ASSERT_EQ(gw.at("agents").as_array().size(), 1u) << status.out;
  EXPECT_EQ(gw.at("agents").as_array().at(0).at("id"), "helper");
  EXPECT_EQ(gw.at("agents").as_array().at(0).at("state"), "running") << status.out;
  EXPECT_FALSE(gw.contains("recentErrorsError")) << status.out;
  expectNothingLeft("status");
  EXPECT_FALSE(sshTestConnects(tunnelPort));

  auto drift = talon({"fleet", "drift", "--json"});
  EXPECT_EQ(drift.status, 0) << drift.out << drift.err;
  EXPECT_EQ(test::jsonObjectOf(drift.out).at("gateways").as_array().at(0).at("state"), "in-sync") << drift.out;
  expectNothingLeft("drift");

  // agents list --live asks the gateway through the same tunnel.
  auto live = talon({"fleet", "agents", "list", "--live", "--json"});
  ASSERT_EQ(live.status, 0) << live.out << live.err;
  json::object listed = test::jsonObjectOf(live.out);
  ASSERT_EQ(listed.at("agents").as_array().size(), 1u) << live.out;
  EXPECT_EQ(listed.at("agents").as_array().at(0).at("live").at("state"), "running") << live.out;
  expectNothingLeft("agents list --live");

  // A backup pulled over ssh: the same layout and manifest as a local one, so verify works unchanged.
  auto backup = talon({"fleet", "backup", "--gateway", gatewayId_, "--json"});
  ASSERT_EQ(backup.status, 0) << backup.out << backup.err;
  json::object taken = test::jsonObjectOf(backup.out);
  int64_t backupId = taken.at("backup").as_int64();
  fs::path folder = dir_ / "org" / ".talon-fleet" / "backups" / ("0000000" + std::to_string(backupId)) / gatewayId_;
  json::object manifest = test::jsonObjectOf(sshTestRead(folder / "manifest.json"));
  EXPECT_EQ(manifest.at("stateDir").as_string(), (dir_ / "gw" / "state").string());
  std::string files = json::serialize(manifest.at("files"));
  EXPECT_THAT(files, HasSubstr("\"config/openclaw.json\""));
  EXPECT_THAT(files, HasSubstr("\"state/state/talon.sqlite\""));
  EXPECT_THAT(files, ::testing::Not(HasSubstr("\"state/openclaw.json\"")));  // once, as config/
  EXPECT_EQ(sshTestRead(folder / "config" / "openclaw.json"), target_.configText);
  EXPECT_FALSE(fs::exists(folder.parent_path() / (".staging-" + gatewayId_)));
  expectNothingLeft("backup");
  auto verify = talon({"fleet", "backup", "verify", std::to_string(backupId), "--json"});
  EXPECT_EQ(verify.status, 0) << verify.out << verify.err;

  // Something changes on the host after the backup; the restore puts the backed-up state back.
  sshTestWrite(dir_ / "gw" / "state" / "after-backup.txt", "written after the backup\n");
  auto restore = talon({"fleet", "restore", std::to_string(backupId), "--json"});
  ASSERT_EQ(restore.status, 0) << restore.out << restore.err;
  EXPECT_THAT(restore.err, HasSubstr("verified (sha256sum)"));
  EXPECT_FALSE(fs::exists(dir_ / "gw" / "state" / "after-backup.txt"));
  fs::path aside = dir_ / "gw" / ("state.before-restore-0000000" + std::to_string(backupId));
  EXPECT_TRUE(fs::exists(aside / "after-backup.txt"));
  EXPECT_EQ(sshTestRead(dir_ / "gw" / "state" / "openclaw.json"), target_.configText);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "gw" / "state" / "openclaw.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  expectNothingLeft("restore");

  auto again = talon({"fleet", "status", "--json"});
  json::object restored = test::jsonObjectOf(again.out).at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(restored.at("state"), "running") << again.out;
  EXPECT_EQ(restored.at("health").at("ok"), true) << again.out;

  // A gated rollout of a config change: its pre-step backup is pulled over ssh, and its gate (/readyz and
  // the health call) reaches the gateway through the tunnel.
  env["FLEET_SSH_TOKEN_B"] = "fleet-ssh-canary-token-b";
  std::string changed = text;
  changed.replace(changed.find("${FLEET_SSH_TOKEN}"), 18, "${FLEET_SSH_TOKEN_B}");
  sshTestWrite(dir_ / "org" / "fleet.json5", changed);
  auto rolled = talon({"fleet", "rollout", "--gate-timeout", "60", "--json"});
  ASSERT_EQ(rolled.status, 0) << rolled.out << rolled.err;
  json::object rollout = test::jsonObjectOf(rolled.out);
  json::object rolledGateway = rollout.at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(rolledGateway.at("state"), "updated") << rolled.out;
  ASSERT_TRUE(rolledGateway.contains("backup")) << rolled.out;
  fs::path preStep = dir_ / "org" / ".talon-fleet" / "backups" /
                     ("0000000" + std::to_string(rolledGateway.at("backup").as_int64())) / gatewayId_;
  EXPECT_EQ(sshTestRead(preStep / "config" / "openclaw.json"), target_.configText);
  expectNothingLeft("rollout");
  auto afterRollout = talon({"fleet", "status", "--json"});
  json::object rolledStatus = test::jsonObjectOf(afterRollout.out).at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(rolledStatus.at("health").at("ok"), true) << afterRollout.out;
  EXPECT_EQ(rolledStatus.at("drift"), "in-sync") << afterRollout.out;

  auto stop = talon({"fleet", "stop"});
  EXPECT_EQ(stop.status, 0) << stop.out << stop.err;
  stopped_ = true;
  expectNothingLeft("stop");
}

/// The `openclaw` of tools/install-openclaw on this machine ($OPENCLAW_REF_DIR, else ~/.cache/openclaw-ref),
/// or "" when OpenClaw is not installed.
std::string sshTestOpenClawDir() {
  fs::path openclaw = test::installedOpenClaw();
  return openclaw.empty() ? "" : openclaw.parent_path().string();
}

/// The same sshd with an OpenClaw install on its sessions' PATH: "a host where OpenClaw is installed".
class FleetSshOpenClawTest : public FleetSshTest {
 protected:
  testing::SshdOptions serverOptions() override {
    testing::SshdOptions o;
    o.pathPrefix = sshTestOpenClawDir();
    return o;
  }
};

TEST_F(FleetSshOpenClawTest, AnOpenClawGatewayRunsWithTheHostsOpenClaw) {
  if (sshTestOpenClawDir().empty()) GTEST_SKIP() << "OpenClaw is not installed (tools/install-openclaw)";
  context_.readyTimeout = std::chrono::seconds(120);
  target(inventory("openclaw", sshKeys("service: \"detached\"")));
  auto applied = deployer_->apply(target_, context_, /*configChanged=*/true);
  ASSERT_TRUE(applied) << applied.error().message << "\n" << progress_;
  EXPECT_EQ(*applied, ApplyAction::kStarted);
  // No Talon binary was installed; the launcher runs the host's openclaw.
  EXPECT_FALSE(fs::exists(remoteDir() / "bin" / "talon"));
  EXPECT_THAT(sshTestRead(remoteDir() / "run.sh"),
              HasSubstr("'" + sshTestOpenClawDir() + "/openclaw' 'gateway' 'run'"));
  EXPECT_THAT(sshTestRead(remoteDir() / "run.sh"), HasSubstr("OPENCLAW_CONFIG_PATH="));
  auto status = deployer_->status(target_, context_);
  EXPECT_EQ(status.state, ProcessState::kRunning) << status.detail;
  ASSERT_TRUE(deployer_->stop(target_, context_));
  stopped_ = true;
  EXPECT_EQ(deployer_->status(target_, context_).state, ProcessState::kStopped);
}

TEST_F(FleetSshOpenClawTest, TheFleetCliReachesAnOpenClawGatewayThroughItsTunnelAndFindsItInSync) {
  if (sshTestOpenClawDir().empty()) GTEST_SKIP() << "OpenClaw is not installed (tools/install-openclaw)";
  target(inventory("openclaw", sshKeys("service: \"detached\"")));
  std::map<std::string, std::string> env = {{"FLEET_SSH_TOKEN", "fleet-ssh-canary-token"}};
  auto talon = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--inventory", (dir_ / "org" / "fleet.json5").string()});
    return test::runTalon(dir_.path(), args, env);
  };
  auto apply = talon({"fleet", "apply", "--json"});
  ASSERT_EQ(apply.status, 0) << apply.out << apply.err;
  auto status = talon({"fleet", "status", "--json"});
  json::object gw = test::jsonObjectOf(status.out).at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(gw.at("state"), "running") << status.out;
  EXPECT_EQ(gw.at("health").at("ok"), true) << status.out;
  EXPECT_EQ(gw.at("access").at("via"), "ssh-tunnel") << status.out;
  // OpenClaw's drift compares what runs with its config file, read on the host (its SHA-256 over ssh).
  auto drift = talon({"fleet", "drift", "--json"});
  EXPECT_EQ(drift.status, 0) << drift.out << drift.err;
  EXPECT_EQ(test::jsonObjectOf(drift.out).at("gateways").as_array().at(0).at("state"), "in-sync") << drift.out;
  auto stop = talon({"fleet", "stop"});
  EXPECT_EQ(stop.status, 0) << stop.out << stop.err;
  stopped_ = true;
}

/// The same sshd with the systemctl / journalctl doubles first on its sessions' PATH.
class FleetSshSystemdTest : public FleetSshTest {
 protected:
  testing::SshdOptions serverOptions() override {
    testing::SshdOptions o;
    o.pathPrefix = TALON_SHIM_DIR;
    o.environment = {"TALON_SHIM_STATE=" + shimState().string()};
    return o;
  }
  fs::path shimState() const { return dir_ / "systemd-double"; }
};

TEST_F(FleetSshSystemdTest, SystemdServiceIsInstalledStartedRestartedAndStoppedThroughSystemctl) {
  target(inventory("talon", sshKeys("service: \"systemd\"")));
  auto first = deployer_->apply(target_, context_, /*configChanged=*/true);
  ASSERT_TRUE(first) << first.error().message << "\n" << progress_ << "\n" << sshTestRead(shimState() / "calls.log");
  EXPECT_EQ(*first, ApplyAction::kStarted);

  const std::string unit = unitName();
  std::string unitText = sshTestRead(unitFile());
  EXPECT_THAT(unitText,
              HasSubstr("ExecStart=\"" + (remoteDir() / "bin" / "talon").string() + "\" \"gateway\" \"run\""));
  EXPECT_THAT(unitText, HasSubstr(::geteuid() == 0 ? "WantedBy=multi-user.target" : "WantedBy=default.target"));
  std::string calls = sshTestRead(shimState() / "calls.log");
  EXPECT_THAT(calls, HasSubstr(systemctl() + " daemon-reload"));
  EXPECT_THAT(calls, HasSubstr(systemctl() + " enable " + unit));
  EXPECT_THAT(calls, HasSubstr(systemctl() + " start " + unit));

  auto status = deployer_->status(target_, context_);
  EXPECT_EQ(status.state, ProcessState::kRunning) << status.detail;
  ASSERT_TRUE(status.pid.has_value());
  EXPECT_TRUE(sshTestProcessRuns(*status.pid));
  auto log = deployer_->logs(target_, context_, 20);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_FALSE(log->empty());
  EXPECT_THAT(sshTestRead(shimState() / "calls.log"), HasSubstr("journalctl -u " + unit + " -n 20"));

  target(inventory("talon", sshKeys("service: \"systemd\""), "FLEET_SSH_TOKEN_B"));
  auto changed = deployer_->apply(target_, context_, /*configChanged=*/true);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(*changed, ApplyAction::kRestarted);
  EXPECT_THAT(sshTestRead(shimState() / "calls.log"), HasSubstr(systemctl() + " restart " + unit));
  auto restarted = deployer_->status(target_, context_);
  EXPECT_EQ(restarted.state, ProcessState::kRunning) << restarted.detail;
  ASSERT_TRUE(restarted.pid.has_value());
  EXPECT_NE(*restarted.pid, *status.pid);

  ASSERT_TRUE(deployer_->stop(target_, context_));
  stopped_ = true;
  EXPECT_THAT(sshTestRead(shimState() / "calls.log"), HasSubstr(systemctl() + " stop " + unit));
  EXPECT_FALSE(sshTestProcessRuns(*restarted.pid));
  EXPECT_EQ(deployer_->status(target_, context_).state, ProcessState::kStopped);
}

}  // namespace
}  // namespace talon::fleet
