// End to end: `talon gateway run` (a real process) with the IRC channel configured against a real ngircd
// on a loopback port, and `talon-mock-model` answering every turn with "ok". A human on IRC sends the
// bot a direct message and gets the model's answer; the server is then killed and restarted, and the
// next message is answered too. The gateway must start the channel from config: when it does not (the
// channel runtime missing), the test fails saying so — it never skips.
#include <gtest/gtest.h>

#include <filesystem>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "support/irc_test_client.h"
#include "support/ngircd_server.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class IrcGatewayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto server = testing::NgircdServer::start();
    ASSERT_TRUE(server) << server.error().toString();
    ircd_ = std::move(*server);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    const int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: "e2e-token" } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) +
                                       R"(/v1", apiKey: "test-key", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
  channels: { irc: { host: "127.0.0.1", port: )" +
                                       std::to_string(ircd_->port()) +
                                       R"(, tls: false, nick: "talonbot",
                     channels: ["#talon"], dmPolicy: "open", allowFrom: ["*"] } },
})");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    ASSERT_GT(waitForPortFile((dir_ / "gateway.port").string(), 15s), 0) << gateway_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    ircd_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// Polls the server (ISON) until the bot is on it, up to `timeout`.
  bool botOnline(testing::IrcTestClient& human, std::chrono::milliseconds timeout) {
    return pollUntil(
        [&] {
          human.send("ISON talonbot");
          auto reply = human.waitFor([](const testing::irc::IrcLine& l) { return l.command == "303"; });
          return reply && reply->params.back().find("talonbot") != std::string::npos;
        },
        timeout);
  }

  fs::path dir_;
  std::unique_ptr<testing::NgircdServer> ircd_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(IrcGatewayE2E, ADirectMessageIsAnsweredBeforeAndAfterTheServerRestarts) {
  testing::IrcTestClient alice;
  ASSERT_TRUE(alice.connect(ircd_->port(), "alice"));
  ASSERT_TRUE(botOnline(alice, 20s)) << "the gateway did not connect the IRC channel configured in channels.irc "
                                        "(is the channel runtime starting channels from config?)\n"
                                     << gateway_->log();
  alice.say("talonbot", "hello over IRC");
  auto reply = alice.nextPrivmsg("talonbot", {});
  ASSERT_TRUE(reply) << gateway_->log();
  EXPECT_EQ(*reply, "ok");

  ASSERT_TRUE(ircd_->restart());
  ASSERT_TRUE(alice.connect(ircd_->port(), "alice"));
  ASSERT_TRUE(botOnline(alice, 20s)) << "the IRC channel did not reconnect after the server restarted\n"
                                     << gateway_->log();
  alice.say("talonbot", "are you back?");
  reply = alice.nextPrivmsg("talonbot", {});
  ASSERT_TRUE(reply) << gateway_->log();
  EXPECT_EQ(*reply, "ok");
}

}  // namespace
}  // namespace talon::test
