// End-to-end: how `talon gateway run` refuses to start, and says why (issue 6, "Operability"): one
// gateway per state dir (exit 78, the holder named), a port in use (exit 78, no token printed), a port
// taken on [::1] only, a state dir that cannot be created, and the lock of a killed gateway taken over.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class StartupE2E : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = makeTempDir(); }
  void TearDown() override {
    children_.clear();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// Starts a config-less gateway (token generated on first start) with `stateDir` on `port`.
  ChildProcess& start(const fs::path& stateDir, int port, const std::string& name) {
    children_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "absent.json").string(), "--port",
                                 std::to_string(port), "--port-file", (dir_ / (name + ".port")).string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", stateDir.string()}}, (dir_ / (name + ".log")).string()));
    return *children_.back();
  }

  /// Exit code of a child expected to refuse to start.
  static int exitCodeOf(ChildProcess& child) {
    auto status = child.wait(20s);
    EXPECT_TRUE(status) << "still running: " << child.log();
    if (!status) return -1;
    EXPECT_TRUE(WIFEXITED(*status)) << child.log();
    return WEXITSTATUS(*status);
  }

  fs::path dir_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

TEST_F(StartupE2E, SecondGatewayOnTheSameStateDirExits78NamingTheFirst) {
  auto& first = start(dir_ / "state", 0, "first");
  int port = waitForPortFile((dir_ / "first.port").string(), 15s);
  ASSERT_GT(port, 0) << first.log();
  auto& second = start(dir_ / "state", 0, "second");  // another port, same state dir
  EXPECT_EQ(exitCodeOf(second), 78);
  EXPECT_NE(second.log().find("another gateway (pid " + std::to_string(first.pid()) + ", port " + std::to_string(port) +
                              ") is already running with state dir"),
            std::string::npos)
      << second.log();
  EXPECT_TRUE(first.running());
}

TEST_F(StartupE2E, PortInUseExits78WithoutPrintingAToken) {
  auto& first = start(dir_ / "state-a", 0, "first");
  int port = waitForPortFile((dir_ / "first.port").string(), 15s);
  ASSERT_GT(port, 0) << first.log();
  auto& second = start(dir_ / "state-b", port, "second");
  EXPECT_EQ(exitCodeOf(second), 78);
  std::string log = second.log();
  EXPECT_NE(log.find("the port is already in use"), std::string::npos) << log;
  EXPECT_NE(log.find(":" + std::to_string(port)), std::string::npos) << log;
  EXPECT_EQ(log.find("generated a gateway token"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir_ / "state-b" / "gateway.token"));
  EXPECT_EQ(log.find("i/o error"), std::string::npos) << log;
}

TEST_F(StartupE2E, PortTakenOnIpv6LoopbackOnlyIsRefusedNotHalfServed) {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) GTEST_SKIP() << "no IPv6 on this host";
  int on = 1;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  a.sin6_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
    ::close(fd);
    GTEST_SKIP() << "cannot listen on [::1] here";
  }
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  int port = ntohs(a.sin6_port);
  auto& gw = start(dir_ / "state", port, "gw");
  EXPECT_EQ(exitCodeOf(gw), 78);
  EXPECT_NE(gw.log().find("cannot listen on [::1]:" + std::to_string(port) + ": the port is already in use"),
            std::string::npos)
      << gw.log();
  EXPECT_EQ(gw.log().find("serving on 127.0.0.1 only"), std::string::npos) << gw.log();
  ::close(fd);
}

TEST_F(StartupE2E, StateDirThatCannotBeCreatedIsNamedWithTheReason) {
  writeText(dir_ / "a-file", "not a directory");
  auto& gw = start(dir_ / "a-file" / "state", 0, "gw");
  int code = exitCodeOf(gw);
  EXPECT_NE(code, 0);
  std::string log = gw.log();
  EXPECT_NE(log.find("the gateway did not start"), std::string::npos) << log;
  EXPECT_NE(log.find((dir_ / "a-file").string()), std::string::npos) << log;
  EXPECT_NE(log.find("Not a directory"), std::string::npos) << log;
  EXPECT_EQ(log.find("error: i/o error"), std::string::npos) << log;
}

TEST_F(StartupE2E, LockOfAKilledGatewayIsTakenOver) {
  auto& first = start(dir_ / "state", 0, "first");
  ASSERT_GT(waitForPortFile((dir_ / "first.port").string(), 15s), 0) << first.log();
  ASSERT_TRUE(first.stop(SIGKILL));
  ASSERT_TRUE(fs::exists(dir_ / "state" / "gateway.lock"));
  auto& second = start(dir_ / "state", 0, "second");
  ASSERT_GT(waitForPortFile((dir_ / "second.port").string(), 15s), 0) << second.log();
  EXPECT_NE(readText(dir_ / "state" / "gateway.lock").find("\"pid\":" + std::to_string(second.pid())),
            std::string::npos);
}

TEST_F(StartupE2E, ConfigValidateReportsWhatGatewayRunRefuses) {
  struct Case {
    std::string config;
    std::string message;
  };
  for (const auto& c : {Case{"{ gateway: { bind: 'lan', auth: { mode: 'none' } } }", "auth mode \"none\" is refused"},
                        Case{"{ gateway: { bind: 'lan', auth: { mode: 'password', password: 'p4ss' } } }",
                             "the gateway password is too weak for gateway.bind \"lan\": it has 4 characters"}}) {
    SCOPED_TRACE(c.config);
    writeText(dir_ / "talon.json", c.config);
    children_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "config", "validate", (dir_ / "talon.json").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "validate.log").string()));
    auto& validate = *children_.back();
    EXPECT_EQ(exitCodeOf(validate), 3);
    EXPECT_NE(validate.log().find(c.message), std::string::npos) << validate.log();
    children_.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0"},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "run.log").string()));
    auto& run = *children_.back();
    EXPECT_EQ(exitCodeOf(run), 3);
    EXPECT_NE(run.log().find(c.message), std::string::npos) << run.log();
    EXPECT_EQ(run.log().find("p4ss"), std::string::npos) << run.log();
    fs::remove(dir_ / "validate.log");
    fs::remove(dir_ / "run.log");
  }
}

TEST_F(StartupE2E, SecurityAuditAndDoctorExitNonZeroOnACriticalFinding) {
  writeText(dir_ / "talon.json", "{ gateway: { auth: { token: 'undefined' } } }");
  children_.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "security", "audit", "--json", "--config", (dir_ / "talon.json").string()},
      std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
      (dir_ / "audit.log").string()));
  // 'undefined' is refused by validation, so the audit cannot load the config: exit 3.
  EXPECT_EQ(exitCodeOf(*children_.back()), 3);
  writeText(dir_ / "talon.json", "{ gateway: { auth: { token: 'short-token' } } }");
  fs::create_directories(dir_ / "state");
  fs::permissions(dir_ / "state", fs::perms::all);  // 0777: world-writable state dir (critical)
  children_.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "security", "audit", "--json", "--config", (dir_ / "talon.json").string()},
      std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
      (dir_ / "audit2.log").string()));
  auto& audit = *children_.back();
  EXPECT_EQ(exitCodeOf(audit), 1);
  std::string log = audit.log();
  EXPECT_NE(log.find("\"id\": \"fs.state_dir.perms_world_writable\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"id\": \"gateway.token_too_short\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"id\": \"config.secrets.gateway_token_in_config\""), std::string::npos) << log;
  EXPECT_EQ(log.find("short-token"), std::string::npos) << log;
  // doctor --fix repairs the permissions; what is left is not critical.
  children_.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{TALON_BINARY, "doctor", "--fix", "--json", "--config", (dir_ / "talon.json").string()},
      std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
      (dir_ / "doctor.log").string()));
  auto& doctor = *children_.back();
  EXPECT_EQ(exitCodeOf(doctor), 0) << doctor.log();
  EXPECT_NE(doctor.log().find("\"fixed\": true"), std::string::npos) << doctor.log();
  EXPECT_EQ(fs::status(dir_ / "state").permissions() & fs::perms::all, fs::perms::owner_all);
}

}  // namespace
}  // namespace talon::test
