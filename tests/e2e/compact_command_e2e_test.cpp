// End-to-end: `/compact` typed in the web chat (chat.send over WebSocket, protocol v4) of a real
// `talon gateway run`, with `talon-mock-model` as the model. The command is answered with OpenClaw's
// reply text as the run's final chat event, sessions.list then shows compactionCount 1, and the next
// turn sends the summary instead of the summarised exchange (the model's request log shows it).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "base/ids.h"
#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kCompactE2eToken = "compact-e2e-token-0123456789";

/// The summary call (its system prompt, session_compaction.cpp) is answered with a recognisable summary;
/// every turn with "ok".
const char* kCompactE2eScript = R"({
  "rules": [
    {"match": {"systemContains": "You are compacting a conversation"}, "reply": {"text": "SUMMARY: the user is Ada."}},
    {"reply": {"text": "ok"}}
  ]
})";

class CompactCommandE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", kCompactE2eScript);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string(), "--log",
                                 (dir_ / "model-requests.jsonl").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    const int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: { auth: { mode: "token", token: ")" +
                                       std::string(kCompactE2eToken) + R"(" } },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) +
                                       R"(/v1", apiKey: "k", api: "openai-completions",
                                 models: [{ id: "mock-model", name: "Mock", contextWindow: 128000 }] } } },
  agents: { defaults: { model: "mock/mock-model", compaction: { recentTurnsPreserve: 1 } } },
})");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    port_ = waitForPortFile((dir_ / "gateway.port").string(), 15s);
    ASSERT_GT(port_, 0) << gateway_->log();
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  /// chat.send `message` to the main session; the text of its final chat event.
  std::string send(ProtocolClient& c, const std::string& message) {
    const std::string key = newUuid();
    auto res =
        c.request("chat.send", json::object{{"sessionKey", "main"}, {"message", message}, {"idempotencyKey", key}});
    EXPECT_TRUE(res && getBool(*res, "ok").value_or(false)) << (res ? json::serialize(*res) : "no answer");
    auto term = c.waitTerminal(key);
    EXPECT_TRUE(term) << "no terminal chat event for " << message << "\n" << gateway_->log();
    if (!term) return {};
    EXPECT_EQ(getString(*term, "state").value_or(""), "final") << json::serialize(*term);
    return finalText(*term);
  }

  /// The bodies of the chat completions the model received, in order.
  std::vector<json::object> modelRequests() const {
    std::vector<json::object> out;
    std::istringstream lines(readText(dir_ / "model-requests.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      auto v = parseJson(line);
      if (!v || !v->is_object()) continue;
      if (getString(v->as_object(), "path").value_or("") != "/v1/chat/completions") continue;
      if (const auto* body = getObject(v->as_object(), "body")) out.push_back(*body);
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  int port_ = 0;
};

TEST_F(CompactCommandE2E, SlashCompactInTheWebChatCompactsTheSessionAndSessionsListCountsIt) {
  auto c = ProtocolClient::connect(port_, kCompactE2eToken);
  ASSERT_TRUE(c) << gateway_->log();
  EXPECT_EQ(send(*c, "my name is Ada"), "ok");
  EXPECT_EQ(send(*c, "what is 2+2"), "ok");

  auto before = c->request("sessions.list", json::object{});
  ASSERT_TRUE(before && getBool(*before, "ok").value_or(false));
  const auto* rows = getArray(*getObject(*before, "payload"), "sessions");
  ASSERT_TRUE(rows && rows->size() == 1u) << json::serialize(*before);
  EXPECT_EQ(getInt(rows->at(0).as_object(), "compactionCount"), 0);

  const std::string reply = send(*c, "/compact keep the names");
  EXPECT_EQ(reply.rfind("⚙️ Compacted (", 0), 0u) << reply;
  EXPECT_NE(reply.find("/128k ("), std::string::npos) << reply;

  auto after = c->request("sessions.list", json::object{});
  ASSERT_TRUE(after && getBool(*after, "ok").value_or(false));
  rows = getArray(*getObject(*after, "payload"), "sessions");
  ASSERT_TRUE(rows && rows->size() == 1u) << json::serialize(*after);
  EXPECT_EQ(getString(rows->at(0).as_object(), "key").value_or(""), "agent:main:main");
  EXPECT_EQ(getInt(rows->at(0).as_object(), "compactionCount"), 1) << json::serialize(*after);

  // The history is compacted: the next turn sends the summary, not the summarised exchange.
  EXPECT_EQ(send(*c, "what is my name?"), "ok");
  auto requests = modelRequests();
  ASSERT_EQ(requests.size(), 4u);  // two turns, the summary, the turn after it
  const std::string summaryCall = json::serialize(requests[2]);
  EXPECT_NE(summaryCall.find("my name is Ada"), std::string::npos);
  EXPECT_NE(summaryCall.find("keep the names"), std::string::npos);
  EXPECT_EQ(summaryCall.find("/compact"), std::string::npos);
  const std::string next = json::serialize(requests[3]);
  EXPECT_NE(next.find("SUMMARY: the user is Ada."), std::string::npos) << next;
  EXPECT_EQ(next.find("my name is Ada"), std::string::npos) << next;
  EXPECT_NE(next.find("what is 2+2"), std::string::npos) << next;
}

}  // namespace
}  // namespace talon::test
