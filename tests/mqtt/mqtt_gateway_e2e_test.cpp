// End to end: `talon gateway run` (a real process) with the MQTT channel configured against a real
// mosquitto on a loopback port, and `talon-mock-model` answering every turn with "ok". A device publishes a
// question and gets the model's answer on the reply topic; the broker is then killed and restarted, and
// the next question is answered too. The gateway must start the channel from config: when it does not,
// the test fails saying so — it never skips.
#include <gtest/gtest.h>

#include <filesystem>

#include "../e2e/child_process.h"
#include "../e2e/e2e_support.h"
#include "support/mosquitto_server.h"
#include "support/mqtt_test_client.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class MqttGatewayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto server = testing::MosquittoServer::start();
    ASSERT_TRUE(server) << server.error().toString();
    broker_ = std::move(*server);
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
  channels: { mqtt: { dmPolicy: "open", allowFrom: ["*"], accounts: { home: {
    url: ")" + broker_->url() +
                                       R"(", clientId: "talon-e2e", replyTopic: "talon/out/{peer}",
    subscriptions: [{ topic: "talon/in/+", senderLevel: 2 }],
  } } } },
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
    broker_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// Waits until the broker has granted the gateway's subscription `times` times in all (its log counts
  /// every SUBACK it sends), up to `timeout`.
  bool subscribed(int times, std::chrono::milliseconds timeout) {
    return pollUntil(
        [&] {
          const std::string log = broker_->log();
          int n = 0;
          for (auto at = log.find("Sending SUBACK to talon-e2e"); at != std::string::npos;
               at = log.find("Sending SUBACK to talon-e2e", at + 1)) {
            ++n;
          }
          return n >= times;
        },
        timeout);
  }

  fs::path dir_;
  std::unique_ptr<testing::MosquittoServer> broker_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
};

TEST_F(MqttGatewayE2E, AQuestionIsAnsweredBeforeAndAfterTheBrokerRestarts) {
  ASSERT_TRUE(subscribed(1, 20s)) << "the gateway did not connect the MQTT channel configured in channels.mqtt\n"
                                  << gateway_->log() << "\n"
                                  << broker_->log();
  {
    testing::MqttTestClient device;
    ASSERT_TRUE(device.connect(broker_->port()));
    ASSERT_TRUE(device.subscribe("talon/out/kitchen"));
    ASSERT_TRUE(device.publish("talon/in/kitchen", "hello over MQTT"));
    auto reply = device.next({});
    ASSERT_TRUE(reply) << gateway_->log();
    EXPECT_EQ(reply->payload, "ok");
  }

  ASSERT_TRUE(broker_->restart());
  ASSERT_TRUE(subscribed(2, 20s)) << "the MQTT channel did not reconnect after the broker restarted\n"
                                  << gateway_->log();
  testing::MqttTestClient device;
  ASSERT_TRUE(device.connect(broker_->port()));
  ASSERT_TRUE(device.subscribe("talon/out/kitchen"));
  ASSERT_TRUE(device.publish("talon/in/kitchen", "are you back?"));
  auto reply = device.next({});
  ASSERT_TRUE(reply) << gateway_->log();
  EXPECT_EQ(reply->payload, "ok");
}

}  // namespace
}  // namespace talon::test
