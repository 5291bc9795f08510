// End-to-end test of the OpenAI-compatible API's client tools (issue 9; OpenClaw
// docs/gateway/openai-http-api.md "Chat tool contract"): a real `talon gateway run` whose agent answers
// through `talon-mock-model` (OpenAI's wire format). The full loop, whole and streamed: a request
// offering a `get_weather` function → a `tool_calls` answer → a follow-up with the tool's result → the
// final answer, with the model seeing the client's tool next to the agent's own and the result bound
// to its call; a follow-up without `user` finds its session from the call id. Refusals: a result for
// no pending call, unsupported tool variants, a required tool_choice the model ignored. An answer that
// calls one of the agent's own tools with a client tool runs the agent's first, and its tool events
// reach a WebSocket client that follows the session.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/json.h"
#include "child_process.h"
#include "e2e_support.h"
#include "net/ws_client.h"

namespace talon::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kClientToolsToken = "e2e-client-tools-token-0123";

constexpr const char* kWeatherTools =
    R"([{"type":"function","function":{"name":"get_weather","description":"Current weather of a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";

/// The mock's script: a weather question offered tools → commentary and a get_weather call; the tool's
/// result → the final answer; "no tools please" → prose only.
constexpr const char* kClientToolsScript = R"({"rules": [
  {"match": {"lastRole": "tool", "lastToolContains": "18 C"}, "reply": {"text": "It is 18 C and sunny in Paris.", "chunks": 3}},
  {"match": {"lastUserContains": "weather in Paris", "hasTools": true},
   "reply": {"text": "Let me check.", "chunks": 2, "toolCalls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
             "argumentChunks": 2}},
  {"match": {"lastUserContains": "no tools please"}, "reply": {"text": "Just prose."}},
  {"match": {"lastUserContains": "list then weather", "hasTools": true},
   "reply": {"toolCalls": [{"name": "ls", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Rome"}}]}},
  {"reply": {"text": "ok"}}
]})";

class OpenAiClientToolsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    writeText(dir_ / "script.json", kClientToolsScript);
    mock_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_MOCK_MODEL_BINARY, "--port", "0", "--port-file", (dir_ / "mock.port").string(),
                                 "--script", (dir_ / "script.json").string(), "--log",
                                 (dir_ / "requests.jsonl").string()},
        std::map<std::string, std::string>{}, (dir_ / "mock.log").string());
    int mockPort = waitForPortFile((dir_ / "mock.port").string(), 10s);
    ASSERT_GT(mockPort, 0) << mock_->log();
    writeText(dir_ / "talon.json", R"({
  gateway: {
    auth: { mode: "token", token: ")" + std::string(kClientToolsToken) +
                                       R"(" },
    http: { endpoints: { chatCompletions: { enabled: true } } },
  },
  models: { providers: { mock: { baseUrl: "http://127.0.0.1:)" +
                                       std::to_string(mockPort) + R"(/v1",
    apiKey: "k", api: "openai-completions", models: [{ id: "mock-model", name: "Mock" }] } } },
  agents: { defaults: { model: "mock/mock-model" } },
})");
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{TALON_BINARY, "gateway", "run", "--config", (dir_ / "talon.json").string(), "--port",
                                 "0", "--port-file", (dir_ / "gateway.port").string()},
        std::map<std::string, std::string>{{"TALON_STATE_DIR", (dir_ / "state").string()}},
        (dir_ / "gateway.log").string());
    int port = waitForPortFile((dir_ / "gateway.port").string(), 20s);
    ASSERT_GT(port, 0) << gateway_->log();
    port_ = port;
    url_ = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  }

  void TearDown() override {
    gateway_.reset();
    mock_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Result<net::SimpleHttpResponse> post(const std::string& body) {
    return net::httpRequest(
        "POST", url_,
        {{"Authorization", std::string("Bearer ") + kClientToolsToken}, {"Content-Type", "application/json"}}, body,
        20s);
  }

  /// The request bodies the mock model received, oldest first.
  std::vector<json::object> modelRequests() {
    std::vector<json::object> out;
    std::istringstream lines(readText(dir_ / "requests.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      auto v = parseJson(line);
      if (v && v->is_object() && v->as_object().at("body").is_object()) {
        out.push_back(v->as_object().at("body").as_object());
      }
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<ChildProcess> mock_;
  std::unique_ptr<ChildProcess> gateway_;
  std::string url_;
  int port_ = 0;
};

/// The tool names a model request offered.
std::vector<std::string> offeredTools(const json::object& request) {
  std::vector<std::string> out;
  if (const auto* tools = getArray(request, "tools")) {
    for (const auto& t : *tools) out.emplace_back(t.at("function").at("name").as_string());
  }
  return out;
}

/// The `data:` payloads of an SSE body, in order ("[DONE]" kept as text).
std::vector<std::string> sseEvents(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  }
  return out;
}

TEST_F(OpenAiClientToolsE2E, TheFullToolLoopWithoutStreaming) {
  auto first = post(std::string(R"({"model":"openclaw/main","tools":)") + kWeatherTools +
                    R"(,"messages":[{"role":"user","content":"What is the weather in Paris?"}]})");
  ASSERT_TRUE(first) << first.error().toString();
  ASSERT_EQ(first->status, 200) << first->body << gateway_->log();
  auto v = parseJson(first->body);
  ASSERT_TRUE(v) << first->body;
  const auto& choice = v->at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls") << first->body;
  const auto& message = choice.at("message").as_object();
  EXPECT_EQ(message.at("role"), "assistant");
  EXPECT_EQ(message.at("content"), "Let me check.");
  const auto& calls = message.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 1u) << first->body;
  const auto& call = calls.at(0).as_object();
  EXPECT_EQ(call.at("type"), "function");
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  auto args = parseJson(std::string(call.at("function").at("arguments").as_string()));
  ASSERT_TRUE(args);
  EXPECT_EQ(args->at("city"), "Paris");
  std::string callId(call.at("id").as_string());
  EXPECT_EQ(callId.rfind("call_", 0), 0u) << callId;
  EXPECT_LE(callId.size(), 40u);  // OpenAI's own limit on tool call ids

  // The model saw the client's function next to the agent's own tools.
  auto requests = modelRequests();
  ASSERT_EQ(requests.size(), 1u);
  auto offered = offeredTools(requests[0]);
  EXPECT_NE(std::find(offered.begin(), offered.end(), "get_weather"), offered.end());
  EXPECT_NE(std::find(offered.begin(), offered.end(), "read"), offered.end());

  // The follow-up: the conversation, the assistant's tool-call message as received, the result. No
  // `user`: the call id leads back to the session.
  json::array history{json::object{{"role", "user"}, {"content", "What is the weather in Paris?"}}, message,
                      json::object{{"role", "tool"}, {"tool_call_id", callId}, {"content", "18 C, sunny"}}};
  auto tools = parseJson(kWeatherTools);
  auto second =
      post(json::serialize(json::object{{"model", "openclaw/main"}, {"tools", *tools}, {"messages", history}}));
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200) << second->body << gateway_->log();
  auto w = parseJson(second->body);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(w->at("choices").at(0).at("message").at("content"), "It is 18 C and sunny in Paris.");
  EXPECT_FALSE(w->at("choices").at(0).at("message").as_object().contains("tool_calls"));

  // The model got the result bound to its call, after the assistant message that made it.
  requests = modelRequests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& sent = requests[1].at("messages").as_array();
  ASSERT_GE(sent.size(), 3u);
  const auto& toolMessage = sent.at(sent.size() - 1).as_object();
  EXPECT_EQ(toolMessage.at("role"), "tool");
  EXPECT_EQ(toolMessage.at("tool_call_id"), json::value(callId));
  EXPECT_EQ(toolMessage.at("content"), "18 C, sunny");
  const auto& assistant = sent.at(sent.size() - 2).as_object();
  EXPECT_EQ(assistant.at("role"), "assistant");
  EXPECT_EQ(assistant.at("tool_calls").at(0).at("id"), json::value(callId));

  // The call is answered now: a second result for it is a 400, as is an id Talon never gave.
  auto again = post(json::serialize(json::object{{"model", "openclaw/main"}, {"messages", history}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400) << again->body;
  EXPECT_NE(again->body.find("invalid_request_error"), std::string::npos) << again->body;
  auto unknown = post(
      R"({"model":"openclaw/main","user":"u1","messages":[{"role":"user","content":"hi"},
         {"role":"tool","tool_call_id":"call_unknown","content":"x"}]})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400) << unknown->body;
  EXPECT_NE(unknown->body.find("tool_call_id `call_unknown` matches no pending tool call"), std::string::npos)
      << unknown->body;
  EXPECT_EQ(modelRequests().size(), 2u);  // neither reached the model
}

TEST_F(OpenAiClientToolsE2E, TheFullToolLoopStreamed) {
  auto first = post(std::string(R"({"model":"openclaw/main","user":"stream-conv","stream":true,
      "stream_options":{"include_usage":true},"tools":)") +
                    kWeatherTools + R"(,"messages":[{"role":"user","content":"What is the weather in Paris?"}]})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body << gateway_->log();
  auto events = sseEvents(first->body);
  ASSERT_GE(events.size(), 6u) << first->body;
  EXPECT_EQ(events.back(), "[DONE]");
  std::string content, callId, callName, arguments, finish;
  bool sawUsage = false, roleFirst = false;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    auto e = parseJson(events[i]);
    ASSERT_TRUE(e && e->is_object()) << events[i];
    const auto& o = e->as_object();
    EXPECT_EQ(o.at("object"), "chat.completion.chunk");
    const auto& choices = o.at("choices").as_array();
    if (choices.empty()) {
      sawUsage = true;
      EXPECT_GT(o.at("usage").at("total_tokens").as_int64(), 0);
      EXPECT_EQ(i + 2, events.size()) << "the usage chunk comes last, before [DONE]";
      continue;
    }
    const auto& delta = choices.at(0).at("delta").as_object();
    if (i == 0) roleFirst = delta.contains("role") && delta.at("role") == "assistant";
    if (auto c = delta.find("content"); c != delta.end() && c->value().is_string()) content += c->value().as_string();
    if (auto tc = delta.find("tool_calls"); tc != delta.end()) {
      const auto& part = tc->value().as_array().at(0).as_object();
      EXPECT_EQ(part.at("index").as_int64(), 0);
      if (part.contains("id")) callId = part.at("id").as_string();
      const auto& fn = part.at("function").as_object();
      if (fn.contains("name")) callName = fn.at("name").as_string();
      arguments += fn.at("arguments").as_string();
    }
    if (!choices.at(0).at("finish_reason").is_null()) finish = choices.at(0).at("finish_reason").as_string();
  }
  EXPECT_TRUE(roleFirst) << first->body;
  EXPECT_EQ(content, "Let me check.");
  EXPECT_EQ(callName, "get_weather");
  EXPECT_EQ(callId.rfind("call_", 0), 0u) << first->body;
  auto args = parseJson(arguments);
  ASSERT_TRUE(args) << arguments;
  EXPECT_EQ(args->at("city"), "Paris");
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_TRUE(sawUsage);

  auto second = post(
      R"({"model":"openclaw/main","user":"stream-conv","stream":true,"messages":[
        {"role":"user","content":"What is the weather in Paris?"},
        {"role":"assistant","content":"Let me check.","tool_calls":[{"id":")" +
      callId + R"(","type":"function","function":{"name":"get_weather","arguments":")" +
      std::string("{\\\"city\\\":\\\"Paris\\\"}") + R"("}}]},
        {"role":"tool","tool_call_id":")" +
      callId + R"(","content":[{"type":"text","text":"18 C, sunny"}]}]})");
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200) << second->body << gateway_->log();
  events = sseEvents(second->body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  content.clear();
  finish.clear();
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    auto e = parseJson(events[i]);
    ASSERT_TRUE(e && e->is_object()) << events[i];
    const auto& choices = e->at("choices").as_array();
    ASSERT_FALSE(choices.empty());
    const auto& delta = choices.at(0).at("delta").as_object();
    EXPECT_FALSE(delta.contains("tool_calls"));
    if (auto c = delta.find("content"); c != delta.end() && c->value().is_string()) content += c->value().as_string();
    if (!choices.at(0).at("finish_reason").is_null()) finish = choices.at(0).at("finish_reason").as_string();
  }
  EXPECT_EQ(content, "It is 18 C and sunny in Paris.");
  EXPECT_EQ(finish, "stop");

  // A streamed follow-up the session refuses is still a plain 400 (nothing was streamed yet).
  auto stale = post(R"({"model":"openclaw/main","user":"stream-conv","stream":true,"messages":[
        {"role":"user","content":"x"},{"role":"tool","tool_call_id":")" +
                    callId + R"(","content":"again"}]})");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 400) << stale->body;
}

TEST_F(OpenAiClientToolsE2E, UnsupportedVariantsAndAnIgnoredRequiredChoiceAreRefused) {
  auto allowed = post(std::string(R"({"model":"openclaw/main","tools":)") + kWeatherTools +
                      R"(,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}},
                          "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 400);
  auto v = parseJson(allowed->body);
  ASSERT_TRUE(v) << allowed->body;
  EXPECT_EQ(v->at("error").at("type"), "invalid_request_error");
  EXPECT_EQ(v->at("error").at("message"), "Invalid tools/tool_choice: tool_choice allowed_tools is not supported");

  auto shadow = post(R"({"model":"openclaw/main","tools":[{"type":"function","function":{"name":"read"}}],
                         "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(shadow);
  EXPECT_EQ(shadow->status, 400) << shadow->body;
  EXPECT_NE(shadow->body.find("invalid tool configuration"), std::string::npos) << shadow->body;

  auto ignored = post(std::string(R"({"model":"openclaw/main","tools":)") + kWeatherTools +
                      R"(,"tool_choice":"required","messages":[{"role":"user","content":"no tools please"}]})");
  ASSERT_TRUE(ignored);
  EXPECT_EQ(ignored->status, 502) << ignored->body;
  auto w = parseJson(ignored->body);
  ASSERT_TRUE(w) << ignored->body;
  EXPECT_EQ(w->at("error").at("type"), "api_error");
  EXPECT_EQ(w->at("error").at("message"), "tool_choice=required was not satisfied by the agent response");
  // The model was told to call a tool, and saw only the client's tools that the choice allows.
  auto requests = modelRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(json::serialize(requests[0].at("messages")).find("You must call one of the available tools"),
            std::string::npos);
}

TEST_F(OpenAiClientToolsE2E, AgentToolsOfTheSameAnswerRunFirstAndStreamToWebSocketClients) {
  auto ws = ProtocolClient::connect(port_, kClientToolsToken);
  ASSERT_TRUE(ws) << gateway_->log();
  const std::string sessionKey = "agent:main:openai-user:ws-watch";
  auto history = ws->request("chat.history", json::object{{"sessionKey", sessionKey}});  // follows the session
  ASSERT_TRUE(history);

  auto first = post(std::string(R"({"model":"openclaw/main","user":"ws-watch","tools":)") + kWeatherTools +
                    R"(,"messages":[{"role":"user","content":"list then weather in Rome"}]})");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body << gateway_->log();
  auto v = parseJson(first->body);
  ASSERT_TRUE(v) << first->body;
  const auto& calls = v->at("choices").at(0).at("message").at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 1u) << first->body;  // only the client's tool; `ls` ran in the gateway
  EXPECT_EQ(calls.at(0).at("function").at("name"), "get_weather");
  const std::string runId = std::string(v->at("id").as_string()).substr(std::string("chatcmpl-").size());

  std::vector<std::string> toolEvents;
  std::string stopReason;
  for (int i = 0; i < 200 && stopReason.empty(); ++i) {
    auto frame = ws->nextFrame(10s);
    ASSERT_TRUE(frame) << "no final chat event; tool events so far: " << toolEvents.size();
    if (getString(*frame, "type") != "event") continue;
    const auto* payload = getObject(*frame, "payload");
    if (!payload || getString(*payload, "runId") != runId) continue;
    if (getString(*frame, "event") == "agent" && getString(*payload, "stream") == "tool") {
      const auto& data = payload->at("data").as_object();
      toolEvents.push_back(std::string(getString(data, "phase").value_or("")) + ":" +
                           std::string(getString(data, "name").value_or("")));
    }
    if (getString(*frame, "event") == "chat" && getString(*payload, "state") == "final") {
      stopReason = getString(*payload, "stopReason").value_or("?");
    }
  }
  EXPECT_EQ(toolEvents, (std::vector<std::string>{"start:ls", "result:ls"}));
  EXPECT_EQ(stopReason, "tool_calls");

  // The follow-up: the model gets the stored answer with both calls and both results.
  const std::string callId(calls.at(0).at("id").as_string());
  auto second = post(R"({"model":"openclaw/main","user":"ws-watch","messages":[
      {"role":"user","content":"list then weather in Rome"},
      {"role":"tool","tool_call_id":")" +
                     callId + R"(","content":"18 C in Rome"}]})");
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(parseJson(second->body)->at("choices").at(0).at("message").at("content"), "It is 18 C and sunny in Paris.");
  auto requests = modelRequests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& sent = requests[1].at("messages").as_array();
  ASSERT_GE(sent.size(), 4u);
  EXPECT_EQ(sent.at(sent.size() - 3).at("tool_calls").as_array().size(), 2u);
  EXPECT_EQ(sent.at(sent.size() - 2).at("role"), "tool");  // ls's result
  EXPECT_EQ(sent.at(sent.size() - 1).at("tool_call_id"), json::value(callId));
}

}  // namespace
}  // namespace talon::test
