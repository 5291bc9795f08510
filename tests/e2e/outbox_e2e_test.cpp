// End-to-end: the outbox through real processes — `talon gateway run` with the loopback channel
// configured (channels.loopback), `talon message send` (the gateway's `send`, durable delivery) and
// `talon channels deliveries` reading the outbox from the state dir's database.
//
// The loopback channel must be started from config by the gateway (the channel runtime). When it is not,
// the send test fails and says so: it is not skipped.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kOutboxToken = "e2e-outbox-token-0123456789";

struct CliOutput {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

class OutboxE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "talon.json", std::string(R"({
  gateway: { auth: { mode: "token", token: ")") +
                                       kOutboxToken + R"(" } },
  channels: { loopback: { dmPolicy: "open", allowFrom: ["*"] } },
})");
    startGateway();
  }
  void TearDown() override {
    gateway_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  void startGateway() {
    fs::remove(dir_ / "gateway.port");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }

  /// Runs `talon <args>` with the test's state dir and waits for it.
  CliOutput cli(std::vector<std::string> args) {
    auto r = runTalon(dir_, args, {{"TALON_STATE_DIR", (dir_ / "state").string()}});
    EXPECT_NE(r.status, -1) << "the CLI did not exit: " << r.out << r.err;
    return CliOutput{r.status, r.out + r.err};
  }

  /// The JSON object the CLI printed.
  static json::object jsonOf(const CliOutput& r) {
    auto o = jsonObjectOf(r.output);
    EXPECT_FALSE(o.empty()) << r.output;
    return o;
  }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

  fs::path dir_;
  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
};

TEST_F(OutboxE2E, MessageSendDeliversOnTheLoopbackChannelAndTheOutboxListsIt) {
  auto sent = cli({"message", "send", "--channel", "loopback", "--to", "Bob", "--message", "hello from the CLI",
                   "--json", "--url", url(), "--token", kOutboxToken});
  if (sent.output.find("unsupported channel: loopback") != std::string::npos ||
      sent.output.find("no channel is running") != std::string::npos) {
    FAIL() << "the gateway did not start the loopback channel configured under channels.loopback (starting "
              "channels from config is the channel runtime's job): "
           << sent.output;
  }
  ASSERT_EQ(sent.exitCode, 0) << sent.output << gateway_->log();
  auto result = jsonOf(sent);
  EXPECT_EQ(getString(result, "channel"), "loopback") << sent.output;
  ASSERT_TRUE(getString(result, "messageId")) << sent.output;
  const std::string messageId(*getString(result, "messageId"));

  auto listed = cli({"channels", "deliveries", "--json"});
  ASSERT_EQ(listed.exitCode, 0) << listed.output;
  const auto listedJson = jsonOf(listed);  // getArray points into it
  const auto* deliveries = getArray(listedJson, "deliveries");
  ASSERT_TRUE(deliveries) << listed.output;
  ASSERT_EQ(deliveries->size(), 1u) << listed.output;
  const auto& d = (*deliveries)[0].as_object();
  EXPECT_EQ(getString(d, "id"), messageId);
  EXPECT_EQ(getString(d, "state"), "sent");
  EXPECT_EQ(getString(d, "channel"), "loopback");
  EXPECT_EQ(d.at("peer").at("id").as_string(), "Bob");
  EXPECT_EQ(listed.output.find("hello from the CLI"), std::string::npos);  // the text is never listed
}

TEST_F(OutboxE2E, MessageSendRefusesBlankFlagsAndDeliveriesWorksOffline) {
  auto blank = cli(
      {"message", "send", "--channel", " ", "--to", "Bob", "--message", "x", "--url", url(), "--token", kOutboxToken});
  EXPECT_EQ(blank.exitCode, 2) << blank.output;
  EXPECT_NE(blank.output.find("--channel must not be blank"), std::string::npos) << blank.output;
  auto noText = cli({"message", "send", "--to", "Bob", "--message", "  ", "--url", url(), "--token", kOutboxToken});
  EXPECT_EQ(noText.exitCode, 2) << noText.output;

  ASSERT_TRUE(gateway_->stop(SIGTERM));
  auto listed = cli({"channels", "deliveries", "--state", "failed", "--json"});
  ASSERT_EQ(listed.exitCode, 0) << listed.output;
  const auto listedJson = jsonOf(listed);  // getArray points into it
  const auto* deliveries = getArray(listedJson, "deliveries");
  ASSERT_TRUE(deliveries) << listed.output;
  EXPECT_TRUE(deliveries->empty());
  auto bad = cli({"channels", "deliveries", "--state", "queued"});
  EXPECT_EQ(bad.exitCode, 2) << bad.output;
  EXPECT_NE(bad.output.find("--state must be pending, sent or failed"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace talon::test
