// End to end: `talon gateway run` (a real process) with the XMPP channel configured against a real Prosody
// on a loopback port, and `talon-mock-model` answering every turn with "ok". A person writes to the
// agent's JID and gets the model's answer; Prosody is then killed and restarted, and the next message is
// answered too. The gateway must start the channel from config: when it does not, the test fails saying
// so — it never skips. A second test starts the gateway with a broken libstrophe on the library path: the
// account fails its start with the reason, and the gateway runs on.
#include <gtest/gtest.h>

#include <filesystem>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "base/json.h"
#include "support/prosody_server.h"
#include "support/xmpp_test_client.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class XmppGatewayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto server = testing::ProsodyServer::start();
    ASSERT_TRUE(server) << server.error().toString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->registerUser("talon", "talon-pw"));
    ASSERT_TRUE(server_->registerUser("alice", "alice-pw"));
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
  channels: { xmpp: { dmPolicy: "allowlist", allowFrom: ["alice@localhost"], accounts: { work: {
    jid: "talon@localhost", password: "${XMPP_PASSWORD}", server: "127.0.0.1", port: )" +
                                       std::to_string(server_->port()) + R"(, allowPlaintext: true,
  } } } },
})");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()},
                                           {"XMPP_PASSWORD", "talon-pw"}},
        (dir_ / "gateway.log").string());
    ASSERT_GT(waitForPortFile((dir_ / "gateway.port").string(), 15s), 0) << gateway_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    server_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path dir_;
  std::unique_ptr<testing::ProsodyServer> server_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(XmppGatewayE2E, AMessageIsAnsweredBeforeAndAfterTheServerRestarts) {
  {
    // Sent before the channel may be online: Prosody keeps it offline and hands it over on login.
    testing::XmppTestClient alice("alice", "alice-pw", server_->port());
    ASSERT_TRUE(alice.connect()) << server_->log();
    alice.send("talon@localhost", "hello over XMPP");
    auto reply = alice.next({}, 30s);
    ASSERT_TRUE(reply) << "the gateway did not answer over the XMPP channel configured in channels.xmpp\n"
                       << gateway_->log() << "\n"
                       << server_->log();
    EXPECT_EQ(reply->body, "ok");
  }

  ASSERT_TRUE(server_->restart());
  testing::XmppTestClient alice("alice", "alice-pw", server_->port());
  ASSERT_TRUE(alice.connect()) << server_->log();
  alice.send("talon@localhost", "are you back?");
  auto reply = alice.next({}, 30s);
  ASSERT_TRUE(reply) << "the XMPP channel did not come back after Prosody restarted\n" << gateway_->log();
  EXPECT_EQ(reply->body, "ok");
}

// `talon` does not link libstrophe: it opens libstrophe.so.0 when an XMPP account starts. With a broken
// libstrophe.so.0 first on the library path (LD_LIBRARY_PATH reaches dlopen), the gateway starts and
// serves as before, and the XMPP account does not start: `talon channels status` shows the reason, naming
// the library and its Debian package. Needs no server: the account never gets as far as connecting.
TEST(XmppGatewayWithoutLibstropheE2E, TheAccountDoesNotStartAndStatusSaysWhy) {
  const fs::path dir = makeTempDir();
  writeText(dir / "lib" / "libstrophe.so.0", "not a shared object\n");
  const std::string token = "e2e-token-without-libstrophe";
  writeText(dir / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                    token + R"(" } },
  channels: { xmpp: { dmPolicy: "allowlist", allowFrom: ["alice@localhost"], accounts: { work: {
    jid: "talon@localhost", password: "pw", server: "127.0.0.1", port: 1, allowPlaintext: true,
  } } } },
})");
  ChildProcess gateway({TALON_BINARY, "gateway", "run", "--config", (dir / "talon.json").string(), "--port", "0",
                        "--port-file", (dir / "gateway.port").string()},
                       {{"TALON_STATE_DIR", (dir / "state").string()}, {"LD_LIBRARY_PATH", (dir / "lib").string()}},
                       (dir / "gateway.log").string());
  const int port = waitForPortFile((dir / "gateway.port").string(), 15s);
  ASSERT_GT(port, 0) << gateway.log();

  json::object account;
  auto accountStatus = [&] {
    auto r = runTalon(
        dir, {"channels", "status", "--json", "--url", "ws://127.0.0.1:" + std::to_string(port), "--token", token},
        {{"TALON_STATE_DIR", (dir / "state").string()}});
    if (r.status != 0) return false;
    const auto payload = jsonObjectOf(r.out);
    const auto* all = getObject(payload, "channelAccounts");
    const auto* list = all != nullptr ? getArray(*all, "xmpp") : nullptr;
    if (list == nullptr || list->empty() || !list->front().is_object()) return false;
    account = list->front().as_object();
    return getString(account, "lastError").has_value();
  };
  ASSERT_TRUE(pollUntil(accountStatus, 15s))
      << "no xmpp account with a lastError in `talon channels status`: " << json::serialize(account) << "\n"
      << gateway.log();
  const std::string lastError(*getString(account, "lastError"));
  EXPECT_NE(lastError.find("cannot load libstrophe.so.0"), std::string::npos) << lastError;
  EXPECT_NE(lastError.find("(Debian package libstrophe0)"), std::string::npos) << lastError;
  EXPECT_EQ(getBool(account, "running"), false) << json::serialize(account);
  EXPECT_TRUE(gateway.running()) << gateway.log();
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace talon::test
