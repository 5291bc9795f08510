// End-to-end: the Talon-only routing policy (docs/providers.md "Routing") in a real `talon gateway run`
// with `talon-mock-model` answering two models of one provider, the primary slowly. Strategy "latency"
// with minCalls 1: the first turn calls the primary (no data yet counts as within the SLO), the next
// one calls the fallback first because the primary's measured p95 is over the SLO, and
// `talon runs show` says why that model, as text and as JSON.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kRoutingE2eToken = "routing-e2e-token-0123456789";

/// The primary answers after 700 ms, the fallback at once.
const char* kRoutingE2eScript = R"({
  "rules": [
    {"match": {"model": "slow-model"}, "delayMs": 700, "reply": {"text": "slow answer"}},
    {"match": {"model": "quick-model"}, "reply": {"text": "quick answer"}}
  ]
})";

class RoutingE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", kRoutingE2eScript);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    const int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                       std::string(kRoutingE2eToken) + R"(" } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) +
                                       R"(/v1", apiKey: "k", api: "openai-completions",
                                 models: [{ id: "slow-model", name: "Slow" }, { id: "quick-model", name: "Quick" }] } } },
  agents: { defaults: { model: { primary: "mock/slow-model", fallbacks: ["mock/quick-model"] },
                        routing: { strategy: "latency", latencySloMs: 300, minCalls: 1 } } },
})");
    env_ = {{"TALON_STATE_DIR", (dir_ / "state").string()}};
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        env_, (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// chat.send `message` to the main session; its run id (the idempotency key) once its final event came.
  std::string send(ProtocolClient& c, const std::string& message, const std::string& expectedText) {
    const std::string key = newUuid();
    auto res =
        c.request("chat.send", json::object{{"sessionKey", "main"}, {"message", message}, {"idempotencyKey", key}});
    EXPECT_TRUE(res && getBool(*res, "ok").value_or(false)) << (res ? json::serialize(*res) : "no answer");
    auto term = c.waitTerminal(key);
    EXPECT_TRUE(term) << "no terminal chat event for " << message << "\n" << gateway_->log();
    if (term) EXPECT_EQ(finalText(*term), expectedText) << json::serialize(*term);
    return key;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
};

TEST_F(RoutingE2E, ALatencyPolicyMovesASlowPrimaryBehindItsFallbackAndRunsShowSaysWhy) {
  auto c = ProtocolClient::connect(port_, kRoutingE2eToken);
  ASSERT_TRUE(c) << gateway_->log();
  const std::string first = send(*c, "first", "slow answer");  // no data yet: the primary leads
  const std::string second = send(*c, "second", "quick answer");

  auto shown = runTalon(dir_, {"runs", "show", second, "--json"}, env_);
  ASSERT_EQ(shown.status, 0) << shown.err;
  auto ledger = jsonObjectOf(shown.out);
  const auto* routing = getObject(ledger, "routing");
  ASSERT_TRUE(routing) << shown.out;
  EXPECT_EQ(getString(*routing, "strategy"), "latency");
  EXPECT_EQ(getString(*routing, "chosen"), "mock/quick-model");
  EXPECT_EQ(getBool(*routing, "applied"), true);
  const auto& candidates = routing->at("candidates").as_array();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(getInt(candidates[1].as_object(), "chainIndex"), 0);
  EXPECT_GE(candidates[1].as_object().at("score").to_number<double>(), 300.0);
  // The routing element is not listed among the model attempts.
  const auto& attempts = ledger.at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 1u) << shown.out;
  EXPECT_EQ(getString(attempts[0].as_object(), "model"), "quick-model");

  auto human = runTalon(dir_, {"runs", "show", second}, env_);
  ASSERT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find("routing:  strategy latency, latencySloMs 300, minCalls 1\n"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("model chosen: mock/quick-model — no calls yet: latency unknown, counted as within the "
                           "SLO; primary mock/slow-model: p95 "),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("  1. mock/quick-model (fallback 1): no calls yet"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("  2. mock/slow-model (primary): p95 "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(" over the 300 ms SLO\n"), std::string::npos) << human.out;

  // The first run was routed too: the primary led, with no data yet.
  auto firstShown = runTalon(dir_, {"runs", "show", first, "--json"}, env_);
  ASSERT_EQ(firstShown.status, 0) << firstShown.err;
  auto firstLedger = jsonObjectOf(firstShown.out);
  ASSERT_TRUE(getObject(firstLedger, "routing")) << firstShown.out;
  EXPECT_EQ(getString(*getObject(firstLedger, "routing"), "chosen"), "mock/slow-model");
}

}  // namespace
}  // namespace talon::test
